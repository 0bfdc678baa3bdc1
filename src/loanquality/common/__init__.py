"""Shared pieces below every app: the data dir at runtime, reading uploads, dates in
requests, Excel / CSV / PDF export, code labels and the audit-label registry. Nothing
here imports an app or the Django project in web/."""
