"""Imports and closes: the engine's call and its audit row, the same whether the web, the API,
the command line or the demo starts them (the engine never imports Django, so the row is
written here once the engine has returned)."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from loanquality.audit.actions import record
from loanquality.audit.runs import Operator
from loanquality.common.errors import Misconfigured
from loanquality.common.runtime import after_close
from loanquality.common.scope import org_tree
from loanquality.common.uploads import file_name, save_upload
from loanquality.engine.backends import Engine
from loanquality.engine.close import CLOSE_STEPS, CloseResult, run_close
from loanquality.engine.convert import MappingProfile
from loanquality.engine.ingest import ImportResult, import_as_of
from loanquality.engine.lake import Lake
from loanquality.engine.locks import hold_for_life, is_held
from loanquality.engine.problems import InputRejected, raise_together
from loanquality.engine.rules import RuleSet
from loanquality.engine.schema import IMPORT_TABLES
from loanquality.operations.models import CloseRun, ImportRun, Status
from loanquality.overrides import outbox

WORKERS = ".workers"  # in the data dir: one lock file per server process running closes
DEAD_RUN = "结账进程已终止（服务器重启或进程被结束），未发布任何结果，请重新结账"


def operations_refusal(user) -> str | None:
    """Why ``user`` may not import or close (None when they may). The ledger and its close
    are the whole bank's, so only the credit department or an administrator of the legal
    entity (the root of the org tree) runs them; before the first import there is no tree."""
    if not user.can_run_operations():
        return "只有信贷管理部和系统管理员可以导入数据和结账"
    tree = org_tree()
    if tree.parents and not tree.is_root(user.org_id):
        return (
            f"导入数据和结账针对全行，只能由法人机构（{tree.name(tree.root)}）的用户进行；"
            f"您所在机构为{tree.name(user.org_id)}"
        )
    return None


def require_operator(user) -> None:
    refusal = operations_refusal(user)
    if refusal:
        raise PermissionDenied(refusal)


def import_uploads(
    user, as_of: dt.date, uploads: dict, *, replace_smaller: bool = False
) -> ImportRun:
    """Validate and publish uploaded files (table id -> uploaded file) for ``as_of``.

    The files are kept aside in a temporary folder while the engine validates them; on any
    problem nothing is published and the run records every problem in Chinese. So it is
    when a close or another import is running, and when the ledger would replace the
    date's by far fewer loans without ``replace_smaller``.
    """
    require_operator(user)
    unknown = set(uploads) - set(IMPORT_TABLES)
    if unknown or "loans" not in uploads:
        raise ValidationError("必须上传借据台账（loans），且只能上传已知的数据表")
    with tempfile.TemporaryDirectory(prefix="loanquality-upload-") as folder:
        paths = {}
        for table_id, upload in uploads.items():
            path = Path(folder) / table_id / file_name(upload, f"{table_id}.csv")
            path.parent.mkdir()
            paths[table_id] = path
        files = {t: p.name for t, p in paths.items()}
        done: list[ImportRun] = []

        def page_run(result: ImportResult) -> None:  # in the audit row's transaction
            done.append(
                ImportRun.objects.create(
                    as_of=as_of,
                    user=user,
                    status=Status.DONE,
                    files=files,
                    rows=result.rows,
                    warnings=[w.rsplit(" / ", 1)[-1] for w in result.warnings],  # Chinese half
                )
            )

        try:
            raise_together(*(partial(save_upload, uploads[t], p) for t, p in paths.items()))
            import_files(
                user, as_of, paths, replace_smaller=replace_smaller, with_audit_row=page_run
            )
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
    return done[0]


def import_files(
    actor,
    as_of: dt.date,
    paths: dict[str, Path],
    *,
    data_dir: Path | None = None,
    mapping: MappingProfile | None = None,
    progress: Callable[[str], None] | None = None,
    replace_smaller: bool = False,
    open_audit_log: Callable[[], None] | None = None,
    with_audit_row: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Publish ``paths`` (table id -> file; ``loans`` required) for ``as_of`` through the
    engine, then write its ``import`` audit row; ``InputRejected`` (nothing written, no
    row: the web records the rejection itself) when the engine refuses them.

    ``actor``: the web's User (its permission checked by the caller) or an ``Operator``.
    ``data_dir``: the settings' unless given. ``open_audit_log`` runs between the two: the
    command line opens the database of a data dir the import has just made there (opened
    before, it would make the data dir even for files the engine refuses).
    ``with_audit_row`` writes what else records the run in the audit row's transaction
    (the web's ImportRun), so that both or neither are kept.
    """
    result = import_as_of(
        data_dir or settings.DATA_DIR,
        as_of,
        paths,
        mapping,
        progress,
        user=actor.username,
        replace_smaller=replace_smaller,
    )
    if open_audit_log is not None:
        open_audit_log()
    _record_run(
        actor,
        "import",
        as_of,
        also=partial(with_audit_row, result) if with_audit_row else None,
        import_id=result.import_id,
        rows=result.rows,
    )
    return result


