from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "loanquality.accounts"
    verbose_name = "用户与权限"
