from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "loanquality.web"
    verbose_name = "信贷资产质量管理系统"
