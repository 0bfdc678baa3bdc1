from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "loanquality.operations"
    verbose_name = "数据导入与月末结账"
