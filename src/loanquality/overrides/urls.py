"""The overrides app's pages, included at the site's root by web/urls.py."""

from django.urls import path

from loanquality.overrides import views

urlpatterns = [
    path("overrides/", views.queue_page, name="overrides"),
    path("overrides/batch/", views.batch_page, name="override-batch"),
    path("overrides/<int:pk>/", views.override_page, name="override"),
    path(
        "overrides/<int:pk>/evidence/<int:evidence_id>/",
        views.evidence_file,
        name="override-evidence",
    ),
    path("loans/<str:loan_id>/override/", views.propose_page, name="override-propose"),
]
