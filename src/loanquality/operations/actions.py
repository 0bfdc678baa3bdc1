"""Imports and closes started from the web: the same engine functions the CLI calls."""

from __future__ import annotations

import datetime as dt
import tempfile
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from loanquality.audit.actions import record
from loanquality.engine.close import CLOSE_STEPS, run_close
from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake
from loanquality.engine.problems import InputRejected
from loanquality.operations.models import CloseRun, ImportRun, Status
from loanquality.web.uploads import file_name

IMPORTABLE = (
    "loans",
    "orgs",
    "staff",
    "schedules",
    "repayments",
    "customers",
    "collateral",
    "guarantees",
    "bureau",
    "provisions",
    "capital",
)
# a run still "running" after this long died with its server process
STALE_AFTER = dt.timedelta(hours=2)


def _require_operator(user) -> None:
    if not user.can_run_operations():
        raise PermissionDenied("只有信贷管理部和系统管理员可以导入数据和结账")


def import_uploads(user, as_of: dt.date, uploads: dict) -> ImportRun:
    """Validate and publish uploaded files (table id -> uploaded file) for ``as_of``.

    The files are kept aside in a temporary folder while the engine validates them; on any
    problem nothing is published and the run records every problem in Chinese.
    """
    _require_operator(user)
    unknown = set(uploads) - set(IMPORTABLE)
    if unknown or "loans" not in uploads:
        raise ValidationError("必须上传借据台账（loans），且只能上传已知的数据表")
    with tempfile.TemporaryDirectory(prefix="loanquality-upload-") as folder:
        paths = {}
        for table_id, upload in uploads.items():
            path = Path(folder) / table_id / file_name(upload, f"{table_id}.csv")
            path.parent.mkdir()
            with path.open("wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            paths[table_id] = path
        files = {t: p.name for t, p in paths.items()}
        try:
            result = import_as_of(settings.DATA_DIR, as_of, paths, user=user.username)
        except InputRejected as rejected:
            with transaction.atomic():
                run = ImportRun.objects.create(
                    as_of=as_of,
                    user=user,
                    status=Status.REJECTED,
                    files=files,
                    problems=[p.chinese_text() for p in rejected.problems],
                    problem_total=rejected.total,
                )
                record("import.rejected", user=user, target=str(as_of), problems=rejected.total)
            return run
    with transaction.atomic():
        run = ImportRun.objects.create(
            as_of=as_of, user=user, status=Status.DONE, files=files, rows=result.rows
        )
        record("import", user=user, target=str(as_of), import_id=result.import_id, rows=result.rows)
    return run


def imported_dates() -> list[dt.date]:
    return Lake(settings.DATA_DIR).as_ofs("loans")


def start_close(user, as_of: dt.date) -> CloseRun:
    """Start closing ``as_of`` (in a background thread unless settings say otherwise);
    one close at a time."""
    _require_operator(user)
    if as_of not in imported_dates():
        raise ValidationError(f"报告日 {as_of} 尚未导入借据台账，不能结账")
    with transaction.atomic():
        running = CloseRun.objects.select_for_update().filter(
            status=Status.RUNNING, started_at__gt=timezone.now() - STALE_AFTER
        )
        if running.exists():
            raise ValidationError("已有结账正在进行，请等待其完成")
        run = CloseRun.objects.create(as_of=as_of, user=user, steps_total=CLOSE_STEPS + 1)
        record("close.start", user=user, target=str(as_of), run=run.pk)
    if settings.CLOSE_IN_BACKGROUND:
        threading.Thread(target=_close_in_thread, args=(run.pk,), daemon=True).start()
    else:
        _close(run)
    return run


def start_reclose(user, as_of: dt.date, cause: str) -> CloseRun:
    """Close ``as_of`` again, and every closed date after it (each builds on the one
    before), so that a change such as an approved 认定 shows at once. It waits for a
    close already running to finish. Run on behalf of ``user`` whatever their role."""
    dates = [d for d in Lake(settings.DATA_DIR).as_ofs("classified") if d >= as_of]
    with transaction.atomic():
        run = CloseRun.objects.create(
            as_of=as_of, user=user, steps_total=(CLOSE_STEPS + 1) * len(dates), cause=cause
        )
        record(
            "close.start",
            user=user,
            target=str(as_of),
            run=run.pk,
            cause=cause,
            dates=[str(d) for d in dates],
        )
    if settings.CLOSE_IN_BACKGROUND:
        threading.Thread(target=_close_in_thread, args=(run.pk, dates), daemon=True).start()
    else:
        _close(run, dates)
    return run


def _close_in_thread(run_id: int, dates: list[dt.date] | None = None) -> None:
    close_old_connections()
    try:
        run = CloseRun.objects.get(pk=run_id)
        _wait_for_earlier_closes(run)
        _close(run, dates)
    finally:
        connection.close()


def _wait_for_earlier_closes(run: CloseRun) -> None:
    while CloseRun.objects.filter(
        status=Status.RUNNING, pk__lt=run.pk, started_at__gt=timezone.now() - STALE_AFTER
    ).exists():
        time.sleep(1)


def _close(run: CloseRun, dates: list[dt.date] | None = None) -> None:
    def advance(description: str) -> None:
        run.step = description
        run.steps_done += 1
        run.save(update_fields=["step", "steps_done"])

    started, closed = time.perf_counter(), []
    try:
        for as_of in dates or [run.as_of]:
            closed.append(
                run_close(settings.DATA_DIR, as_of, progress=advance, user=run.user.username)
            )
            advance(f"{as_of} 已完成")
    except Exception as error:  # the run must end visibly whatever went wrong
        run.status, run.error = Status.FAILED, str(error)
    else:
        run.status, run.step = Status.DONE, "完成"
        run.steps_done = run.steps_total
    for result in closed:  # what was published is recorded, even when a later date failed
        record("close", user=run.user, target=str(result.as_of), rows=result.rows, run=run.pk)
    run.finished_at = timezone.now()
    run.seconds = round(time.perf_counter() - started, 1)
    run.save(update_fields=["status", "error", "step", "steps_done", "finished_at", "seconds"])
