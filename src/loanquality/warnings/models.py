"""预警事项: one case per (signal code, subject) while it is open, what was done about it,
and the notices printed for customers (SPEC §6)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from loanquality.common.access import ScopedQuerySet
from loanquality.engine.signals import SEVERITY_LABELS


class State(models.TextChoices):
    NEW = "new", "新建"
    ASSIGNED = "assigned", "已分派"
    IN_PROGRESS = "in_progress", "处理中"
    RESOLVED = "resolved", "已化解"
    TRANSFERRED = "transferred", "已转处置"
    CLOSED = "closed", "关闭"


# a case still waiting for someone to act: it can fall overdue and escalate
ACTIVE_STATES = (State.NEW, State.ASSIGNED, State.IN_PROGRESS)
SEVERITY_CHOICES = sorted(SEVERITY_LABELS.items())  # [(1, "低"), (2, "中"), (3, "高")]
# the signals' ids and names come from imports allowing long fields: wide enough that the
# sync never truncates one (an over-long value fails the sync loudly instead)
ID_LENGTH = 200
NAME_LENGTH = 400


class Case(models.Model):
    code = models.CharField("预警信号", max_length=20)
    # what the signal is about: the loan, else the customer, else the officer (BOOK_SURGE)
    subject = models.CharField("预警对象", max_length=ID_LENGTH)
    loan_id = models.CharField("借据号", max_length=ID_LENGTH, blank=True, db_index=True)
    customer_id = models.CharField("客户号", max_length=ID_LENGTH, blank=True)
    customer_name = models.CharField("客户名称", max_length=NAME_LENGTH, blank=True)
    org_id = models.CharField("机构号", max_length=ID_LENGTH)
    manager_id = models.CharField("管户客户经理", max_length=ID_LENGTH, blank=True)
    severity = models.PositiveSmallIntegerField("严重程度", choices=SEVERITY_CHOICES)
    # the latest firing's figures
    value = models.FloatField("监测值", null=True)
    threshold = models.FloatField("阈值", null=True)
    evidence = models.TextField("预警依据")
    first_as_of = models.DateField("首次预警报告日")
    last_as_of = models.DateField("最近预警报告日")
    times_fired = models.PositiveIntegerField("预警次数", default=1)

    state = models.CharField(
        "状态", max_length=12, choices=State.choices, default=State.NEW, db_index=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="warning_cases",
        verbose_name="处理人",
    )
    opened_on = models.DateField("立案日期")
    due_on = models.DateField("处理期限")
    escalated_at = models.DateTimeField("升级时间", null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="化解/转处置人",
    )
    resolved_at = models.DateTimeField("化解/转处置时间", null=True, blank=True)
    # 已转处置: the 认定 proposal it went to, or (once collection exists) a disposal plan
    override = models.ForeignKey(
        "overrides.Override",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="转认定",
    )
    disposal_ref = models.CharField("处置方案", max_length=64, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="关闭人",
    )
    closed_at = models.DateTimeField("关闭时间", null=True, blank=True)
    close_comment = models.TextField("关闭意见", blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "预警事项"
        verbose_name_plural = "预警事项"
        ordering = ["-severity", "due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "subject"],
                condition=~models.Q(state="closed"),
                name="one_open_case_per_signal_subject",
            )
        ]
        indexes = [
            models.Index(fields=["assignee", "state"], name="case_assignee_state"),
            models.Index(fields=["org_id", "state", "severity"], name="case_org_state"),
            models.Index(fields=["state", "due_on"], name="case_state_due"),
            # what escalate_overdue looks for at every read: few rows, whatever the table
            models.Index(
                fields=["due_on"],
                condition=models.Q(escalated_at__isnull=True, state__in=ACTIVE_STATES),
                name="case_to_escalate",
            ),
            # the directors' 逾期升级 inbox
            models.Index(
                fields=["org_id"],
                condition=models.Q(escalated_at__isnull=False, state__in=ACTIVE_STATES),
                name="case_escalated_org",
            ),
            # the list's order: within one org, and across the bank (a wide subtree reads
            # the first page off the index instead of sorting every case)
            models.Index(fields=["org_id", "severity", "due_on"], name="case_org_order"),
            models.Index(fields=["-severity", "due_on", "id"], name="case_list_order"),
        ]

    def __str__(self) -> str:
        return f"预警#{self.pk} {self.code} {self.subject}"


class SyncedClose(models.Model):
    """A close whose signals are in the cases (``warnings.sync.sync_close``): the newest
    close is synced once, and a read finding it missing (the hook failed) syncs it then."""

    as_of = models.DateField("报告日")
    close_id = models.CharField("结账编号", max_length=64, unique=True)
    synced_at = models.DateTimeField("入案时间", auto_now_add=True)
    signals = models.PositiveIntegerField("信号数", default=0)
    opened = models.PositiveIntegerField("新立案", default=0)
    updated = models.PositiveIntegerField("更新", default=0)
    escalated = models.PositiveIntegerField("升级", default=0)

    class Meta:
        verbose_name = "已入案的结账"
        ordering = ["-synced_at", "-id"]


class Measure(models.Model):
    """A measure (措施) taken on a case and its result (结果)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="measures")
    measure = models.TextField("措施")
    result = models.TextField("结果", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="记录人"
    )
    recorded_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "处置措施"
        ordering = ["recorded_at", "id"]


class NoticeKind(models.TextChoices):
    MAT3M = "MAT3M", "信贷业务监测通知书"
    MAT1M = "MAT1M", "贷款到期提示函"


class NoticeSent(models.Model):
    """A 监测通知书 / 提示函 printed for a customer: when and by whom it was sent
    (the accountability work reads it, SPEC §9 第八条)."""

    kind = models.CharField("通知类型", max_length=8, choices=NoticeKind.choices)
    loan_id = models.CharField("借据号", max_length=ID_LENGTH, db_index=True)
    customer_id = models.CharField("客户号", max_length=ID_LENGTH, blank=True)
    org_id = models.CharField("机构号", max_length=ID_LENGTH)
    as_of = models.DateField("报告日")
    maturity_date = models.DateField("到期日")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="发送人"
    )
    sent_at = models.DateTimeField("发送时间", auto_now_add=True)

    objects = ScopedQuerySet.as_manager()

    class Meta:
        verbose_name = "客户通知书发送记录"
        ordering = ["-sent_at", "-id"]
        indexes = [models.Index(fields=["org_id", "as_of"], name="notice_org_as_of")]
