from django.apps import AppConfig

from loanquality.common.audit_labels import AuditLabels


class WarningsConfig(AppConfig):
    name = "loanquality.warnings"
    label = "warnings"
    verbose_name = "贷后预警"
    audit_labels = AuditLabels(
        actions={
            "warning.sync": "预警信号入案",
            "warning.escalate": "预警逾期升级",
            "warning.assign": "分派预警",
            "warning.start": "开始处理预警",
            "warning.measure": "记录处置措施",
            "warning.resolve": "预警已化解",
            "warning.transfer": "预警转处置",
            "warning.close": "关闭预警",
            "warning.notice": "打印客户通知书",
        },
        fields={
            "code": "预警信号",
            "state": "状态",
            "assignee": "处理人",
            "measure": "措施",
            "result": "结果",
            "override": "认定编号",
            "opened": "新立案",
            "updated": "更新",
            "escalated": "升级",
            "lapsed": "监测期已过自动关闭",
            "loans": "贷款笔数",
            "kind": "通知类型",
            "signals": "信号数",
            "case": "预警编号",
            "subject": "预警对象",
            "disposal_ref": "处置方案",
            "comment": "关闭意见",
            "loan_ids": "借据号",
        },
        # models.State, which apps.py may not import (the models are not ready yet)
        values={
            "state": {
                "new": "新建",
                "assigned": "已分派",
                "in_progress": "处理中",
                "resolved": "已化解",
                "transferred": "已转处置",
                "closed": "关闭",
            }
        },
    )

    def after_close(self, as_of, actor, *, closed_on=None) -> None:
        """A close's signals into cases (only the newest close opens any), opened on
        ``closed_on`` (default today)."""
        from loanquality.warnings.sync import sync_close

        sync_close(as_of, actor=actor, today=closed_on)

    def inbox(self, user) -> list:
        from loanquality.warnings.selectors import inbox_tasks

        return inbox_tasks(user)
