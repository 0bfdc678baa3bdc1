"""Every early-warning code (SPEC §6) against a small hand-built portfolio: a loan that fires
and one that just does not, the arithmetic written out.

Each case runs on DuckDB and on PySpark (its inputs tables of that backend's connection).
One PySpark case per family is marked ``spark`` only, the others ``spark`` and ``slow``.
The close's own use of the signals is tested in test_close_signals.py.
"""

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from backends import ENGINE, ENGINE_SLOW, backend, bind, engines, run_on
from classifying import FAR, arrow
from loanquality.engine.problems import InputRejected
from loanquality.engine.rules import SignalParameters, load_ruleset
from loanquality.engine.schema import (
    BUREAU,
    CAPITAL,
    COLLATERAL,
    CUSTOMERS,
    GUARANTEES,
    LOANS,
    ORGS,
    STAFF,
)
from loanquality.engine.signals import (
    SEVERITY_LABELS,
    SIGNAL_COLUMNS,
    SIGNALS,
    SignalInputs,
    compute_signals,
)

AS_OF = dt.date(2024, 6, 30)  # a quarter end, a month end
ORG_TREE = [
    {"org_id": "R", "org_name": "联社", "parent_id": None},
    {"org_id": "B01", "org_name": "甲社", "parent_id": "R"},
    {"org_id": "B02", "org_name": "乙社", "parent_id": "R"},
]


def loan(loan_id: str, **values) -> dict:
    """A performing 正常 corporate loan of 1 000 yuan, managed by S1 at B01."""
    return {
        "loan_id": loan_id,
        "customer_id": "C-" + loan_id,
        "org_id": "B01",
        "manager_id": "S1",
        "customer_type": "corporate",
        "balance": 1_000.0,
        "issue_date": dt.date(2023, 1, 1),
        "maturity_date": FAR,
        "overdue_days": 0,
        "interest_overdue_days": 0,
        "final_category": 1,
        **values,
    }


def classified(rows: list[dict]) -> pa.Table:
    """The rows as a close's classified table: the ledger's columns, overdue days, category."""
    table = arrow(rows, LOANS)
    for column, kind in (
        ("overdue_days", pa.int64()),
        ("interest_overdue_days", pa.int64()),
        ("final_category", pa.int8()),
    ):
        values = pa.array([r.get(column, 0 if column != "final_category" else 1) for r in rows])
        if column in table.column_names:
            table = table.drop_columns([column])
        table = table.append_column(column, values.cast(kind))
    return table


def signals(
    loans: list[dict],
    *,
    as_of: dt.date = AS_OF,
    previous: list[dict] | None = None,
    collateral: list[dict] | None = None,
    guarantees: list[dict] | None = None,
    bureau: list[dict] | None = None,
    customers: list[dict] | None = None,
    capital: list[dict] | None = None,
    staff: list[dict] | None = None,
    params: SignalParameters | None = None,
    engine: str = "duckdb",
) -> list[dict]:
    """The signal rows of these inputs, computed on ``engine``."""
    con = backend(engine)

    def table(rows, spec):
        return None if rows is None else bind(con, arrow(rows, spec))

    inputs = SignalInputs(
        current=bind(con, classified(loans)),
        orgs=bind(con, arrow(ORG_TREE, ORGS)),
        previous=None if previous is None else bind(con, classified(previous)),
        collateral=table(collateral, COLLATERAL),
        guarantees=table(guarantees, GUARANTEES),
        bureau=table(bureau, BUREAU),
        customers=table(customers, CUSTOMERS),
        capital=table(capital, CAPITAL),
        staff=table(staff, STAFF),
    )
    result = run_on(con, compute_signals(inputs, as_of, params or SignalParameters()))
    assert tuple(result.column_names) == SIGNAL_COLUMNS
    return result.to_pylist()


def of(rows: list[dict], code: str) -> dict[str, dict]:
    """The rows of ``code`` by subject (loan, else customer, else officer)."""
    return {
        r["loan_id"] or r["customer_id"] or r["manager_id"]: r for r in rows if r["code"] == code
    }


# --- maturity: MAT3M 监测通知书, MAT1M 提示函 ----------------------------------------------


