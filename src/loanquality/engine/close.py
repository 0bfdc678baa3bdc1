"""The monthly close: overdue days → classification → every metric → signals → the lake.

A close reads the date's import and the latest earlier close, and publishes the
classified loans, the metric table, the migration matrix and the early-warning signals
together (all or nothing), then records the run in ``close_log.jsonl`` with the rule
set's hash (which covers the signals' thresholds too).
"""

from __future__ import annotations

import datetime as dt
import getpass
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from loanquality.engine.backends import Engine, connect
from loanquality.engine.classify import classify
from loanquality.engine.dpd import with_overdue_days
from loanquality.engine.lake import CLOSE_LOG, Lake, Staged, new_run_id
from loanquality.engine.metrics import (
    GROUPINGS,
    YTD_PARTS,
    Inputs,
    compute_metrics,
    compute_migration,
    opening_cells,
    org_closure,
)
from loanquality.engine.metrics.base import Period
from loanquality.engine.metrics.labels import with_labels
from loanquality.engine.overrides import in_force
from loanquality.engine.problems import InputRejected, Problem
from loanquality.engine.rules import RuleSet, load_ruleset
from loanquality.engine.signals import SIGNAL_ORDER, SignalInputs, signal_parts
from loanquality.engine.sources import lake_table, partition, up_to
from loanquality.engine.tables import money_sum

CLOSE_TABLES = ("classified", "metrics", "migration", "signals")


@dataclass
class CloseResult:
    close_id: str
    as_of: dt.date
    previous_as_of: dt.date | None
    ruleset: str
    ruleset_sha256: str
    rows: dict[str, int]
    seconds: float
    engine: str


CLOSE_STEPS = 5  # the progress steps run_close reports


def classified_loans(
    con: BaseBackend,
    lake: Lake,
    as_of: dt.date,
    ruleset: RuleSet,
    *,
    previous: ibis.Table | None = None,
    overrides: ibis.Table | None = None,
) -> ibis.Table:
    """Classify the ledger imported for ``as_of``.

    Overdue days come from that date's schedules and every repayment imported up to it
    (each import holds the flows since the one before).
    """
    loans = partition(con, lake, "loans", as_of)
    if loans is None:
        raise _no_import(as_of)
    schedules = partition(con, lake, "schedules", as_of)
    with_days = with_overdue_days(loans, as_of, schedules, up_to(con, lake, "repayments", as_of))
    return classify(
        with_days,
        as_of,
        ruleset,
        previous=previous,
        bureau=partition(con, lake, "bureau", as_of),
        overrides=overrides,
        schedules=schedules,
    )


def close_log(lake: Lake) -> list[dict[str, Any]]:
    return lake.close_log()


def latest_close(lake: Lake, as_of: dt.date) -> dict[str, Any] | None:
    """The log entry of the close now published for ``as_of``."""
    entries = [e for e in close_log(lake) if e["as_of"] == as_of.isoformat()]
    return entries[-1] if entries and lake.has("metrics", as_of) else None


def run_close(
    data_dir: Path,
    as_of: dt.date,
    *,
    engine: Engine = "duckdb",
    ruleset: RuleSet | None = None,
    overrides: pa.Table | None = None,
    progress: Callable[[str], None] | None = None,
    user: str | None = None,
    con: BaseBackend | None = None,
    wait: bool = False,
) -> CloseResult:
    """Close ``as_of``: classify against the latest earlier close, compute every metric, the
    migration matrix and the early-warning signals, and publish them together. Re-running a
    date replaces its results.
    ``overrides`` defaults to the approved 认定 in force at ``as_of``. Another import or
    close of the data directory is refused (``InputRejected``), or waited for with ``wait``.
    """
    lake = Lake(data_dir)
    with lake.writing("close", as_of, wait=wait):
        return _close(lake, as_of, engine, ruleset, overrides, progress, user, con)


