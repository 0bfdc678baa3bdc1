"""Which approved 认定 a close applies: per loan the latest approval for a date up to the
close's date."""

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


def test_the_newest_approval_up_to_the_date_is_in_force(tmp_path):
    jan, feb = dt.date(2024, 1, 31), dt.date(2024, 2, 29)
    write_approved(
        tmp_path,
        [
            approved("1", "L1", jan, 3, hour=9),
            approved("2", "L1", jan, 4, hour=10),  # replaces 1
            approved("3", "L2", feb, 2, hour=8),  # not yet in force in January
        ],
    )
    assert in_force(tmp_path, dt.date(2023, 12, 31)) is None
    assert in_force(tmp_path, jan).to_pylist() == [
        {"loan_id": "L1", "category": 4, "override_id": "2"}
    ]
    assert in_force(tmp_path, feb).to_pylist() == [
        {"loan_id": "L1", "category": 4, "override_id": "2"},
        {"loan_id": "L2", "category": 2, "override_id": "3"},
    ]


def test_no_file_means_no_overrides(tmp_path):
    assert in_force(tmp_path, dt.date(2024, 1, 31)) is None