@pytest.mark.parametrize(
    ("engine", "maturity", "extended", "code", "days"),
    engines(
        [
            # 2024-06-30 + 3 months = 2024-09-30: inside (the window's end is included);
            # days: July 31 + August 31 + September 30 = 92
            (dt.date(2024, 9, 30), None, "MAT3M", 92),
            (dt.date(2024, 10, 1), None, None, None),  # a day later: outside
            # + 1 month = 2024-07-30: MAT1M up to it, 30 days; MAT3M from the day after
            (dt.date(2024, 7, 30), None, "MAT1M", 30),
            (dt.date(2024, 7, 31), None, "MAT3M", 31),
            (dt.date(2024, 7, 1), None, "MAT1M", 1),
            (dt.date(2024, 6, 30), None, None, None),  # due today: (as_of, ...] excludes it
            # the extended maturity is the maturity: 2024-08-15 is 31 + 15 = 46 days on
            (dt.date(2024, 7, 10), dt.date(2024, 8, 15), "MAT3M", 46),
            (dt.date(2024, 7, 10), dt.date(2025, 6, 30), None, None),
        ],
        fast=0,
    ),
)
def test_maturity_windows(engine, maturity, extended, code, days):
    rows = signals(
        [loan("L1", maturity_date=maturity, extended_maturity_date=extended)], engine=engine
    )
    fired = [r for r in rows if r["code"] in ("MAT3M", "MAT1M")]
    if code is None:
        assert fired == []
        return
    (row,) = fired
    months, kind, end_days = (3, "监测", 92) if code == "MAT3M" else (1, "提示", 30)
    assert (row["code"], row["value"], row["threshold"]) == (code, days, end_days)
    assert row["severity"] == (1 if code == "MAT3M" else 2)
    shown = (extended or maturity).isoformat()
    after = "（展期后）" if extended else ""
    assert row["evidence"] == (
        f"贷款{after}将于{shown}到期，距报告日{days}天（{kind}期限{months}个月）"
    )


@ENGINE_SLOW
def test_maturity_skips_overdue_written_off_and_repaid_loans(engine):
    soon = dt.date(2024, 7, 15)
    rows = signals(
        [
            loan("OVERDUE", maturity_date=soon, overdue_days=1, final_category=2),
            loan("WRITTEN_OFF", maturity_date=soon, written_off=True),
            loan("REPAID", maturity_date=soon, balance=0.0),
            loan("LIVE", maturity_date=soon),
        ],
        engine=engine,
    )
    assert sorted(of(rows, "MAT1M")) == ["LIVE"]


# --- delinquency: OVD_FIRST, INT_ARREARS, DOWNGRADE, RENEW_STRESSED ---------------------


@ENGINE
def test_first_overdue_against_the_previous_close(engine):
    previous = [loan("NEWLY"), loan("STILL", overdue_days=5, final_category=2), loan("CURED")]
    rows = signals(
        [
            loan("NEWLY", overdue_days=3, final_category=2),  # 0 then, 3 now: first
            loan("STILL", overdue_days=35, final_category=2),  # 5 then, 35 now: not first
            loan("CURED"),  # 0 now
            loan("FRESH", overdue_days=2, final_category=2),  # not at the previous close
        ],
        previous=previous,
        engine=engine,
    )
    first = of(rows, "OVD_FIRST")
    assert sorted(first) == ["FRESH", "NEWLY"]
    assert (first["NEWLY"]["value"], first["NEWLY"]["threshold"]) == (3.0, 0.0)
    assert first["NEWLY"]["evidence"] == "贷款本期首次逾期，逾期3天（上期末未逾期）"
    assert first["FRESH"]["evidence"] == "贷款本期首次逾期，逾期2天（上期结账后新发放）"
    assert first["NEWLY"]["severity"] == 2


def test_first_overdue_does_not_fire_at_the_first_close():
    """With no earlier close nothing says which arrears are new: no OVD_FIRST at all."""
    rows = signals([loan("L1", overdue_days=3, final_category=2)])
    assert of(rows, "OVD_FIRST") == {}


@pytest.mark.parametrize(
    ("engine", "days", "interest", "fires"),
    engines([(3, 0.0, True), (0, 0.01, True), (0, 0.0, False), (0, None, False)], fast=None),
)
def test_interest_arrears(engine, days, interest, fires):
    rows = signals(
        [loan("L1", interest_overdue_days=days, overdue_interest=interest)], engine=engine
    )
    found = of(rows, "INT_ARREARS")
    assert bool(found) is fires
    if fires:
        shown = f"{interest or 0:,.2f}"
        assert found["L1"]["evidence"] == f"贷款欠息{shown}元，欠息天数{days}天"
        assert (found["L1"]["value"], found["L1"]["severity"]) == (days, 2)


