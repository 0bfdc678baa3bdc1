"""Chinese labels for group keys: org names, officer names, customer types, industries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from loanquality.engine.schema import CUSTOMER_TYPE_LABELS, INDUSTRY_LABELS

TOTAL_LABEL = "全行"
MISSING_LABEL = "（未填写）"


def with_labels(table: pa.Table, orgs: pa.Table, staff: pa.Table | None) -> pa.Table:
    """Add ``label`` after ``key``; the table is per group (small), never per loan."""
    org_names = (
        dict(
            zip(orgs.column("org_id").to_pylist(), orgs.column("org_name").to_pylist(), strict=True)
        )
        if "org_name" in orgs.column_names
        else {}
    )
    staff_names = {}
    if staff is not None and "name" in staff.column_names:
        staff_names = dict(
            zip(staff.column("staff_id").to_pylist(), staff.column("name").to_pylist(), strict=True)
        )
    by_grouping: dict[str | None, Mapping[Any, str | None]] = {
        "org": org_names,
        "manager": staff_names,
        "customer_type": CUSTOMER_TYPE_LABELS,
        "industry": INDUSTRY_LABELS,
    }
    labels = []
    for grouping, key in zip(
        table.column("group_by").to_pylist(), table.column("key").to_pylist(), strict=True
    ):
        if grouping == "total":
            labels.append(TOTAL_LABEL)
        elif not key:
            labels.append(MISSING_LABEL)
        else:
            labels.append(by_grouping.get(grouping, {}).get(key) or key)
    return table.add_column(
        table.column_names.index("key") + 1, "label", pa.array(labels, pa.string())
    )
