from django.apps import AppConfig

from loanquality.common.audit_labels import AuditLabels


class OverridesConfig(AppConfig):
    name = "loanquality.overrides"
    verbose_name = "人工认定"
    audit_labels = AuditLabels(
        actions={
            "override.propose": "发起认定",
            "override.approve": "认定通过",
            "override.reject": "认定退回",
            "override.withdraw": "认定撤回",
            "override.apply": "认定生效（已重新结账）",
        },
        fields={
            "category": "风险分类",
            "status": "状态",
            "override": "认定编号",
            "reason": "理由",
            "comment": "审批意见",
            "evidence": "证明材料",
        },
        # models.Status, which apps.py may not import (the models are not ready yet)
        values={
            "status": {
                "pending": "待审批",
                "approved": "已通过",
                "rejected": "已退回",
                "withdrawn": "已撤回",
            }
        },
    )

    def inbox(self, user) -> list:
        """待审批认定: the pending proposals of the user's subtree they may decide."""
        from loanquality.common.inbox import Task
        from loanquality.overrides.selectors import decidable_by

        count = decidable_by(user).count()
        return [Task("overrides.decide", "待审批认定", count, "/overrides/?tab=waiting")]