@ENGINE_SLOW
def test_downgrade_severity_depends_on_whether_the_loan_is_now_npl(engine):
    previous = [
        loan("UP1", final_category=1),
        loan("TO_NPL", final_category=2),
        loan("SAME", final_category=3),
        loan("BETTER", final_category=3),
    ]
    rows = signals(
        [
            loan("UP1", final_category=2),  # 正常 -> 关注: 2
            loan("TO_NPL", final_category=3),  # 关注 -> 次级, now NPL: 3
            loan("SAME", final_category=3),
            loan("BETTER", final_category=2),
            loan("NEW", final_category=4),  # nothing to compare with
        ],
        previous=previous,
        engine=engine,
    )
    found = of(rows, "DOWNGRADE")
    assert sorted(found) == ["TO_NPL", "UP1"]
    assert (found["UP1"]["severity"], found["UP1"]["due_days"]) == (2, 15)
    assert (found["TO_NPL"]["severity"], found["TO_NPL"]["due_days"]) == (3, 7)
    assert (found["TO_NPL"]["value"], found["TO_NPL"]["threshold"]) == (3.0, 2.0)
    assert found["TO_NPL"]["evidence"] == "风险分类由关注下迁至次级（较上期末）"


@ENGINE_SLOW
def test_renewals_and_extensions_of_stressed_loans(engine):
    extended = dt.date(2024, 12, 31)
    previous = [
        loan("OLD1", overdue_days=10, final_category=2),  # renewed while overdue
        loan("OLD2", final_category=2),  # renewed while 关注
        loan("OLD3"),  # renewed while 正常, not overdue
        loan("EXT1", overdue_days=40, final_category=2),  # extended since, while overdue
        loan("EXT2", overdue_days=40, final_category=2, extended_maturity_date=extended),
        loan("EXT3"),  # extended since, but 正常 then
    ]
    rows = signals(
        [
            loan("N1", prior_loan_id="OLD1"),
            loan("N2", prior_loan_id="OLD2"),
            loan("N3", prior_loan_id="OLD3"),
            loan("EXT1", extended_maturity_date=extended),
            loan("EXT2", extended_maturity_date=extended),  # extended before the last close
            loan("EXT3", extended_maturity_date=extended),
        ],
        previous=previous,
        engine=engine,
    )
    found = of(rows, "RENEW_STRESSED")
    assert sorted(found) == ["EXT1", "N1", "N2"]
    assert {r["severity"] for r in found.values()} == {3}
    assert found["N1"]["evidence"] == "借新还旧：原借据OLD1上期末逾期10天、分类为关注"
    assert found["EXT1"]["evidence"] == "本期展期至2024-12-31，上期末逾期40天、分类为关注"
    assert (found["N2"]["value"], found["N2"]["threshold"]) == (2.0, 1.0)


@ENGINE_SLOW
def test_a_renewal_fires_only_at_the_close_where_the_renewing_loan_is_new(engine):
    """N1 renewed OLD1 before the previous close (N1 is on its ledger) and OLD1's last,
    overdue row is still in that close: the renewal was news then, not now. N2 is new since
    the previous close and renews OLD2, overdue 5 days and 关注 there: it fires."""
    previous = [
        loan("OLD1", overdue_days=10, final_category=2),
        loan("N1", prior_loan_id="OLD1"),
        loan("OLD2", overdue_days=5, final_category=2),
    ]
    rows = signals(
        [loan("N1", prior_loan_id="OLD1"), loan("N2", prior_loan_id="OLD2")],
        previous=previous,
        engine=engine,
    )
    found = of(rows, "RENEW_STRESSED")
    assert sorted(found) == ["N2"]
    row = found["N2"]
    # value: OLD2's category there (关注 = 2) against the threshold 正常 = 1
    assert (row["value"], row["threshold"], row["severity"]) == (2.0, 1.0, 3)
    assert row["evidence"] == "借新还旧：原借据OLD2上期末逾期5天、分类为关注"


# --- collateral: COLLATERAL_STALE, LTV_HIGH --------------------------------------------


