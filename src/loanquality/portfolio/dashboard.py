"""What the 驾驶舱 shows for a user's scope at one close."""

from __future__ import annotations

import datetime as dt

from loanquality.common.scope import Scope
from loanquality.engine.metrics.migration import STATE_LABELS
from loanquality.engine.schema import CATEGORY_LABELS
from loanquality.portfolio import selectors

RANKED = 5
# an officer with a tiny book would top or tail every ranking by chance
MIN_RANKED_BALANCE = 1_000_000


def dashboard(scope: Scope, as_of: dt.date) -> dict:
    group_by, key = selectors.scope_key(scope)
    rows = selectors.metric_rows(as_of, group_by, [key])
    if not rows:
        return {"empty": True}
    row = rows[0]
    history = selectors.metric_history(group_by, key)
    child_orgs = scope.tree.children(scope.org_id)
    org_rows = selectors.metric_rows(as_of, "org", child_orgs) if child_orgs else []
    officer_rows = [
        r
        for r in selectors.metric_rows(as_of, "manager", selectors.officers_of(scope, as_of))
        if (r["balance"] or 0) >= MIN_RANKED_BALANCE
    ]
    return {
        "empty": False,
        "row": row,
        "flags": _flags(row),
        "trend": {
            "dates": [h["as_of"].isoformat() for h in history],
            "npl_balance": [round((h["npl_balance"] or 0) / 1e4, 2) for h in history],
            "npl_ratio": [_pct(h["npl_ratio"]) for h in history],
            "as_of": as_of.isoformat(),
        },
        "structure": [
            {"name": label, "value": round((row[f"balance_c{k}"] or 0) / 1e4, 2)}
            for k, label in CATEGORY_LABELS.items()
        ],
        "migration": _heat_map(selectors.migration_cells(as_of, group_by, key)),
        "orgs": _ranked(org_rows),
        "officers": _ranked(officer_rows),
        "flagged_orgs": _flagged_orgs(selectors.metric_rows(as_of, "org", list(scope.orgs))),
    }


def _pct(value) -> float | None:
    return None if value is None else round(value * 100, 3)


def _red_line(value: float) -> str:
    """A red line as people say it: 5%, 1.5%."""
    return f"{value * 100:g}%"


def _flags(row: dict) -> list[tuple[str, str]]:
    """(level, text) of what the headline ratio hides; a red line passed comes first."""
    flags = []
    if _above(row):
        line = _red_line(_above(row))
        flags.append(("danger", f"不良率 {row['npl_ratio']:.2%} 已达到或超过 {line} 的监管红线"))
    if row["npl_masked_by_growth"]:
        flags.append(("danger", "不良余额比上期上升，而不良率因贷款规模扩大而下降"))
    if row["npl_masked_by_growth_ytd"]:
        flags.append(("danger", "不良余额比年初上升，而不良率因贷款规模扩大而下降"))
    if row["npl_ratio_near_redline"]:
        flags.append(("warning", "不良率贴近监管红线（差距不足0.05个百分点）"))
    if (row["hidden_npl_balance"] or 0) > 0:
        hidden = row["hidden_npl_balance"] / 1e4
        flags.append(("warning", f"分类偏离：行内分类好于规则分类的贷款余额 {hidden:,.2f} 万元"))
    return flags


def _flagged_orgs(rows: list[dict]) -> list[dict]:
    """The orgs whose ratio says something, one group a line (level, title, rows, worst
    first): past each red line from the highest down, then just under one, then a ratio
    that fell while NPL rose."""

    def worst_first(selected):
        return sorted(selected, key=lambda r: -(r["npl_ratio"] or 0))

    passed = sorted({r["npl_ratio_above_redline"] for r in rows if _above(r)}, reverse=True)
    groups = [
        {
            "level": "danger" if line == passed[0] else "warning",
            "title": f"不良率达到或超过{_red_line(line)}红线",
            "rows": worst_first(r for r in rows if _above(r) == line),
        }
        for line in passed
    ]
    groups.append(
        {
            "level": "warning",
            "title": "不良率贴近红线",
            "rows": worst_first(r for r in rows if r["npl_ratio_near_redline"]),
        }
    )
    groups.append(
        {
            "level": "secondary",
            "title": "不良余额上升而不良率下降",
            "rows": worst_first(r for r in rows if r["npl_masked_by_growth"]),
        }
    )
    return [g for g in groups if g["rows"]]


def _above(row: dict) -> float | None:
    """The red line the row passed; a close made before the metric existed has none."""
    return row.get("npl_ratio_above_redline")


def _heat_map(cells: list[dict]) -> dict:
    """Share of each opening category's balance by where it went (rows sum to 100 %)."""
    states = list(STATE_LABELS)
    totals: dict[int, float] = {}
    for c in cells:
        totals[c["from_category"]] = totals.get(c["from_category"], 0) + c["opening_balance"]
    data = [
        [
            states.index(c["to_state"]),
            c["from_category"] - 1,
            round(100 * c["opening_balance"] / totals[c["from_category"]], 2),
        ]
        for c in cells
        if totals.get(c["from_category"])
    ]
    return {
        "from": list(CATEGORY_LABELS.values()),
        "to": list(STATE_LABELS.values()),
        "data": data,
    }


def _ranked(rows: list[dict]) -> dict:
    rated = sorted((r for r in rows if r["npl_ratio"] is not None), key=lambda r: r["npl_ratio"])
    return {"best": rated[:RANKED], "worst": rated[::-1][:RANKED]}


SEVERITIES = ((3, "高"), (2, "中"), (1, "低"))


def warning_counts(scope: Scope) -> list[dict]:
    """The 驾驶舱's 预警 table: the scope's own subtree first, then each org just below it
    (its subtree summed), each with its open and overdue cases by severity (高, 中, 低) and
    the list each number drills to (``warnings.selectors.open_counts``)."""
    from loanquality.warnings.selectors import open_counts

    by_org: dict[str, dict] = {}
    for row in open_counts(scope):
        org = by_org.setdefault(
            row["org_id"],
            {
                "org_id": row["org_id"],
                "org_name": row["org_name"],
                "total": row["total"],
                "cells": {},
                "open": 0,
                "overdue": 0,
            },
        )
        org["cells"][row["severity"]] = row
        org["open"] += row["open"]
        org["overdue"] += row["overdue"]
    for org in by_org.values():
        org["cells"] = [org["cells"].get(s, {"open": 0, "overdue": 0}) for s, _ in SEVERITIES]
    return sorted(by_org.values(), key=lambda o: not o["total"])
