from django.urls import include, path

from loanquality.api.api import api
from loanquality.web import views

handler400 = "loanquality.web.errors.bad_request"
handler404 = "loanquality.web.errors.not_found"
handler500 = "loanquality.web.errors.server_error"

# Each app's pages, at the paths the app names (one line an app), and the API.
urlpatterns = [
    path("", include("loanquality.accounts.urls")),
    path("", include("loanquality.portfolio.urls")),
    path("", include("loanquality.operations.urls")),
    path("", include("loanquality.overrides.urls")),
    path("", include("loanquality.audit.urls")),
    path("", include("loanquality.warnings.urls")),
    path("inbox/", views.inbox_page, name="inbox"),
    path("api/v1/", api.urls),
]