@pytest.mark.parametrize(
    ("engine", "kind", "appraised", "months", "limit", "due", "late"),
    engines(
        [
            # real estate, due 12 months after: 2023-06-30 + 12 months = 2024-06-30, due
            # today and not yet overdue; a day older, 2023-06-29, is overdue (12 whole months
            # to the month-end as-of, the cycle's 12): due 2024-06-29, 1 day late
            ("房产", dt.date(2023, 6, 30), None, 12, None, None),
            ("房产", dt.date(2023, 6, 29), 12, 12, dt.date(2024, 6, 29), 1),
            # due 2023-05-31; to 2024-05-31 is 366 days (2024-02-29 between), + 30 of June
            ("土地使用权", dt.date(2022, 5, 31), 25, 12, dt.date(2023, 5, 31), 366 + 30),
            # other collateral every 6 months: 2023-12-30 + 6 = 2024-06-30, not overdue
            ("存单", dt.date(2023, 12, 30), None, 6, None, None),
            ("存单", dt.date(2023, 12, 29), 6, 6, dt.date(2024, 6, 29), 1),
            ("机器设备", dt.date(2024, 1, 31), None, 6, None, None),  # + 6 = 2024-07-31
            (None, dt.date(2023, 12, 29), 6, 6, dt.date(2024, 6, 29), 1),  # not real estate
        ],
        fast=1,
    ),
)
def test_collateral_revaluation_schedule(engine, kind, appraised, months, limit, due, late):
    rows = signals(
        [loan("L1", guarantee_type="抵押", balance=1_000.0)],
        collateral=[
            {
                "collateral_id": "YP1",
                "loan_id": "L1",
                "type": kind,
                "value": 10_000.0,
                "appraisal_date": appraised,
            }
        ],
        engine=engine,
    )
    found = of(rows, "COLLATERAL_STALE")
    if months is None:
        assert found == {}
        return
    row = found["L1"]
    assert (row["value"], row["threshold"], row["severity"], row["due_days"]) == (
        months,
        limit,
        1,
        30,
    )
    assert row["evidence"] == (
        f"押品YP1（{kind or '未注明类型'}）评估日期{appraised.isoformat()}，"
        f"应于{due.isoformat()}前重估，已超期{late}天"
    )


def test_stale_collateral_is_one_row_per_loan_naming_the_longest_overdue():
    rows = signals(
        [loan("L1")],
        collateral=[
            # 房产 14 months old, due 2024-04-30: 61 days late (May 31 + June 30);
            # 存单 10 months old, due 2023-08-31 + 6 months = 2024-02-29 (cut to the month's
            # end): 122 days late (March 31 + April 30 + May 31 + June 30), the longest
            {"collateral_id": "A", "loan_id": "L1", "type": "房产", "value": 1.0,
             "appraisal_date": dt.date(2023, 4, 30)},
            {"collateral_id": "B", "loan_id": "L1", "type": "存单", "value": 1.0,
             "appraisal_date": dt.date(2023, 8, 31)},
            {"collateral_id": "C", "loan_id": "L1", "type": "存单", "value": 1.0,
             "appraisal_date": dt.date(2024, 5, 31)},
            {"collateral_id": "D", "loan_id": "L1", "type": "房产", "value": 1.0,
             "appraisal_date": None},  # no date: cannot be aged
        ],
    )  # fmt: skip
    (row,) = of(rows, "COLLATERAL_STALE").values()
    assert (row["value"], row["threshold"]) == (10.0, 6.0)
    assert row["evidence"] == (
        "押品B（存单）评估日期2023-08-31，应于2024-02-29前重估，已超期122天"
        "（该笔贷款共2件押品重估超期）"
    )


def test_real_estate_types_are_configurable():
    """With 存单 listed as real estate, a 10-month-old one is within its 12 months."""
    item = {"collateral_id": "B", "loan_id": "L1", "type": "存单", "value": 1.0,
            "appraisal_date": dt.date(2023, 8, 31)}  # fmt: skip
    params = SignalParameters(real_estate_types=("存单",))
    assert of(signals([loan("L1")], collateral=[item], params=params), "COLLATERAL_STALE") == {}
    assert of(signals([loan("L1")], collateral=[item]), "COLLATERAL_STALE") != {}


