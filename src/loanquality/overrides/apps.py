from django.apps import AppConfig


class OverridesConfig(AppConfig):
    name = "loanquality.overrides"
    verbose_name = "人工认定"
