"""The accounts app's pages, included at the site's root by web/urls.py."""

from django.urls import path

from loanquality.accounts import user_views, views

urlpatterns = [
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout_page, name="logout"),
    path("account/tokens/", views.tokens_page, name="account-tokens"),
    path("account/password/", user_views.password_page, name="account-password"),
    path("users/", user_views.users_page, name="users"),
    path("users/<int:pk>/", user_views.user_page, name="user"),
]
