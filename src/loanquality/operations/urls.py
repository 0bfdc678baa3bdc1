"""The operations app's pages, included at the site's root by web/urls.py."""

from django.urls import path

from loanquality.operations import views

urlpatterns = [
    path("operations/import/", views.import_page, name="import"),
    path("operations/close/", views.close_page, name="close"),
    path("operations/close/<int:run_id>/", views.close_status, name="close-status"),
]
