from django.apps import AppConfig

from loanquality.common.audit_labels import AuditLabels


class OperationsConfig(AppConfig):
    name = "loanquality.operations"
    verbose_name = "数据导入与月末结账"
    audit_labels = AuditLabels(
        actions={
            "import": "数据导入",
            "import.rejected": "导入未通过",
            "close.start": "发起结账",
            "close": "结账完成",
            "close.failed": "结账失败",
        },
        fields={
            "import_id": "导入批次",
            "close_id": "结账批次",
            "rows": "行数",
            "problems": "问题数",
            "run": "结账任务编号",
            "cause": "起因",
            "dates": "报告日",
            "seconds": "耗时（秒）",
            "engine": "计算引擎",
        },
    )