@pytest.mark.parametrize(
    ("engine", "kind", "balance", "values", "ltv"),
    engines(
        [
            ("抵押", 70_000.00, [100_000.0], None),  # 70 000 / 100 000 = 0.70: not above
            ("抵押", 70_000.01, [100_000.0], 0.7000001),  # a fen more: above 0.70
            ("质押", 90_000.00, [100_000.0], None),  # 0.90 exactly: not above 质押's 0.90
            ("质押", 90_000.01, [100_000.0], 0.9000001),
            ("抵押", 75_000.00, [40_000.0, 60_000.0], 0.75),  # items summed: 75 000 / 100 000
            ("保证", 99_000.00, [100_000.0], None),  # not secured by this collateral
            ("抵押", 1_000.00, [0.0], None),  # worth nothing: no ratio
            # free text: trimmed, "抵押…" is a mortgage (0.70), "质押…" a pledge (0.90)
            ("抵押担保", 70_000.00, [100_000.0], None),  # 70 000 / 100 000 = 0.70: not above
            ("抵押担保", 70_010.00, [100_000.0], 0.7001),  # 70 010 / 100 000 = 0.7001 > 0.70
            (" 抵押 ", 80_000.00, [100_000.0], 0.80),  # 0.80 > 0.70
            ("质押担保", 80_000.00, [100_000.0], None),  # 0.80, not above 质押's 0.90
            ("质押担保", 90_000.01, [100_000.0], 0.9000001),
            # both named: the stricter mortgage limit, 0.80 > 0.70 (under 0.90 it would not)
            ("抵押+质押", 80_000.00, [100_000.0], 0.80),
            (None, 99_000.00, [100_000.0], None),  # no type given
        ],
        fast=None,
    ),
)
def test_loan_to_value_by_guarantee_type(engine, kind, balance, values, ltv):
    items = [
        {"collateral_id": f"YP{i}", "loan_id": "L1", "type": "房产", "value": v,
         "appraisal_date": dt.date(2024, 6, 1)}
        for i, v in enumerate(values)
    ]  # fmt: skip
    rows = signals(
        [loan("L1", guarantee_type=kind, balance=balance)], collateral=items, engine=engine
    )
    found = of(rows, "LTV_HIGH")
    if ltv is None:
        assert found == {}
        return
    row = found["L1"]
    named = "抵押" if "抵押" in kind else "质押"  # the evidence names the type the limit is of
    limit = 0.70 if named == "抵押" else 0.90
    assert row["value"] == pytest.approx(ltv, abs=1e-12)
    assert (row["threshold"], row["severity"], row["due_days"]) == (limit, 3, 7)
    value = sum(values)
    assert row["evidence"] == (
        f"贷款余额{balance:,.2f}元，押品价值{value:,.2f}元，{named}率{ltv * 100:.2f}%，"
        f"超过{limit * 100:.2f}%的上限"
    )


# --- counterparty: GUARANTOR_BAD, BUREAU_NPL, MULTI_LENDER, DEPOSIT_LOW, CONCENTRATION ---


@ENGINE
def test_guarantor_in_trouble_here(engine):
    loans = [
        loan("A"),  # guaranteed by G1, overdue 10 days here
        loan("B"),  # by G2, performing
        loan("C"),  # by G3, 次级 though not overdue
        loan("D"),  # by G4, whose overdue loan is written off (off the books)
        loan("E"),  # by G5, not a customer here
        loan("F"),  # by G1 and G3: one row, the worse (次级) named, two counted
        loan("G1L", customer_id="G1", overdue_days=10, final_category=2),
        loan("G2L", customer_id="G2"),
        loan("G3L", customer_id="G3", final_category=3),
        loan("G4L", customer_id="G4", overdue_days=400, final_category=5, written_off=True),
    ]
    guarantees = [
        {"loan_id": "A", "guarantor_id": "G1"},
        {"loan_id": "B", "guarantor_id": "G2"},
        {"loan_id": "C", "guarantor_id": "G3"},
        {"loan_id": "D", "guarantor_id": "G4"},
        {"loan_id": "E", "guarantor_id": "G5"},
        {"loan_id": "F", "guarantor_id": "G1"},
        {"loan_id": "F", "guarantor_id": "G3"},
    ]
    found = of(signals(loans, guarantees=guarantees, engine=engine), "GUARANTOR_BAD")
    assert sorted(found) == ["A", "C", "F"]
    assert found["A"]["evidence"] == "保证人G1在本行有逾期10天的贷款，最差分类为关注"
    assert found["C"]["evidence"] == "保证人G3在本行有贷款，最差分类为次级"
    assert found["F"]["evidence"] == (
        "保证人G3在本行有贷款，最差分类为次级（共2名保证人有逾期或不良）"
    )
    assert (found["F"]["value"], found["F"]["threshold"], found["F"]["severity"]) == (2, 0, 3)


@pytest.mark.parametrize(
    ("engine", "share", "lenders", "codes"),
    engines(
        [
            (0.01, None, ["BUREAU_NPL"]),  # any part overdue > 90 days elsewhere
            (0.0, None, []),
            (0.0, 3, ["MULTI_LENDER"]),  # 3 lenders: at the limit, fires (>= 3)
            (0.0, 2, []),
            (0.5, 7, ["BUREAU_NPL", "MULTI_LENDER"]),
        ],
        fast=None,
    ),
)
def test_bureau_signals_are_customer_level(engine, share, lenders, codes):
    loans = [
        loan("SMALL", customer_id="C1", balance=1_000.0, org_id="B01", manager_id="S1"),
        loan("BIG", customer_id="C1", balance=5_000.0, org_id="B02", manager_id="S2"),
    ]
    bureau = [
        {"customer_id": "C1", "overdue90_share": share, "lender_count": lenders},
        {"customer_id": "GONE", "overdue90_share": 0.9, "lender_count": 9},  # no loan here
    ]
    rows = signals(loans, bureau=bureau, engine=engine)
    fired = sorted(r["code"] for r in rows)
    assert fired == codes
    for row in rows:  # the subject is the customer; the case goes to its largest loan's org
        assert (row["loan_id"], row["customer_id"], row["org_id"], row["manager_id"]) == (
            "",
            "C1",
            "B02",
            "S2",
        )
    found = {r["code"]: r for r in rows}
    if "BUREAU_NPL" in found:
        row = found["BUREAU_NPL"]
        assert (row["value"], row["threshold"], row["severity"]) == (share, 0.0, 3)
        assert row["evidence"] == (
            f"征信显示该客户在其他机构的债务中逾期90天以上的占{share * 100:.2f}%"
        )
    if "MULTI_LENDER" in found:
        row = found["MULTI_LENDER"]
        assert (row["value"], row["threshold"], row["severity"]) == (lenders, 3.0, 2)
        assert (
            row["evidence"] == f"征信显示该客户在{lenders}家其他机构有授信（多头贷款标准3家及以上）"
        )


