"""数据导入 and 月末结账 pages."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render

from loanquality.engine.schema import IMPORT_TABLES, TABLES
from loanquality.operations import actions, history
from loanquality.operations.models import CloseRun
from loanquality.portfolio import selectors


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        return None


def import_page(request):
    actions.require_operator(request.user)
    run, error = None, None
    if request.method == "POST":
        as_of = _date(request.POST.get("as_of"))
        uploads = {t: request.FILES[t] for t in IMPORT_TABLES if t in request.FILES}
        if as_of is None:
            error = "请填写报告日（YYYY-MM-DD）"
        else:
            try:
                run = actions.import_uploads(
                    request.user,
                    as_of,
                    uploads,
                    replace_smaller=request.POST.get("replace_smaller") == "on",
                )
            except ValidationError as invalid:
                error = "；".join(invalid.messages)
    return render(
        request,
        "operations/import.html",
        {
            "run": run,
            "error": error,
            "typed": request.POST,
            "tables": [(t, TABLES[t].label) for t in IMPORT_TABLES],
            "runs": history.import_history(),
        },
        status=400 if error or (run and run.problems) else 200,
    )


def close_page(request):
    actions.require_operator(request.user)
    if request.method == "POST":
        as_of = _date(request.POST.get("as_of"))
        try:
            if as_of is None:
                raise ValidationError("请选择报告日")
            run = actions.start_close(request.user, as_of)
        except ValidationError as invalid:
            messages.error(request, "；".join(invalid.messages))
        else:
            messages.success(request, f"已开始结账 {run.as_of}")
        return redirect("close")
    actions.fail_dead_runs()
    closed = set(selectors.closed_dates())
    return render(
        request,
        "operations/close.html",
        {
            "dates": [(d, d in closed) for d in actions.imported_dates()[::-1]],
            "runs": history.close_history(),
        },
    )


def close_status(request, run_id: int):
    """The progress row of one close, which htmx polls while it runs."""
    actions.require_operator(request.user)
    run = get_object_or_404(CloseRun, pk=run_id)
    return render(request, "operations/_close_row.html", {"run": run})
