from django.apps import AppConfig

from loanquality.common.audit_labels import AuditLabels


class AuditConfig(AppConfig):
    name = "loanquality.audit"
    verbose_name = "审计日志"
    audit_labels = AuditLabels(
        fields={"as_of": "报告日", "by": "操作人", "via": "发起方式"},
        values={"via": {"cli": "命令行", "demo": "演示数据", "web": "网页"}},
    )

    def check_startup(self) -> None:
        from loanquality.audit.actions import check_configuration

        check_configuration()