def close_now(
    actor,
    as_of: dt.date,
    *,
    data_dir: Path | None = None,
    engine: Engine = "duckdb",
    ruleset: RuleSet | None = None,
    progress: Callable[[str], None] | None = None,
    wait: bool = False,
    open_audit_log: Callable[[], None] | None = None,
    closed_on: dt.date | None = None,
    follow_up: bool = True,
    **detail,
) -> CloseResult:
    """Close ``as_of`` through the engine in this thread, then write its ``close`` audit
    row (with ``detail``, e.g. the web's run), then the apps' ``after_close`` hooks
    (``common.runtime.after_close``; ``closed_on``: the day the hooks take the close to have
    run, default today — the demo replays its months as if each were closed just after
    its month end; ``follow_up=False`` runs none, as for the months the demo's bank closed
    before it used the system's warnings). ``InputRejected`` when the engine refuses
    (not imported, another import or close holding the data dir unless ``wait``): nothing
    published, no row. ``actor``, ``data_dir`` and ``open_audit_log`` as for
    ``import_files``."""
    result = run_close(
        data_dir or settings.DATA_DIR,
        as_of,
        engine=engine,
        ruleset=ruleset,
        progress=progress,
        user=actor.username,
        wait=wait,
    )
    if open_audit_log is not None:
        open_audit_log()
    _record_run(
        actor,
        "close",
        as_of,
        close_id=result.close_id,
        rows=result.rows,
        engine=result.engine,
        seconds=result.seconds,
        **detail,
    )
    # the apps' follow-ups (warnings opens its cases), the data dir free again: one that
    # fails is logged, never undoes the published close, and catches up at its next read
    same_data_dir = (
        Path(data_dir or settings.DATA_DIR).resolve() == Path(settings.DATA_DIR).resolve()
    )
    if follow_up and same_data_dir:
        after_close(as_of, actor, closed_on=closed_on)  # (the apps read the settings' data dir)
    return result


@transaction.atomic
def _record_run(
    actor, action: str, as_of: dt.date, *, also: Callable[[], None] | None = None, **detail
) -> None:
    """The audit row of a published import or close, and ``also`` in its transaction. An
    ``Operator``'s row is the legal entity's (the root of the org tree: the run is the whole
    bank's), with how it ran; a web user's belongs to their org, as every row they write."""
    if also is not None:
        also()
    if isinstance(actor, Operator):
        bank = org_tree().root or ""
        record(
            action,
            username=actor.username,
            target=str(as_of),
            org_id=bank,
            via=actor.via,
            **detail,
        )
    else:
        record(action, user=actor, target=str(as_of), **detail)


def imported_dates() -> list[dt.date]:
    return Lake(settings.DATA_DIR).as_ofs("loans")


def start_close(user, as_of: dt.date) -> CloseRun:
    """Start closing ``as_of`` (in a background thread unless settings say otherwise);
    one close at a time."""
    require_operator(user)
    if as_of not in imported_dates():
        raise ValidationError(f"报告日 {as_of} 尚未导入借据台账，不能结账")
    fail_dead_runs()
    with transaction.atomic():
        running = CloseRun.objects.select_for_update().filter(status=Status.RUNNING)
        if running.exists():
            raise ValidationError("已有结账正在进行，请等待其完成")
        run = CloseRun.objects.create(
            as_of=as_of, user=user, steps_total=CLOSE_STEPS + 1, worker=_this_worker()
        )
        record("close.start", user=user, target=str(as_of), run=run.pk)
    if settings.CLOSE_IN_BACKGROUND:
        threading.Thread(target=_close_in_thread, args=(run.pk,), daemon=True).start()
    else:
        _close(run)
    return run


def start_reclose(user, as_of: dt.date, cause: str, *, background: bool | None = None) -> CloseRun:
    """Close ``as_of`` again, and every closed date after it (each builds on the one
    before), so that a change such as an approved 认定 shows at once. It waits for a
    close already running to finish. Run on behalf of ``user`` whatever their role; in
    a thread of its own as the settings say, unless ``background`` says otherwise."""
    dates = [d for d in Lake(settings.DATA_DIR).as_ofs("classified") if d >= as_of]
    with transaction.atomic():
        run = CloseRun.objects.create(
            as_of=as_of,
            user=user,
            steps_total=(CLOSE_STEPS + 1) * len(dates),
            cause=cause,
            worker=_this_worker(),
        )
        record(
            "close.start",
            user=user,
            target=str(as_of),
            run=run.pk,
            cause=cause,
            dates=[str(d) for d in dates],
        )
    if settings.CLOSE_IN_BACKGROUND if background is None else background:
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
    while True:
        fail_dead_runs()
        if not CloseRun.objects.filter(status=Status.RUNNING, pk__lt=run.pk).exists():
            return
        time.sleep(1)


