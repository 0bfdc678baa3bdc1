"""Users: each belongs to one org unit, sees that unit's subtree, and has one role."""

from __future__ import annotations

import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    OFFICER = "officer", "客户经理"
    RISK = "risk", "风险经理"
    CREDIT_DEPT = "credit_dept", "信贷管理部"
    DIRECTOR = "director", "机构负责人"
    AUDITOR = "auditor", "稽核"
    ADMIN = "admin", "系统管理员"


class User(AbstractUser):
    role = models.CharField("岗位角色", max_length=20, choices=Role.choices)
    org_id = models.CharField("所属机构号", max_length=64)
    # the officer's id in the staff table: the loans they manage (manager_id / B角)
    staff_id = models.CharField("员工号", max_length=64, blank=True)
    failed_logins = models.PositiveIntegerField("连续登录失败次数", default=0)
    locked_until = models.DateTimeField("锁定至", null=True, blank=True)

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def is_locked(self) -> bool:
        return self.locked_until is not None and self.locked_until > timezone.now()

    def can_run_operations(self) -> bool:
        """Imports and closes are the credit department's (and the administrator's) work."""
        return self.role in (Role.CREDIT_DEPT, Role.ADMIN)

    def can_read_audit(self) -> bool:
        return self.role != Role.OFFICER

    def can_manage_users(self) -> bool:
        """用户管理: creating users, their posts, passwords, disabling and unlocking."""
        return self.role == Role.ADMIN


class ApiToken(models.Model):
    """A bearer token for the REST API; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "接口令牌"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def is_valid(self) -> bool:
        return self.expires_at > timezone.now() and self.user.is_active