@pytest.mark.parametrize(
    ("engine", "as_of", "fired"),
    engines(
        [
            (dt.date(2024, 6, 30), ["LOW"]),
            (dt.date(2024, 3, 31), ["LOW"]),
            (dt.date(2024, 12, 31), ["LOW"]),
            (dt.date(2024, 9, 30), ["LOW"]),
            (dt.date(2024, 5, 31), []),  # not a quarter end
            (dt.date(2024, 6, 29), []),
        ],
        fast=None,
    ),
)
def test_deposits_below_a_fifth_of_the_credit_line_at_quarter_ends(engine, as_of, fired):
    loans = [
        loan("L1", customer_id="EXACT"),
        loan("L2", customer_id="LOW"),
        loan("L3", customer_id="RETAIL", customer_type="farmer"),
        loan("L4", customer_id="NOLINE"),
        loan("L5", customer_id="UNKNOWN"),
    ]
    customers = [
        # 20 000 / 100 000 = 20 %: not below 20 %
        {"customer_id": "EXACT", "credit_line": 100_000.0, "deposit_balance": 20_000.0},
        # 19 999.99 / 100 000 = 19.9999 %: below
        {"customer_id": "LOW", "customer_name": "乙公司", "credit_line": 100_000.0,
         "deposit_balance": 19_999.99},
        {"customer_id": "RETAIL", "credit_line": 100_000.0, "deposit_balance": 0.0},  # retail
        {"customer_id": "NOLINE", "credit_line": 0.0, "deposit_balance": 0.0},
        {"customer_id": "UNKNOWN", "credit_line": 100_000.0},  # deposits not given
        {"customer_id": "NOLOAN", "credit_line": 100_000.0, "deposit_balance": 0.0},
    ]  # fmt: skip
    found = of(signals(loans, as_of=as_of, customers=customers, engine=engine), "DEPOSIT_LOW")
    assert sorted(found) == fired
    if fired:
        row = found["LOW"]
        assert row["value"] == pytest.approx(0.1999999, abs=1e-12)
        assert (row["threshold"], row["severity"], row["customer_name"]) == (0.2, 2, "乙公司")
        assert row["evidence"] == (
            "季末存款余额19,999.99元，授信额度100,000.00元，资金归行率20.00%，低于20%"
        )


@ENGINE_SLOW
def test_deposits_not_given_raise_no_deposit_signal_but_zero_deposits_do(engine):
    """Null deposits are not known: no DEPOSIT_LOW. Deposits of 0 are known and low."""
    loans = [loan("L1", customer_id="NULLDEP"), loan("L2", customer_id="ZERO")]
    customers = [
        {"customer_id": "NULLDEP", "credit_line": 100_000.0, "deposit_balance": None},
        {"customer_id": "ZERO", "credit_line": 100_000.0, "deposit_balance": 0.0},
    ]
    found = of(signals(loans, customers=customers, engine=engine), "DEPOSIT_LOW")
    assert sorted(found) == ["ZERO"]
    row = found["ZERO"]
    # 0 / 100 000 = 0.00 < 0.20
    assert (row["value"], row["threshold"], row["severity"]) == (0.0, 0.2, 2)
    assert row["evidence"] == ("季末存款余额0.00元，授信额度100,000.00元，资金归行率0.00%，低于20%")