def fail_dead_runs() -> list[CloseRun]:
    """Mark failed, at once, every close still "running" whose server process is gone (its
    worker lock is free: the operating system released it when the process died)."""
    dead = [
        run
        for run in CloseRun.objects.filter(status=Status.RUNNING).select_related("user")
        if not run.worker or not is_held(_worker_lock(run.worker))
    ]
    failed = []
    for run in dead:
        with transaction.atomic():
            # conditional: two server processes looking at once fail (and record) it once
            if CloseRun.objects.filter(pk=run.pk, status=Status.RUNNING).update(
                status=Status.FAILED, finished_at=timezone.now(), error=DEAD_RUN
            ):
                record("close.failed", user=run.user, target=str(run.as_of), run=run.pk)
                failed.append(run)
        if run.worker:
            _worker_lock(run.worker).unlink(missing_ok=True)
    return failed


# (pid, data dir) -> this process's worker name: a forked process gets its own
_workers: dict[tuple[int, str], str] = {}


def _this_worker() -> str:
    """The name of this server process, whose lock it holds for as long as it lives."""
    key = (os.getpid(), str(settings.DATA_DIR))
    if key not in _workers:
        name = f"{key[0]}-{uuid.uuid4().hex[:12]}"
        hold_for_life(_worker_lock(name))
        _workers[key] = name
    return _workers[key]


def _worker_lock(name: str) -> Path:
    return Path(settings.DATA_DIR) / WORKERS / f"{name}.lock"


def _close(run: CloseRun, dates: list[dt.date] | None = None) -> None:
    def advance(description: str) -> None:
        run.step = description
        run.steps_done += 1
        run.save(update_fields=["step", "steps_done"])

    started = time.perf_counter()
    try:
        planned = dates or [run.as_of]
        todo, approvals = approvals_to_apply(planned)
        if len(todo) != len(planned):
            run.steps_total = (CLOSE_STEPS + 1) * len(todo)
            run.save(update_fields=["steps_total"])
        for as_of in todo:
            # each date's row as it is published: recorded even when a later date fails
            close_now(run.user, as_of, progress=advance, wait=True, run=run.pk)
            advance(f"{as_of} 已完成")
        applied(run.user, approvals, run=run.pk)
    except Exception as error:  # the run must end visibly whatever went wrong
        run.status = Status.FAILED
        run.error = error.chinese if isinstance(error, Misconfigured) else str(error)
    else:
        run.status, run.step = Status.DONE, "完成"
        run.steps_done = run.steps_total
    run.finished_at = timezone.now()
    run.seconds = round(time.perf_counter() - started, 1)
    run.save(update_fields=["status", "error", "step", "steps_done", "finished_at", "seconds"])


def approvals_to_apply(
    dates: list[dt.date], data_dir: Path | None = None
) -> tuple[list[dt.date], list]:
    """What a close must do for the approvals not yet in force (its process died, the disk
    was full, a close failed): the approved list published now, and the dates to close —
    ``dates`` and every closed date from the earliest pending approval's on (a 认定
    applies from its date). Returns those dates and the outbox rows to mark applied once
    they are closed (``applied``). Every close — the web's, the command line's — starts
    here."""
    rows = outbox.pending()
    if not rows:
        return dates, []
    try:
        outbox.publish_approved()
    except Exception as error:  # said before anything is closed
        raise Misconfigured(
            f"approved overrides could not be published, nothing closed: {error}",
            f"已通过的认定未能发布，未结账：{error}",
        ) from error
    earliest = min(row.as_of for row in rows)
    closed = Lake(data_dir or settings.DATA_DIR).as_ofs("classified")
    return sorted({*dates, *(d for d in closed if d >= earliest)}), rows


def applied(actor, rows: list, **context) -> list[int]:
    """The approvals of ``rows`` in force now that their dates are closed: marked, audited."""
    if isinstance(actor, Operator):
        return outbox.mark_applied(rows, username=actor.username, via=actor.via, **context)
    return outbox.mark_applied(rows, actor, **context)


def close_with_pending_approvals(actor, as_of: dt.date, **kwargs) -> list[CloseResult]:
    """Close ``as_of`` from the command line, with the dates an approval not yet in force
    needs (``approvals_to_apply``), each as ``close_now`` does. A date never imported is
    refused as ``close_now`` refuses it, before anything is published; a data dir whose
    database is not made yet (``open_audit_log``) has no approvals."""
    data_dir = kwargs.get("data_dir")
    imported = as_of in Lake(data_dir or settings.DATA_DIR).as_ofs("loans")
    if kwargs.get("open_audit_log") is not None or not imported:
        return [close_now(actor, as_of, **kwargs)]
    dates, rows = approvals_to_apply([as_of], data_dir)
    results = [close_now(actor, d, **kwargs) for d in dates]
    applied(actor, rows)
    return results


def complete_pending_approvals(*, wait: bool = False) -> CloseRun | None:
    """At a server's start: if an approval is not yet in force (its process died before
    its close finished), close again from its date on behalf of its checker; the close
    publishes it first. ``wait``: in this thread, returning once it has finished (before a server
    forks its workers, no thread of this process may be using the database). None when
    every approval is in force."""
    rows = outbox.pending()
    if not rows:
        return None
    pending = rows[0]
    cause = f"认定#{pending.override_id} 生效（补发布）"
    background = False if wait else None
    return start_reclose(pending.override.checker, pending.as_of, cause, background=background)