def _close(
    lake: Lake,
    as_of: dt.date,
    engine: Engine,
    ruleset: RuleSet | None,
    overrides: pa.Table | None,
    progress: Callable[[str], None] | None,
    user: str | None,
    con: BaseBackend | None,
) -> CloseResult:
    step = progress or (lambda _: None)
    started = time.perf_counter()
    data_dir = lake.data_dir
    if not lake.has("loans", as_of):
        raise _no_import(as_of)
    ruleset = ruleset or load_ruleset()
    if overrides is None:
        overrides = in_force(data_dir, as_of)
    con = con or connect(engine)
    closes = [d for d in lake.as_ofs("classified") if d != as_of]
    previous_as_of = max((d for d in closes if d < as_of), default=None)
    period = Period(as_of, previous_as_of, _year_base(closes, as_of))
    close_id = new_run_id()

    with lake.staging() as staging:
        step("五级分类 classifying")
        previous = partition(con, lake, "classified", previous_as_of) if previous_as_of else None
        override_table = ibis.memtable(overrides) if overrides is not None else None
        classified_path = staging / "classified.parquet"
        _materialize(
            con,
            classified_loans(
                con, lake, as_of, ruleset, previous=previous, overrides=override_table
            ),
            classified_path,
        )
        current = con.read_parquet(str(classified_path))

        step("计算指标 metrics")
        orgs = lake.read("orgs", as_of)
        inputs = Inputs(
            current=current,
            previous=previous,
            repayments=partition(con, lake, "repayments", as_of),
            org_closure=ibis.memtable(org_closure(orgs)),
            provisions=partition(con, lake, "provisions", as_of),
            capital=_latest(con, lake, "capital", as_of),
            previous_metrics=partition(con, lake, "metrics", previous_as_of)
            if previous_as_of
            else None,
            base_metrics=partition(con, lake, "metrics", period.base_as_of)
            if period.base_as_of and period.base_as_of != as_of
            else None,
            year_parts=_year_parts(con, lake, as_of, closes),
        )
        staff = lake.read("staff", as_of) if lake.has("staff", as_of) else None
        # last month's loans joined to this month's, summed once for the metrics and the matrix
        cells = (
            ibis.memtable(con.to_pyarrow(opening_cells(inputs, period)))
            if previous is not None
            else None
        )
        by_group = [("group_by", "ascending"), ("key", "ascending")]
        metrics = with_labels(
            con.to_pyarrow(compute_metrics(inputs, period, cells)).sort_by(by_group), orgs, staff
        )

        step("迁徙矩阵 migration")
        order = [*by_group, ("from_category", "ascending"), ("to_state", "ascending")]
        migration = (
            with_labels(con.to_pyarrow(compute_migration(cells)).sort_by(order), orgs, staff)
            if cells is not None
            else _empty_migration()
        )

        step("预警信号 signals")
        signals = close_signals(con, lake, as_of, ruleset, current, previous, orgs)

        step("发布 publishing")
        rows = {
            "classified": pq.read_metadata(classified_path).num_rows,
            "metrics": metrics.num_rows,
            "migration": migration.num_rows,
            "signals": signals.num_rows,
        }
        seconds = round(time.perf_counter() - started, 2)
        entry = {
            "close_id": close_id,
            "as_of": as_of.isoformat(),
            "previous_as_of": previous_as_of.isoformat() if previous_as_of else None,
            "base_as_of": period.base_as_of.isoformat() if period.base_as_of else None,
            "ruleset": ruleset.name,
            "ruleset_sha256": ruleset.sha256,
            "engine": con.name,
            "rows": rows,
            "overrides": overrides.num_rows if overrides is not None else 0,
            "seconds": seconds,
            "user": user or getpass.getuser(),
            "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        lake.publish(
            as_of,
            Staged(
                tables={"metrics": metrics, "migration": migration, "signals": signals},
                files={"classified": classified_path},
            ),
            entry,
            log_name=CLOSE_LOG,
            replace=CLOSE_TABLES,
        )
    return CloseResult(
        close_id, as_of, previous_as_of, ruleset.name, ruleset.sha256, rows, seconds, con.name
    )


