"""Signals partitions for the warnings tests, written as a close publishes them (the
contract's columns and order), without waiting for the engine's signal rules: a list of
rows, each about a real loan of the test bank."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from loanquality.engine.close import latest_close
from loanquality.engine.lake import CLOSE_LOG, Lake, Staged, new_run_id

SIGNAL_SCHEMA = pa.schema(
    [
        ("code", pa.string()),
        ("label", pa.string()),
        ("severity", pa.int8()),
        ("loan_id", pa.string()),
        ("customer_id", pa.string()),
        ("customer_name", pa.string()),
        ("org_id", pa.string()),
        ("manager_id", pa.string()),
        ("value", pa.float64()),
        ("threshold", pa.float64()),
        ("evidence", pa.string()),
        ("due_days", pa.int32()),
    ]
)
LABELS = {
    "MAT3M": "到期监测（监测通知书）",
    "MAT1M": "到期提示（提示函）",
    "OVD_FIRST": "首次逾期",
    "LTV_HIGH": "抵质押率超限",
    "BUREAU_NPL": "他行不良",
    "BOOK_SURGE": "管户余额激增",
}
DUE = {3: 7, 2: 15, 1: 30}


def signal(code: str, loan: dict, severity: int, value: float, threshold: float, **also) -> dict:
    """A loan-level signal row about ``loan`` (a classified row); ``also`` overrides."""
    row = {
        "code": code,
        "label": LABELS.get(code, code),
        "severity": severity,
        "loan_id": loan["loan_id"],
        "customer_id": loan["customer_id"],
        "customer_name": loan.get("customer_name") or "",
        "org_id": loan["org_id"],
        "manager_id": loan.get("manager_id") or "",
        "value": value,
        "threshold": threshold,
        "evidence": f"{code} 测试依据：{value}（阈值 {threshold}）",
        "due_days": DUE[severity],
    }
    return {**row, **also}


def latest(data_dir) -> dt.date:
    return Lake(data_dir).as_ofs("classified")[-1]


def live_loans(data_dir, orgs: list[str] | None = None, as_of: dt.date | None = None) -> list:
    """Live loans of a close (the latest), in ``orgs`` when given, by loan id."""
    lake = Lake(data_dir)
    table = lake.read("classified", as_of or latest(data_dir))
    live = pc.and_(pc.greater(table.column("balance"), 0), pc.invert(table.column("written_off")))
    if orgs is not None:
        live = pc.and_(live, pc.is_in(table.column("org_id"), value_set=pa.array(orgs)))
    return table.filter(live).sort_by("loan_id").to_pylist()


def publish_signals(data_dir, as_of: dt.date, rows: list[dict]) -> str:
    """Publish ``rows`` as the signals of a close of ``as_of`` (a new close id in the close
    log). A date after the latest close becomes a close of its own: the latest close's
    loans and metrics copied to it. Returns the close id."""
    lake = Lake(data_dir)
    newest = latest(data_dir)
    with lake.writing("close", as_of):
        tables = {"signals": pa.Table.from_pylist(rows, schema=SIGNAL_SCHEMA)}
        if as_of > newest:
            tables |= {t: lake.read(t, newest) for t in ("classified", "metrics")}
        entry = latest_close(lake, newest) or {}
        close_id = new_run_id()
        lake.publish(
            as_of,
            Staged(tables=tables),
            {**entry, "close_id": close_id, "as_of": as_of.isoformat()},
            log_name=CLOSE_LOG,
            replace=tuple(tables),
        )
    return close_id


def next_month_end(day: dt.date) -> dt.date:
    following = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return (following + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
