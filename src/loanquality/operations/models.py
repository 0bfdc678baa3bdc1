"""Imports and closes started from the web, with their state for the progress display."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Status(models.TextChoices):
    RUNNING = "running", "进行中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"
    REJECTED = "rejected", "校验未通过"


class ImportRun(models.Model):
    as_of = models.DateField("报告日")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField("开始时间", auto_now_add=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices)
    files = models.JSONField("文件", default=dict)  # table id -> file name
    rows = models.JSONField("行数", default=dict)
    problems = models.JSONField("问题", default=list)  # Chinese texts, as the engine lists them
    problem_total = models.PositiveIntegerField("问题总数", default=0)
    warnings = models.JSONField("提示", default=list)  # Chinese texts

    class Meta:
        verbose_name = "数据导入"
        ordering = ["-started_at", "-id"]


class CloseRun(models.Model):
    as_of = models.DateField("报告日")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField("开始时间", auto_now_add=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.RUNNING)
    step = models.CharField("当前步骤", max_length=100, default="排队")
    steps_done = models.PositiveSmallIntegerField(default=0)
    steps_total = models.PositiveSmallIntegerField(default=1)
    error = models.TextField("错误", blank=True)
    cause = models.CharField("原因", max_length=200, blank=True)  # e.g. a 认定 taking effect
    seconds = models.FloatField("耗时(秒)", null=True, blank=True)
    # the server process running it, alive while it holds its lock (operations.actions)
    worker = models.CharField("进程", max_length=64, blank=True)

    class Meta:
        verbose_name = "月末结账"
        ordering = ["-started_at", "-id"]

    @property
    def percent(self) -> int:
        return round(100 * self.steps_done / max(self.steps_total, 1))
