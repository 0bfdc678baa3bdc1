from django.urls import path

from loanquality.accounts import user_views
from loanquality.accounts import views as accounts
from loanquality.api.api import api
from loanquality.audit import views as audit
from loanquality.operations import views as operations
from loanquality.overrides import views as overrides
from loanquality.portfolio import views as portfolio

handler400 = "loanquality.web.errors.bad_request"
handler404 = "loanquality.web.errors.not_found"
handler500 = "loanquality.web.errors.server_error"

urlpatterns = [
    path("login/", accounts.login_page, name="login"),
    path("logout/", accounts.logout_page, name="logout"),
    path("account/tokens/", accounts.tokens_page, name="account-tokens"),
    path("account/password/", user_views.password_page, name="account-password"),
    path("users/", user_views.users_page, name="users"),
    path("users/<int:pk>/", user_views.user_page, name="user"),
    path("", portfolio.dashboard_page, name="dashboard"),
    path("analysis/", portfolio.analysis_page, name="analysis"),
    path("analysis/export.xlsx", portfolio.analysis_export, name="analysis-export"),
    path("analysis/by/<str:group_by>/", portfolio.grouping_page, name="grouping"),
    path("loans/", portfolio.loan_list_page, name="loans"),
    path("loans/export.xlsx", portfolio.loan_list_export, name="loans-export"),
    path("loans/<str:loan_id>/", portfolio.loan_detail_page, name="loan"),
    path("search/", portfolio.search_page, name="search"),
    path("search/export.xlsx", portfolio.search_export, name="search-export"),
    path("operations/import/", operations.import_page, name="import"),
    path("operations/close/", operations.close_page, name="close"),
    path("operations/close/<int:run_id>/", operations.close_status, name="close-status"),
    path("overrides/", overrides.queue_page, name="overrides"),
    path("overrides/batch/", overrides.batch_page, name="override-batch"),
    path("overrides/<int:pk>/", overrides.override_page, name="override"),
    path(
        "overrides/<int:pk>/evidence/<int:evidence_id>/",
        overrides.evidence_file,
        name="override-evidence",
    ),
    path("loans/<str:loan_id>/override/", overrides.propose_page, name="override-propose"),
    path("audit/", audit.audit_page, name="audit"),
    path("audit/export.xlsx", audit.audit_export, name="audit-export"),
    path("api/v1/", api.urls),
]
