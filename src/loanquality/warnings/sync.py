"""Signals of a close into cases (预警事项), and overdue cases escalated.

The close publishes ``signals/as_of=…`` (one row per code and subject); this module keeps
what people do about them. A signal whose (code, subject) has an open case updates it;
any other opens a case, assigned to the manager's user when there is one. At a 10-million
loan close a million MAT3M rows are usual, so everything here is in bulk: the partition is
read with pyarrow, keys are compared in sets, new cases are written by COPY (PostgreSQL) or
``executemany`` (SQLite) and fired-again cases through a temporary table and one
``UPDATE … FROM`` per chunk, never a query per row. Escalation needs no cron: every sync
and every list or inbox read runs it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from loanquality.audit.actions import record
from loanquality.audit.runs import SYSTEM, Operator
from loanquality.common.scope import lake, org_tree
from loanquality.engine.close import latest_close
from loanquality.engine.lake import PART_FILE
from loanquality.engine.signals import SIGNAL_COLUMNS
from loanquality.warnings.models import ACTIVE_STATES, Case, State, SyncedClose

log = logging.getLogger(__name__)

CHUNK = 5000  # signal rows read, matched and written at a time
ANALYZE_AFTER = 10_000  # cases written by a sync after which PostgreSQL's statistics renew
# PostgreSQL's advisory lock held by the transaction syncing or escalating: the after-close
# sync waits for it; a read finding it held goes on with the cases as they are rather than
# wait for a sync of a big close
_SYNC_LOCK = 7_304_217
# the customer notices' codes: their case lapses once its loan leaves the window (_lapse)
LAPSING_CODES = ("MAT3M", "MAT1M")
LAPSED_COMMENT = "到期监测期已过（本次结账未再触发），未经处理自动关闭"
# who syncs when a read finds the newest close not synced yet
AUTO = Operator(SYSTEM, via="auto")
# what a case takes of a signal row (the label is the engine's catalogue's)
COLUMNS = tuple(c for c in SIGNAL_COLUMNS if c != "label")


@dataclass(frozen=True)
class SyncResult:
    opened: int = 0
    updated: int = 0
    escalated: int = 0
    lapsed: int = 0  # notice cases closed untouched, their window over (LAPSING_CODES)


def today_here() -> dt.date:
    return timezone.localdate()


def newest_close() -> tuple[dt.date, str] | None:
    """The newest closed as-of and the id of its close now published (None before one)."""
    the_lake = lake()
    dates = the_lake.as_ofs("classified")
    if not dates:
        return None
    entry = latest_close(the_lake, dates[-1])
    return dates[-1], (entry or {}).get("close_id", "")


def ensure_synced(today: dt.date | None = None, *, actor=AUTO) -> SyncResult | None:
    """Sync the newest close if it has not been (its after-close hook failed, or it was
    closed by the engine alone). Cheap when it has: a directory listing, the close log and
    one indexed query. None when nothing was to do."""
    newest = newest_close()
    if newest is None or not lake().has("signals", newest[0]):
        return None
    if SyncedClose.objects.filter(close_id=newest[1]).exists():
        return None
    return sync_close(newest[0], actor=actor, today=today, wait=False)


def sync_close(
    as_of: dt.date, *, actor, today: dt.date | None = None, wait: bool = True
) -> SyncResult:
    """The signals of the close of ``as_of`` into cases, with one ``warning.sync`` audit row.

    Only the newest closed as-of syncs: closing an older date again opens nothing. A
    signal on an open case of the same (code, subject) updates its figures, severity and
    ``last_as_of`` (``times_fired`` + 1 once per as-of: closing the same date again does
    not count twice); any other opens a case due in its ``due_days``, 已分派 to the active
    user whose staff id is the signal's manager (and whose subtree holds its org), else
    新建. Notice cases nobody has worked whose loan no longer fires close (``_lapse``);
    overdue cases escalate, in the same transaction. ``actor``: a User or an
    ``Operator``. ``wait``: wait for another process's sync or escalation to finish (the
    after-close hook); False gives up at once (the read path, ``ensure_synced``)."""
    today = today or today_here()
    newest = newest_close()
    if newest is None or newest[0] != as_of or not lake().has("signals", as_of):
        return SyncResult()
    count, signals = _signal_batches(as_of)
    with transaction.atomic():
        if not _lock(wait=wait):
            return SyncResult()  # another process is syncing: its result will show
        try:
            with transaction.atomic():  # one process syncs a close; the other waits, then skips
                mark = SyncedClose.objects.create(as_of=as_of, close_id=newest[1])
        except IntegrityError:
            return SyncResult()
        opened, updated = _apply(signals, as_of, today)
        lapsed = _lapse(as_of)
        escalated = _escalate(today)
        if connection.vendor == "postgresql" and opened + updated + escalated >= ANALYZE_AFTER:
            with connection.cursor() as cursor:  # the lists' plans see the cases as they are
                cursor.execute(f"ANALYZE {Case._meta.db_table}")
        mark.signals, mark.opened, mark.updated, mark.escalated = (
            count,
            opened,
            updated,
            escalated,
        )
        mark.save(update_fields=["signals", "opened", "updated", "escalated"])
        record(
            "warning.sync",
            user=actor,
            target=str(as_of),
            org_id=org_tree().root or "",
            close_id=newest[1],
            signals=count,
            opened=opened,
            updated=updated,
            escalated=escalated,
            lapsed=lapsed,
        )
    return SyncResult(opened, updated, escalated, lapsed)


def escalate_overdue(today: dt.date | None = None) -> int:
    """Mark escalated (once) every active case past its due date, with one
    ``warning.escalate`` audit row when any was; the number marked."""
    today = today or today_here()
    if not Case.objects.filter(
        escalated_at__isnull=True, state__in=ACTIVE_STATES, due_on__lt=today
    ).exists():
        return 0  # the usual read: one look at a partial index, nothing written
    with transaction.atomic():
        if not _lock():
            return 0  # a sync is running, and escalates as it finishes
        count = _escalate(today)
        if connection.vendor == "postgresql" and count >= ANALYZE_AFTER:
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Case._meta.db_table}")
        if count:
            record(
                "warning.escalate",
                user=AUTO,
                target=str(today),
                org_id=org_tree().root or "",
                escalated=count,
            )
    return count


def _lock(*, wait: bool = False) -> bool:
    """The sync's lock for this transaction (PostgreSQL; SQLite's writers take their turns
    anyway): waited for (``wait``: the after-close sync, which must not be lost), else
    taken only if no other holds it (reads, which go on with the cases as they are)."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SYNC_LOCK])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_SYNC_LOCK])
        return bool(cursor.fetchone()[0])


