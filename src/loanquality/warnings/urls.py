"""The warnings app's pages, included at the site's root by web/urls.py."""

from django.urls import path

from loanquality.warnings.views import cases, notices

urlpatterns = [
    path("warnings/", cases.case_list_page, name="warnings"),
    path("warnings/<int:pk>/", cases.case_page, name="warning"),
    path("warnings/<int:pk>/print/", cases.case_print_page, name="warning-print"),
    path("warnings/<int:pk>/print.pdf", cases.case_print_pdf, name="warning-print-pdf"),
    path("notices/", notices.org_notices_page, name="notices"),
    path("notices/print.pdf", notices.org_notices_pdf, name="notices-pdf"),
    path("notices/<str:loan_id>/", notices.notice_page, name="notice"),
    path("notices/<str:loan_id>/print.pdf", notices.notice_pdf, name="notice-pdf"),
]
