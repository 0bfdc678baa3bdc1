from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "loanquality.audit"
    verbose_name = "审计日志"