def close_signals(
    con: BaseBackend,
    lake: Lake,
    as_of: dt.date,
    ruleset: RuleSet,
    current: ibis.Table,
    previous: ibis.Table | None,
    orgs: pa.Table,
) -> pa.Table:
    """The early-warning signals of the close (SPEC §6), from the classified loans just
    written, the previous close and the as-of's side tables; capital is the latest given
    on or before ``as_of``. Each part of the rows (``signal_parts``) is one query."""

    def side(table: str) -> ibis.Table | None:
        return partition(con, lake, table, as_of)

    inputs = SignalInputs(
        current=current,
        orgs=ibis.memtable(orgs),
        previous=previous,
        collateral=side("collateral"),
        guarantees=side("guarantees"),
        bureau=side("bureau"),
        customers=side("customers"),
        capital=_latest(con, lake, "capital", as_of),
        staff=side("staff"),
    )
    parts = signal_parts(inputs, as_of, ruleset.signals)
    # each part its own query (small queries compile fast), put together and sorted here
    table = pa.concat_tables([con.to_pyarrow(part) for part in parts])
    order: list[tuple[str, Literal["ascending", "descending"]]] = [
        ("severity", "descending"),
        *((c, "ascending") for c in SIGNAL_ORDER[1:]),
    ]
    return table.sort_by(order)


def _year_base(closes: list[dt.date], as_of: dt.date) -> dt.date:
    """年初: the last close of the previous year; without one, the year's first close."""
    last_year = [d for d in closes if d.year < as_of.year]
    if last_year:
        return max(last_year)
    return min([d for d in closes if d.year == as_of.year and d < as_of] + [as_of])


def _year_parts(
    con: BaseBackend, lake: Lake, as_of: dt.date, closes: list[dt.date]
) -> ibis.Table | None:
    """The YTD parts summed over this year's earlier closes."""
    if not any(d.year == as_of.year and d < as_of for d in closes):
        return None
    metrics = lake_table(con, lake, "metrics")
    earlier = metrics.filter(
        (metrics.as_of >= ibis.date(as_of.replace(month=1, day=1)))
        & (metrics.as_of < ibis.date(as_of))
    )
    return earlier.group_by("group_by", "key").aggregate(
        **{p: money_sum(earlier[p]) for p in YTD_PARTS}
    )


def _latest(con: BaseBackend, lake: Lake, table: str, as_of: dt.date) -> ibis.Table | None:
    dates = [d for d in lake.as_ofs(table) if d <= as_of]
    return partition(con, lake, table, dates[-1]) if dates else None


def _materialize(con: BaseBackend, expr: ibis.Table, path: Path) -> None:
    if con.name == "duckdb":
        con.to_parquet(expr, path)
    else:  # Spark writes a folder of parts; the lake keeps one file per partition
        pq.write_table(con.to_pyarrow(expr), path)


def _empty_migration() -> pa.Table:
    """The first close has nothing to migrate from: the table, with no rows."""
    counts = {c: pa.int64() for c in ("loan_count", "renewed_count")}
    amounts = {
        c: pa.float64() for c in ("opening_balance", "closing_balance", "renewed_opening_balance")
    }
    schema = {
        "group_by": pa.string(),
        "key": pa.string(),
        "label": pa.string(),
        "from_category": pa.int8(),
        "to_state": pa.string(),
        **counts,
        **amounts,
    }
    return pa.table({name: pa.array([], kind) for name, kind in schema.items()})


def _no_import(as_of: dt.date) -> InputRejected:
    return InputRejected(
        [
            Problem(
                "close",
                None,
                None,
                None,
                as_of.isoformat(),
                "no ledger imported for this date: import it first",
                "该报告日尚未导入借据台账，请先导入",
            )
        ]
    )


__all__ = [
    "CLOSE_TABLES",
    "GROUPINGS",
    "CloseResult",
    "classified_loans",
    "close_signals",
    "run_close",
]
