"""The portfolio app's pages, included at the site's root by web/urls.py."""

from django.urls import path

from loanquality.portfolio import views

urlpatterns = [
    path("", views.dashboard_page, name="dashboard"),
    path("analysis/", views.analysis_page, name="analysis"),
    path("analysis/export.xlsx", views.analysis_export, name="analysis-export"),
    path("analysis/by/<str:group_by>/", views.grouping_page, name="grouping"),
    path("loans/", views.loan_list_page, name="loans"),
    path("loans/export.xlsx", views.loan_list_export, name="loans-export"),
    path("loans/<str:loan_id>/", views.loan_detail_page, name="loan"),
    path("search/", views.search_page, name="search"),
    path("search/export.xlsx", views.search_export, name="search-export"),
]
