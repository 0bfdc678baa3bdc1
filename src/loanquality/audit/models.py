"""The audit log: one row per thing someone did; rows are never changed or deleted.

Each row carries the MAC of the row before it (``prev_hash``) and its own ``hash``: a keyed
MAC over its content and that link (``chain.py``), and each new head is written to a
checkpoint outside the database, so editing, forging or deleting a row, even with the
triggers dropped, shows where it happened (``loanquality audit verify`` finds it).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from loanquality.common.access import ScopedQuerySet


class AppendOnlyError(Exception):
    pass


class AuditQuerySet(ScopedQuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("the audit log is append-only")

    def delete(self):
        raise AppendOnlyError("the audit log is append-only")


class AuditEntry(models.Model):
    seq = models.PositiveBigIntegerField("序号", unique=True)  # 1, 2, 3 … without gaps
    at = models.DateTimeField("时间", db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    username = models.CharField("用户", max_length=150)  # kept even for failed logins
    action = models.CharField("操作", max_length=40, db_index=True)
    target = models.CharField("对象", max_length=200, blank=True, db_index=True)
    org_id = models.CharField("机构号", max_length=64, blank=True)  # whose subtree may see it
    detail = models.JSONField("详情", default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditQuerySet.as_manager()

    class Meta:
        verbose_name = "审计日志"
        ordering = ["-seq"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("the audit log is append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("the audit log is append-only")
