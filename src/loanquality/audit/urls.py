"""The audit app's pages, included at the site's root by web/urls.py."""

from django.urls import path

from loanquality.audit import views

urlpatterns = [
    path("audit/", views.audit_page, name="audit"),
    path("audit/export.xlsx", views.audit_export, name="audit-export"),
]
