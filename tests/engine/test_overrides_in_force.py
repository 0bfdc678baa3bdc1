"""Which approved 认定 a close applies: per loan the one for the latest date up to the
close's date, and of two for one date the one approved last."""

from __future__ import annotations

import datetime as dt

from loanquality.engine.overrides import in_force, write_approved

UTC = dt.UTC


def approved(override_id, loan_id, as_of, category, hour):
    return {
        "override_id": override_id,
        "loan_id": loan_id,
        "as_of": as_of,
        "category": category,
        "approved_at": dt.datetime(2024, 3, 1, hour, tzinfo=UTC),
    }


def test_the_latest_date_then_the_latest_approval_is_in_force(tmp_path):
    jan, feb = dt.date(2024, 1, 31), dt.date(2024, 2, 29)
    write_approved(
        tmp_path,
        [
            approved("1", "L1", jan, 3, hour=9),
            approved("2", "L1", jan, 4, hour=10),  # same date, approved later: replaces 1
            approved("3", "L2", feb, 2, hour=8),  # not yet in force in January
            approved("4", "L2", jan, 3, hour=12),  # approved last, but for an earlier date
        ],
    )
    assert in_force(tmp_path, dt.date(2023, 12, 31)) is None
    assert in_force(tmp_path, jan).to_pylist() == [
        {"loan_id": "L1", "category": 4, "override_id": "2"},
        {"loan_id": "L2", "category": 3, "override_id": "4"},
    ]
    assert in_force(tmp_path, feb).to_pylist() == [
        {"loan_id": "L1", "category": 4, "override_id": "2"},
        {"loan_id": "L2", "category": 2, "override_id": "3"},
    ]


def test_no_file_means_no_overrides(tmp_path):
    assert in_force(tmp_path, dt.date(2024, 1, 31)) is None
