"""The audit viewer: filters, pages of 100, and the same rows as an Excel file."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render

from loanquality.audit.models import AuditEntry
from loanquality.audit.readable import (
    action_name,
    action_names,
    changes,
    local_time,
    org_name,
    other_details,
)
from loanquality.audit.selectors import filtered, visible_entries
from loanquality.common.dates import day_of
from loanquality.common.downloads import xlsx_attachment
from loanquality.common.exports import ExcelBook

EXPORT_LIMIT = 100_000


def _filters(request) -> dict:
    def day(name):
        text = request.GET.get(name, "")
        if not text:
            return None
        try:
            return day_of(text)
        except ValueError as bad:
            raise ValidationError(str(bad)) from None

    return {
        "object": request.GET.get("object", "").strip(),
        "username": request.GET.get("user", "").strip(),
        "action": request.GET.get("action", "").strip(),
        "start": day("from"),
        "end": day("to"),
    }


def audit_page(request):
    error = None
    try:
        entries = filtered(request.user, **_filters(request))
    except ValidationError as invalid:
        error, entries = "；".join(invalid.messages), visible_entries(request.user).none()
    page = Paginator(entries, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/audit.html",
        {
            "page": page,
            "rows": [readable_row(e) for e in page],
            "error": error,
            "query": query.urlencode(),
            "actions": action_names().items(),
            "usernames": _usernames(request.user),
        },
        status=400 if error else 200,
    )


def readable_row(entry: AuditEntry) -> dict:
    return {
        "entry": entry,
        "at": local_time(entry.at),
        "action": action_name(entry.action),
        "org": org_name(entry.org_id) if entry.org_id else "",
        "changes": changes(entry.detail),
        "details": other_details(entry.detail),
    }


def _usernames(user) -> list[str]:
    """Who appears in the rows the user may read: the choices of the 用户 filter."""
    names = visible_entries(user).order_by("username").values_list("username", flat=True)
    return list(names.distinct()[:500])


def audit_export(request):
    try:
        entries = filtered(request.user, **_filters(request))[:EXPORT_LIMIT]
    except ValidationError as invalid:
        return HttpResponse("；".join(invalid.messages), status=400)
    return xlsx_attachment(workbook(entries), "audit-log.xlsx")


HEADERS = (
    "序号",
    "时间",
    "用户",
    "操作",
    "对象",
    "机构",
    "变更",
    "详情",
    "操作代码",
    "机构号",
    "原始详情",
    "哈希",
)


def workbook(entries) -> bytes:
    # text stays text: a username typed at the login page must not become a formula
    with ExcelBook() as excel:
        excel.write_sheet(
            "审计日志", HEADERS, map(_export_row, entries), widths={1: 20, (6, 7): 50}
        )
    return excel.data


def _export_row(e: AuditEntry) -> tuple:
    readable = readable_row(e)
    changed = "；".join(f"{c.field}：{c.before} → {c.after}" for c in readable["changes"])
    details = "；".join(f"{name}：{value}" for name, value in readable["details"])
    raw = json.dumps(e.detail, ensure_ascii=False, sort_keys=True)
    return (
        *(e.seq, readable["at"], e.username, readable["action"], e.target),
        *(readable["org"], changed, details, e.action, e.org_id, raw, e.hash),
    )
