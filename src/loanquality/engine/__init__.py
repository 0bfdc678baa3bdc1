"""The engine: lake, import, overdue days, classification, metrics. Never imports Django."""