@ENGINE_SLOW
def test_concentration_against_the_legal_entitys_net_capital(engine):
    loans = [
        # EXACT: 60 000 + 40 000 = 100 000 = 10 % of 1 000 000: not above
        loan("E1", customer_id="EXACT", balance=60_000.0),
        loan("E2", customer_id="EXACT", balance=40_000.0),
        # OVER: 100 000.01 > 100 000; its largest loan O2 (at B02, S2) carries the case
        loan("O1", customer_id="OVER", balance=50_000.0, customer_name="丙公司"),
        loan("O2", customer_id="OVER", balance=50_000.01, org_id="B02", manager_id="S2",
             customer_name="丙公司"),
        # a written-off loan counts for nothing
        loan("W1", customer_id="OFF", balance=90_000.0),
        loan("W2", customer_id="OFF", balance=90_000.0, written_off=True),
    ]  # fmt: skip
    capital = [
        {"org_id": "R", "net_capital": 1_000_000.0},  # the root: the legal entity
        {"org_id": "B01", "net_capital": 10.0},  # a branch's row is not the entity's
    ]
    found = of(signals(loans, capital=capital, engine=engine), "CONCENTRATION")
    assert sorted(found) == ["OVER"]
    row = found["OVER"]
    assert (row["org_id"], row["manager_id"], row["customer_name"], row["loan_id"]) == (
        "B02",
        "S2",
        "丙公司",
        "",
    )
    assert row["value"] == pytest.approx(0.1000000100, abs=1e-12)
    assert (row["threshold"], row["severity"]) == (0.10, 3)
    # 100 000.01 yuan = 10.00 万元 (to the hundred yuan); 1 000 000 = 100.00 万元
    assert row["evidence"] == "客户在本行贷款余额10.00万元，占资本净额100.00万元的10.00%，超过10%"


def test_concentration_needs_the_roots_capital():
    loans = [loan("O1", customer_id="OVER", balance=500_000.0)]
    branch_only = [{"org_id": "B01", "net_capital": 1_000.0}]
    assert of(signals(loans, capital=branch_only), "CONCENTRATION") == {}
    assert of(signals(loans), "CONCENTRATION") == {}


# --- officer: BOOK_SURGE -----------------------------------------------------------------


def book(officer: str, amount: float, org: str = "B01") -> list[dict]:
    """An officer's book as two loans: a quarter and three quarters of ``amount``."""
    return [
        loan(f"{officer}-a", manager_id=officer, balance=round(amount / 4, 2), org_id=org),
        loan(
            f"{officer}-b", manager_id=officer, balance=round(amount - amount / 4, 2), org_id="B02"
        ),
    ]


@ENGINE
def test_officer_book_surge_needs_both_thirty_percent_and_a_million(engine):
    before = [*book("S1", 1_000_000), *book("S2", 3_000_000), *book("S3", 4_000_000),
              *book("S4", 1_000_000), *book("S5", 100_000)]  # fmt: skip
    now = [
        *book("S1", 2_000_000),  # +1 000 000 exactly (100 %): not more than a million
        *book("S2", 3_900_000),  # +900 000 = 30 % exactly: not more than 30 %
        *book("S3", 5_200_000.01),  # +1 200 000.01 = 30.00000025 %: both
        *book("S4", 2_000_000.01),  # +1 000 000.01 = 100.000001 %: both
        *book("S5", 10_000_000),  # +9 900 000, 9 900 %: both
        *book("S6", 9_000_000),  # no book at the previous close: no rate
    ]
    staff = [{"staff_id": "S3", "name": "张三", "org_id": "B02"}]
    found = of(signals(now, previous=before, staff=staff, engine=engine), "BOOK_SURGE")
    assert sorted(found) == ["S3", "S4", "S5"]
    s3 = found["S3"]
    assert (s3["loan_id"], s3["customer_id"], s3["manager_id"], s3["org_id"]) == (
        "",
        "",
        "S3",
        "B02",  # the staff table's org
    )
    assert found["S4"]["org_id"] == "B02"  # not in staff: the org of the largest loan (b)
    assert s3["value"] == pytest.approx(1_200_000.01 / 4_000_000, abs=1e-12)
    assert (s3["threshold"], s3["severity"], s3["due_days"]) == (0.30, 1, 30)
    assert s3["evidence"] == (
        "客户经理管户贷款余额由400.00万元增至520.00万元，增加120.00万元（增长30.00%），"
        "超过30%且超过100万元"
    )


def test_book_surge_does_not_fire_at_the_first_close():
    assert of(signals(book("S1", 9_000_000)), "BOOK_SURGE") == {}


# --- the table as a whole ---------------------------------------------------------------


