"""Signals a test chooses, published as the latest close's ``signals`` partition (the
contract's columns), so the warning pages and prints work on known rows whatever the
engine's own signals would be."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from loanquality.engine.close import latest_close
from loanquality.engine.lake import CLOSE_LOG, Lake, Staged, new_run_id

SCHEMA = pa.schema(
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
    "INT_ARREARS": "欠息",
}
DUE_DAYS = {3: 7, 2: 15, 1: 30}


def signal(loan: dict, code: str, severity: int, evidence: str, value=0.0, threshold=0.0):
    """One loan-level signal row on ``loan`` (a classified row)."""
    return {
        "code": code,
        "label": LABELS.get(code, code),
        "severity": severity,
        "loan_id": loan["loan_id"],
        "customer_id": loan["customer_id"] or "",
        "customer_name": loan["customer_name"] or "",
        "org_id": loan["org_id"],
        "manager_id": loan["manager_id"] or "",
        "value": float(value),
        "threshold": float(threshold),
        "evidence": evidence,
        "due_days": DUE_DAYS[severity],
    }


def latest_as_of(data_dir: Path) -> dt.date:
    return Lake(data_dir).as_ofs("classified")[-1]


def publish_signals(data_dir: Path, rows: list[dict]) -> dt.date:
    """``rows`` as the signals of the latest close, published as a close publishes (a new
    close id in the close log, the old partition to history); the as-of."""
    lake = Lake(data_dir)
    as_of = latest_as_of(data_dir)
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    with lake.writing("close", as_of):
        entry = dict(latest_close(lake, as_of) or {"as_of": as_of.isoformat()})
        entry["close_id"] = new_run_id()
        entry["at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        entry.pop("replaced", None)
        lake.publish(
            as_of,
            Staged(tables={"signals": table}),
            entry,
            log_name=CLOSE_LOG,
            replace=("signals",),
        )
    return as_of


def maturing(data_dir: Path, orgs: list[str], *, within_days: tuple[int, int], count: int):
    """Up to ``count`` live, not overdue loans of ``orgs`` whose (extended) maturity is
    ``within_days`` (exclusive, inclusive] after the latest close, by loan id."""
    lake = Lake(data_dir)
    as_of = latest_as_of(data_dir)
    low, high = within_days
    found = []
    for row in sorted(lake.read("classified", as_of).to_pylist(), key=lambda r: r["loan_id"]):
        maturity = row.get("extended_maturity_date") or row["maturity_date"]
        if (
            row["org_id"] in orgs
            and (row["balance"] or 0) > 0
            and not row["written_off"]
            and not row["overdue_days"]
            and maturity is not None
            and low < (maturity - as_of).days <= high
        ):
            found.append(row)
    return found[:count]