def _lapse(as_of: dt.date) -> int:
    """Close the notice cases nobody has worked whose loan this close no longer raises:
    repaid, past its maturity (then overdue: its own signals open), or moved from MAT3M's
    window into MAT1M's. A notice's window cannot come back, and a million of them a month
    would otherwise bury every inbox. A case someone has started stays theirs to resolve,
    and an escalated one stays for the directors to see."""
    now = timezone.now()
    return Case.objects.filter(
        code__in=LAPSING_CODES,
        state__in=(State.NEW, State.ASSIGNED),
        escalated_at__isnull=True,
        last_as_of__lt=as_of,
    ).update(state=State.CLOSED, closed_at=now, close_comment=LAPSED_COMMENT, updated_at=now)


def _escalate(today: dt.date) -> int:
    # conditional: two readers at once escalate (and count) each case once
    return Case.objects.filter(
        escalated_at__isnull=True, state__in=ACTIVE_STATES, due_on__lt=today
    ).update(escalated_at=timezone.now(), updated_at=timezone.now())


def _signal_batches(as_of: dt.date) -> tuple[int, Iterator[pa.RecordBatch]]:
    """The signals partition of ``as_of``: its row count and its rows ``CHUNK`` at a time
    (never the whole partition in memory), each batch with its ``subject``. Every close
    publishes ``due_days``: a partition without it is refused."""
    signals = pq.ParquetFile(lake().partition("signals", as_of) / PART_FILE)
    names = signals.schema_arrow.names
    if "due_days" not in names:
        raise ValueError(
            f"报告日 {as_of} 的预警信号缺少 due_days 列，请重新结账 / "
            f"the signals of {as_of} have no due_days column: close that date again"
        )
    wanted = [c for c in COLUMNS if c in names]

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in signals.iter_batches(batch_size=CHUNK, columns=wanted):
            loan, customer, manager = (
                batch.column(c) for c in ("loan_id", "customer_id", "manager_id")
            )
            subject = pc.if_else(
                pc.not_equal(loan, ""),
                loan,
                pc.if_else(pc.not_equal(customer, ""), customer, manager),
            )
            yield pa.RecordBatch.from_arrays(
                [*batch.columns, subject], names=[*batch.schema.names, "subject"]
            )

    return signals.metadata.num_rows, batches()


