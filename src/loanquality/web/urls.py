from django.urls import path

from loanquality.accounts import views as accounts
from loanquality.api.api import api
from loanquality.operations import views as operations
from loanquality.portfolio import views as portfolio

urlpatterns = [
    path("login/", accounts.login_page, name="login"),
    path("logout/", accounts.logout_page, name="logout"),
    path("", portfolio.dashboard_page, name="dashboard"),
    path("analysis/", portfolio.analysis_page, name="analysis"),
    path("analysis/export.xlsx", portfolio.analysis_export, name="analysis-export"),
    path("analysis/by/<str:group_by>/", portfolio.grouping_page, name="grouping"),
    path("loans/", portfolio.loan_list_page, name="loans"),
    path("loans/<str:loan_id>/", portfolio.loan_detail_page, name="loan"),
    path("search/", portfolio.search_page, name="search"),
    path("operations/import/", operations.import_page, name="import"),
    path("operations/close/", operations.close_page, name="close"),
    path("operations/close/<int:run_id>/", operations.close_status, name="close-status"),
    path("api/v1/", api.urls),
]
