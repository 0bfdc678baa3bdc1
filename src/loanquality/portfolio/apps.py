from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    name = "loanquality.portfolio"
    verbose_name = "资产质量"