def _apply(signals: Iterable[pa.RecordBatch], as_of: dt.date, today: dt.date) -> tuple[int, int]:
    """Open or update a case for each signal row, ``CHUNK`` rows at a time (memory stays
    bounded at a million rows): the chunk's open cases in one query, its new cases in one
    COPY (PostgreSQL) or ``executemany`` (SQLite), its fired-again cases through a
    temporary table and one ``UPDATE … FROM``. No model instance per row: the ORM's
    bulk_create spends more time preparing a million rows than the database inserting
    them. (opened, updated)"""
    assignees = _assignees()
    tree = org_tree()
    subtrees: dict[str, set[str]] = {}
    ops = connection.ops
    now, fixed = ops.adapt_datetimefield_value(timezone.now()), ops.adapt_datefield_value
    dates = {"as_of": fixed(as_of), "today": fixed(today)}
    due_on: dict[int, object] = {}
    opened = updated = 0
    for chunk in signals:
        rows = chunk.to_pylist()
        open_cases = _open_cases({r["code"] for r in rows}, {r["subject"] for r in rows})
        new, again, seen = [], [], set()
        for row in rows:
            key = (row["code"], row["subject"])
            if key in seen:
                continue  # a code and subject twice in one close: the first row counts
            seen.add(key)
            if key in open_cases:
                pk, last, times = open_cases[key]
                again.append(_fired_again(pk, row, times + 1 if last < as_of else times))
                continue
            user = assignees.get(row["manager_id"]) if row["manager_id"] else None
            if user is not None:
                if user.org_id not in subtrees:
                    subtrees[user.org_id] = set(tree.subtree(user.org_id))
                if row["org_id"] not in subtrees[user.org_id]:
                    user = None  # the manager's user cannot see the case where it is now
            days = int(row["due_days"])
            if days not in due_on:
                due_on[days] = fixed(today + dt.timedelta(days=days))
            new.append(_new_case(row, user, dates, due_on[days], now))
        _insert(new)
        _update(again, dates["as_of"], now)
        opened, updated = opened + len(new), updated + len(again)
    return opened, updated


def _open_cases(codes: set[str], subjects: set[str]) -> dict:
    """(code, subject) -> (id, last_as_of, times_fired) of the open cases among these, in
    one query on the one-open-case index."""
    table = Case._meta.db_table
    sql = f"SELECT id, code, subject, last_as_of, times_fired FROM {table} WHERE NOT (state = %s)"
    if connection.vendor == "postgresql":
        sql += " AND code = ANY(%s) AND subject = ANY(%s)"
        params = [State.CLOSED.value, list(codes), list(subjects)]
    else:
        sql += (
            " AND code IN (SELECT value FROM json_each(%s))"
            " AND subject IN (SELECT value FROM json_each(%s))"
        )
        params = [State.CLOSED.value, json.dumps(list(codes)), json.dumps(list(subjects))]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            (code, subject): (pk, _day(last), times)
            for pk, code, subject, last, times in cursor.fetchall()
        }


