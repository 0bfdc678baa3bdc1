"""The warnings app's pages, included at the site's root by web/urls.py."""

from django.urls import path

from loanquality.warnings import views

urlpatterns = [
    path("warnings/", views.case_list_page, name="warnings"),
    path("warnings/<int:pk>/", views.case_page, name="warning"),
    path("warnings/<int:pk>/print/", views.case_print_page, name="warning-print"),
    path("warnings/<int:pk>/print.pdf", views.case_print_pdf, name="warning-print-pdf"),
    path("notices/", views.org_notices_page, name="notices"),
    path("notices/print.pdf", views.org_notices_pdf, name="notices-pdf"),
    path("notices/<str:loan_id>/", views.notice_page, name="notice"),
    path("notices/<str:loan_id>/print.pdf", views.notice_pdf, name="notice-pdf"),
]
