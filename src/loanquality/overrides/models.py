"""认定: a proposed risk category for one loan at one close, and its maker–checker decision."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from loanquality.common.access import ScopedQuerySet
from loanquality.engine.schema import CATEGORY_LABELS


class Status(models.TextChoices):
    PENDING = "pending", "待审批"
    APPROVED = "approved", "已通过"
    REJECTED = "rejected", "已退回"
    WITHDRAWN = "withdrawn", "已撤回"


CATEGORY_CHOICES = list(CATEGORY_LABELS.items())


class Override(models.Model):
    loan_id = models.CharField("借据号", max_length=64, db_index=True)
    as_of = models.DateField("报告日")
    # the loan as the close showed it when the proposal was made
    org_id = models.CharField("机构号", max_length=64)
    customer_name = models.CharField("客户名称", max_length=200, blank=True)
    balance = models.DecimalField("贷款余额", max_digits=18, decimal_places=2)
    rule_category = models.PositiveSmallIntegerField("规则分类", choices=CATEGORY_CHOICES)
    rule_reasons = models.CharField("规则依据", max_length=200, blank=True)
    category_before = models.PositiveSmallIntegerField("认定前分类", choices=CATEGORY_CHOICES)

    category = models.PositiveSmallIntegerField("认定分类", choices=CATEGORY_CHOICES)
    reason = models.TextField("认定理由")
    needs_director = models.BooleanField("须机构负责人审批", default=False)
    status = models.CharField(
        "状态", max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    maker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="发起人"
    )
    created_at = models.DateTimeField("发起时间", auto_now_add=True)
    checker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name="审批人",
    )
    decided_at = models.DateTimeField("审批时间", null=True, blank=True)
    comment = models.TextField("审批意见", blank=True)
    batch = models.CharField("批量导入文件", max_length=200, blank=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "人工认定"
        verbose_name_plural = "人工认定"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["loan_id"],
                condition=models.Q(status="pending"),
                name="one_pending_override_per_loan",
            )
        ]

    def __str__(self) -> str:
        return f"认定#{self.pk} {self.loan_id}"


class Evidence(models.Model):
    """A file attached to a proposal, kept under ``<data dir>/evidence/<override id>/``."""

    override = models.ForeignKey(Override, on_delete=models.PROTECT, related_name="evidence")
    name = models.CharField("文件名", max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField("大小")

    class Meta:
        verbose_name = "认定证明材料"

    def path(self):
        """Stored by content; the file name (any length, any script) stays in the database."""
        return settings.DATA_DIR / "evidence" / str(self.override_id) / self.sha256


class ApprovalOutbox(models.Model):
    """An approval not yet in force: written in the approval's transaction, done once a
    close has published the engine's list (``overrides.parquet``) holding it and closed
    every date from its own on. A row left pending (the process died, the disk was full,
    a close failed) is applied by the next close (``overrides/outbox.py``)."""

    override = models.OneToOneField(
        Override, on_delete=models.PROTECT, related_name="outbox", verbose_name="认定"
    )
    as_of = models.DateField("报告日")  # the close to run again from
    created_at = models.DateTimeField("审批时间", auto_now_add=True)
    done_at = models.DateTimeField("生效时间", null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = "待生效的认定"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"认定#{self.override_id} {'已生效' if self.done_at else '待生效'}"