def _day(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


# a new case's columns, as _new_case gives them
NEW_COLUMNS = (
    "code",
    "subject",
    "loan_id",
    "customer_id",
    "customer_name",
    "org_id",
    "manager_id",
    "severity",
    "value",
    "threshold",
    "evidence",
    "first_as_of",
    "last_as_of",
    "times_fired",
    "state",
    "assignee_id",
    "opened_on",
    "due_on",
    "escalated_at",
    "resolved_by_id",
    "resolved_at",
    "override_id",
    "disposal_ref",
    "closed_by_id",
    "closed_at",
    "close_comment",
    "updated_at",
)


def _new_case(row: dict, user, dates: dict, due_on, now) -> tuple:
    return (
        row["code"],
        row["subject"],
        row["loan_id"] or "",
        row["customer_id"] or "",
        row.get("customer_name") or "",
        row["org_id"] or "",
        row["manager_id"] or "",
        int(row["severity"]),
        row["value"],
        row["threshold"],
        row["evidence"] or "",
        dates["as_of"],
        dates["as_of"],
        1,
        (State.ASSIGNED if user else State.NEW).value,
        user.pk if user else None,
        dates["today"],
        due_on,
        None,
        None,
        None,
        None,
        "",
        None,
        None,
        "",
        now,
    )


# a fired-again case's new figures, as _fired_again gives them
AGAIN_COLUMNS = (
    ("id", "integer"),
    ("severity", "integer"),
    ("value", "double precision"),
    ("threshold", "double precision"),
    ("evidence", "text"),
    ("org_id", "text"),
    ("manager_id", "text"),
    ("customer_name", "text"),
    ("times_fired", "integer"),
    ("due_days", "integer"),
)


def _fired_again(pk: int, row: dict, times: int) -> tuple:
    return (
        pk,
        int(row["severity"]),
        row["value"],
        row["threshold"],
        row["evidence"] or "",
        row["org_id"] or "",
        row["manager_id"] or "",
        row.get("customer_name") or "",
        times,
        int(row["due_days"]),
    )


def _insert(rows: list[tuple]) -> None:
    if not rows:
        return
    table, columns = Case._meta.db_table, ", ".join(NEW_COLUMNS)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(NEW_COLUMNS))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def _update(rows: list[tuple], as_of, now) -> None:
    """The fired-again cases' latest figures: loaded into a temporary table, then one
    ``UPDATE … FROM`` (SQLite and PostgreSQL alike)."""
    if not rows:
        return
    table, staged = Case._meta.db_table, "warnings_fired_again"
    names = ", ".join(name for name, _ in AGAIN_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {staged}")
        cursor.execute(
            f"CREATE TEMPORARY TABLE {staged} ("
            + ", ".join(f"{name} {kind}" for name, kind in AGAIN_COLUMNS)
            + ")"
        )
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {staged} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            # its size known, the planner looks each case up by id instead of scanning
            # every case once per chunk
            cursor.execute(f"ANALYZE {staged}")
        else:
            marks = ", ".join(["%s"] * len(AGAIN_COLUMNS))
            cursor.executemany(f"INSERT INTO {staged} ({names}) VALUES ({marks})", rows)
        # fired again more severe: due by the sooner of its due date and the day it opened
        # plus the new severity's days (an NPL downgrade is not left 15 days)
        if connection.vendor == "postgresql":
            sooner = f"LEAST({table}.due_on, {table}.opened_on + v.due_days)"
        else:
            sooner = f"MIN({table}.due_on, date({table}.opened_on, '+' || v.due_days || ' days'))"
        cursor.execute(
            f"UPDATE {table} SET due_on = CASE WHEN v.severity > {table}.severity"
            f" THEN {sooner} ELSE {table}.due_on END,"
            " severity = v.severity, value = v.value,"
            " threshold = v.threshold, evidence = v.evidence, org_id = v.org_id,"
            " manager_id = v.manager_id,"
            f" customer_name = CASE WHEN v.customer_name = '' THEN {table}.customer_name"
            " ELSE v.customer_name END,"
            " times_fired = v.times_fired, last_as_of = %s, updated_at = %s"
            f" FROM {staged} AS v WHERE {table}.id = v.id",
            [as_of, now],
        )
        cursor.execute(f"DROP TABLE {staged}")


def _assignees() -> dict:
    """Staff id -> the active user who handles that officer's cases: an officer's account
    before any other, then the oldest."""
    from loanquality.accounts.models import Role, User

    found: dict = {}
    users = User.objects.filter(is_active=True).exclude(staff_id="").order_by("pk")
    for user in users:
        held = found.get(user.staff_id)
        if held is None or (user.role == Role.OFFICER and held.role != Role.OFFICER):
            found[user.staff_id] = user
    return found