def test_codes_labels_and_severities_follow_the_spec():
    assert list(SIGNALS) == [
        "MAT3M", "MAT1M", "OVD_FIRST", "INT_ARREARS", "DOWNGRADE", "RENEW_STRESSED",
        "COLLATERAL_STALE", "LTV_HIGH", "GUARANTOR_BAD", "BUREAU_NPL", "MULTI_LENDER",
        "DEPOSIT_LOW", "CONCENTRATION", "BOOK_SURGE",
    ]  # fmt: skip
    assert SIGNALS["MAT3M"] == ("到期监测（监测通知书）", 1)
    assert SIGNALS["LTV_HIGH"] == ("抵质押率超限", 3)
    assert SEVERITY_LABELS == {1: "低", 2: "中", 3: "高"}


@ENGINE_SLOW
def test_rows_are_sorted_worst_first_then_org_loan_code(engine):
    soon = dt.date(2024, 7, 15)
    rows = signals(
        [
            loan("B", maturity_date=soon, org_id="B02"),  # MAT1M, 2
            loan("A", maturity_date=dt.date(2024, 9, 1), org_id="B02"),  # MAT3M, 1
            loan("C", maturity_date=soon, interest_overdue_days=0, overdue_interest=1.0,
                 org_id="B01"),  # MAT1M and INT_ARREARS, 2 (it is not overdue in days)
            loan("D", customer_id="CD", guarantee_type="抵押", balance=800.0),  # LTV_HIGH, 3
        ],
        collateral=[{"collateral_id": "Y", "loan_id": "D", "type": "房产", "value": 1_000.0,
                     "appraisal_date": dt.date(2024, 6, 1)}],
        bureau=[{"customer_id": "CD", "overdue90_share": 0.5}],
        engine=engine,
    )  # fmt: skip
    assert [(r["severity"], r["org_id"], r["loan_id"], r["code"]) for r in rows] == [
        (3, "B01", "", "BUREAU_NPL"),
        (3, "B01", "D", "LTV_HIGH"),
        (2, "B01", "C", "INT_ARREARS"),
        (2, "B01", "C", "MAT1M"),
        (2, "B02", "B", "MAT1M"),
        (1, "B02", "A", "MAT3M"),
    ]
    assert [r["label"] for r in rows][:2] == ["他行不良", "抵质押率超限"]
    assert [r["due_days"] for r in rows] == [7, 7, 15, 15, 15, 30]
    assert all(r["customer_name"] == "" for r in rows)  # no names given anywhere


def test_absent_inputs_silence_their_codes_only():
    rows = signals([loan("L1", guarantee_type="抵押", maturity_date=dt.date(2024, 7, 15))])
    assert [r["code"] for r in rows] == ["MAT1M"]


def test_due_days_come_from_the_rule_set():
    params = SignalParameters(due_days={3: 3, 2: 10, 1: 60})
    (row,) = signals([loan("L1", maturity_date=dt.date(2024, 7, 15))], params=params)
    assert (row["severity"], row["due_days"]) == (2, 10)


# --- the rule set's [signals] section ---------------------------------------------------


def rules_file(tmp_path: Path, signals_section: str) -> Path:
    shipped = (Path(load_ruleset.__code__.co_filename).parent / "cn-2023.toml").read_text(
        encoding="utf-8"
    )
    base = shipped.split("\n[signals]")[0]
    path = tmp_path / "bank.toml"
    path.write_text(base + "\n" + signals_section, encoding="utf-8")
    return path


def test_every_shipped_rule_set_has_the_default_thresholds():
    from loanquality.engine.rules import shipped_rulesets

    for name in shipped_rulesets():
        assert load_ruleset(name).signals == SignalParameters()


def test_a_rule_set_without_the_section_gets_the_defaults(tmp_path):
    assert load_ruleset(rules_file(tmp_path, "")).signals == SignalParameters()
    partial = load_ruleset(rules_file(tmp_path, "[signals]\nltv_mortgage = 0.6\n"))
    assert (partial.signals.ltv_mortgage, partial.signals.ltv_pledge) == (0.6, 0.9)


def test_bad_signal_thresholds_are_refused_all_at_once(tmp_path):
    section = (
        "[signals]\nltv_mortgage = 'high'\nlender_count = 0\ndeposit_share = 1.5\n"
        "colour = 1\nreal_estate_types = [1]\n[signals.due_days]\n3 = 7\n2 = 0\n"
    )
    with pytest.raises(InputRejected) as refused:
        load_ruleset(rules_file(tmp_path, section))
    problems = {p.column: p for p in refused.value.problems}
    assert set(problems) == {
        "signals.ltv_mortgage",
        "signals.lender_count",
        "signals.deposit_share",
        "signals.colour",
        "signals.real_estate_types",
        "signals.due_days",
    }
    assert problems["signals.colour"].chinese == "未知的预警参数"
    assert problems["signals.deposit_share"].english == "must be between 1e-09 and 1"
    text = str(refused.value)
    assert "bank.toml" in text
    assert "应为数值" in text
