"""Every metric family on a hand-built two-month portfolio, imported and closed for real.

January 31 (orgs: HQ → B1 → O1, O2; HQ → B2 → O3):

    loan  org  customer         balance  state on 31 Jan                       category
    A     O1   farmer           100      performing                            1
    B     O1   farmer           200      performing, matures 15 Feb            1
    C     O2   farmer (JT1)     300      interest 30 days overdue              2
    D     O2   farmer           400      performing, matures 10 Feb            1
    E     O3   corporate        100      400 days overdue                      5
    F     O3   farmer (JT1)     500      100 days overdue                      3

February 29:  A paid 10 → 90; B repaid in full (200); C impaired, ECL 180 (60 %) → 可疑,
two categories worse; D renewed by D2 (400, 借新还旧); E written off; F 129 days → 次级;
G a new loan of 2 000 to a micro enterprise (JT1).

The two months are closed on DuckDB and on PySpark (``closed`` is parametrized; the
PySpark close, about 15 s on two idle cores, is marked ``spark``), so every test of the
close runs on both. The change and red-line cases run on both as well, their table bound
to the backend's connection; their PySpark cases are marked ``spark``, all but one of each
also ``slow``, which a plain ``pytest`` leaves out. ``pytest -m spark`` runs every PySpark
case, ``pytest -m "not spark"`` DuckDB alone.
"""

import datetime as dt

import pyarrow.parquet as pq
import pytest

from backends import ENGINE, backend, bind, engines, run_on
from helpers import write_csv
from loanquality.engine.close import run_close
from loanquality.engine.ingest import import_as_of

JAN, FEB = dt.date(2024, 1, 31), dt.date(2024, 2, 29)
LOAN_HEADER = [
    "loan_id",
    "customer_id",
    "customer_type",
    "group_id",
    "org_id",
    "industry",
    "guarantee_type",
    "product",
    "balance",
    "issue_date",
    "maturity_date",
    "prior_loan_id",
    "interest_overdue_days",
    "overdue_interest",
    "impaired",
    "ecl",
    "written_off",
    "bank_category",
]
FAR = "2026-12-31"


def ledger_row(
    loan,
    customer,
    kind,
    group,
    org,
    industry,
    guarantee,
    balance,
    issue,
    maturity,
    prior="",
    days=0,
    arrears=0,
    impaired="否",
    ecl=0,
    written_off="否",
    bank=1,
):
    return [
        loan,
        customer,
        kind,
        group,
        org,
        industry,
        guarantee,
        "农户小额信用贷款",
        balance,
        issue,
        maturity,
        prior,
        days,
        arrears,
        impaired,
        ecl,
        written_off,
        bank,
    ]


JANUARY = [
    ledger_row("A", "CA", "农户", "", "O1", "A", "信用", 100, "2023-06-01", FAR),
    ledger_row("B", "CB", "农户", "", "O1", "A", "信用", 200, "2023-02-15", "2024-02-15"),
    ledger_row(
        "C",
        "CC",
        "农户",
        "JT1",
        "O2",
        "A",
        "信用",
        300,
        "2023-06-01",
        FAR,
        days=30,
        arrears=5,
        bank=2,
    ),
    ledger_row("D", "CD", "农户", "", "O2", "F", "保证", 400, "2023-02-10", "2024-02-10"),
    ledger_row(
        "E", "CE", "企业", "", "O3", "C", "抵押", 100, "2022-01-01", "2022-12-20", days=400, bank=5
    ),
    ledger_row(
        "F",
        "CF",
        "农户",
        "JT1",
        "O3",
        "A",
        "信用",
        500,
        "2023-06-01",
        FAR,
        days=100,
        arrears=20,
        bank=2,
    ),
]
FEBRUARY = [
    ledger_row("A", "CA", "农户", "", "O1", "A", "信用", 90, "2023-06-01", FAR),
    ledger_row(
        "C",
        "CC",
        "农户",
        "JT1",
        "O2",
        "A",
        "信用",
        300,
        "2023-06-01",
        FAR,
        days=59,
        arrears=8,
        impaired="是",
        ecl=180,
        bank=2,
    ),
    ledger_row(
        "D2", "CD", "农户", "", "O2", "F", "保证", 400, "2024-02-10", "2025-02-10", prior="D"
    ),
    ledger_row(
        "E",
        "CE",
        "企业",
        "",
        "O3",
        "C",
        "抵押",
        100,
        "2022-01-01",
        "2022-12-20",
        days=429,
        written_off="是",
        bank=5,
    ),
    ledger_row(
        "F",
        "CF",
        "农户",
        "JT1",
        "O3",
        "A",
        "信用",
        500,
        "2023-06-01",
        FAR,
        days=129,
        arrears=25,
        bank=2,
    ),
    ledger_row("G", "CG", "小微企业", "JT1", "O1", "F", "抵押", 2000, "2024-02-20", FAR),
]
ORGS = [
    ["org_id", "org_name", "parent_id"],
    ["HQ", "联社", ""],
    ["B1", "一社", "HQ"],
    ["O1", "一社营业部", "B1"],
    ["O2", "一社东街", "B1"],
    ["B2", "二社", "HQ"],
    ["O3", "二社营业部", "B2"],
]
FEB_REPAYMENTS = [
    ["loan_id", "date", "principal_paid", "interest_paid", "kind"],
    ["A", "2024-02-21", 10, 1, "正常"],
    ["B", "2024-02-15", 200, 2, "正常"],
    ["E", "2024-02-29", 100, 0, "核销"],
]


@pytest.fixture(
    scope="module",
    params=["duckdb", pytest.param("pyspark", marks=pytest.mark.spark)],
)
def closed(request, tmp_path_factory):
    """Both months imported and closed on the engine; returns {as_of: {(group_by, key): row}}."""
    engine = request.param
    con = backend(engine)
    root = tmp_path_factory.mktemp(f"two-months-{engine}")
    data = root / "data"
    orgs = write_csv(root / "orgs.csv", ORGS)
    capital = write_csv(root / "capital.csv", [["org_id", "net_capital"], ["HQ", 10000]])
    for as_of, rows, extra in (
        (JAN, JANUARY, {}),
        (
            FEB,
            FEBRUARY,
            {
                "repayments": write_csv(root / "feb-repayments.csv", FEB_REPAYMENTS),
                "provisions": write_csv(
                    root / "feb-provisions.csv", [["org_id", "provision"], ["B1", 100], ["B2", 150]]
                ),
            },
        ),
    ):
        loans = write_csv(root / f"{as_of}-loans.csv", [LOAN_HEADER, *rows])
        import_as_of(data, as_of, {"loans": loans, "orgs": orgs, "capital": capital, **extra})
        assert run_close(data, as_of, engine=engine, con=con).engine == engine
    return {
        as_of: {
            (r["group_by"], r["key"]): r
            for r in pq.read_table(data / f"lake/metrics/as_of={as_of}/part-0.parquet").to_pylist()
        }
        for as_of in (JAN, FEB)
    } | {"data": data}


def total(closed, as_of=FEB):
    return closed[as_of][("total", "total")]


def test_quality(closed):
    t = total(closed)
    assert t["loan_count"] == 5  # A, C, D2, F, G; E is written off
    assert t["balance"] == 90 + 300 + 400 + 500 + 2000
    assert (
        t["balance_c1"],
        t["balance_c2"],
        t["balance_c3"],
        t["balance_c4"],
        t["balance_c5"],
    ) == (90 + 400 + 2000, 0, 500, 300, 0)
    # A, D2, G 正常; none 关注; F 次级; C 可疑; none 损失 (E, 损失, is written off)
    assert (t["count_c1"], t["count_c2"], t["count_c3"], t["count_c4"], t["count_c5"]) == (
        3,
        0,
        1,
        1,
        0,
    )
    assert t["npl_balance"] == 800
    assert t["npl_ratio"] == pytest.approx(800 / 3290)
    assert t["special_mention_ratio"] == 0
    assert t["overdue_balance"] == 300 + 500
    assert t["overdue_ratio"] == pytest.approx(800 / 3290)
    assert t["overdue90_balance"] == 500
    assert t["npl_deviation"] == pytest.approx(500 / 800)
    # the bank calls C and F 关注; the rules say 可疑 and 次级
    assert t["hidden_npl_balance"] == 300 + 500


def test_quality_in_january(closed):
    """January, every loan by its overdue days: A, B, D 正常; C 30 days 关注 (OD1);
    F 100 days 次级 (OD90); E 400 days 损失 (OD360)."""
    t = total(closed, JAN)
    assert t["loan_count"] == 6
    assert t["balance"] == 100 + 200 + 300 + 400 + 100 + 500
    assert (t["count_c1"], t["count_c2"], t["count_c3"], t["count_c4"], t["count_c5"]) == (
        3,
        1,
        1,
        0,
        1,
    )
    assert (t["balance_c2"], t["balance_c5"]) == (300, 100)
    assert t["npl_balance"] == 500 + 100


def test_ratio_falls_while_npl_rises_and_its_exact_split(closed):
    """January: NPL = E 100 + F 500 = 600 of 1 600. February: 800 of 3 290."""
    t = total(closed)
    assert t["npl_balance_change"] == 800 - 600
    assert t["npl_ratio_change"] == pytest.approx(800 / 3290 - 600 / 1600)
    assert t["npl_ratio_change_numerator"] == pytest.approx((800 - 600) / 3290)
    assert t["npl_ratio_change_denominator"] == pytest.approx(600 / 3290 - 600 / 1600)
    assert t["npl_ratio_change_numerator"] + t["npl_ratio_change_denominator"] == (
        pytest.approx(t["npl_ratio_change"])
    )
    assert t["npl_masked_by_growth"] is True
    # January is the year's first close, so it is February's opening too: the YTD figures
    # are the same arithmetic against January
    assert t["npl_balance_change_ytd"] == 800 - 600
    assert t["npl_ratio_change_ytd"] == pytest.approx(800 / 3290 - 600 / 1600)
    assert t["npl_ratio_change_numerator_ytd"] == pytest.approx((800 - 600) / 3290)
    assert t["npl_ratio_change_denominator_ytd"] == pytest.approx(600 / 3290 - 600 / 1600)
    assert t["npl_masked_by_growth_ytd"] is True  # 24.3 % < 37.5 % while NPL rose by 200
    # January is its own opening: every YTD change is nil
    january = total(closed, JAN)
    assert (
        january["npl_balance_change_ytd"],
        january["npl_ratio_change_ytd"],
        january["npl_ratio_change_numerator_ytd"],
        january["npl_ratio_change_denominator_ytd"],
        january["npl_masked_by_growth_ytd"],
    ) == (0, 0, 0, 0, False)
    assert january["npl_balance_change"] is None  # no previous close


def test_migration_rates(closed):
    """Opening 正常: A (100 → 90), B (200 → repaid), D (400 → renewed as D2, 400, 正常).
    Base = min(100, 90) + min(200, 0) + min(400, 400) = 490; none worse: 0.
    Opening 关注: C 300 → 可疑 (two categories worse): 300 / 300.
    Opening 次级: F stays: 0 / 500. Opening 可疑: none: zero denominator, null."""
    t = total(closed)
    assert t["migration_rate_c1"] == 0
    assert t["migration_rate_c2"] == 1
    assert t["migration_rate_c3"] == 0
    assert t["migration_rate_c4"] is None
    assert t["migration_rate_performing"] == pytest.approx((0 + 300) / (490 + 300))


def test_migration_matrix(closed):
    data = closed["data"]
    rows = [
        r
        for r in pq.read_table(data / "lake/migration/as_of=2024-02-29/part-0.parquet").to_pylist()
        if r["group_by"] == "total"
    ]
    cells = {(r["from_category"], r["to_state"]): r for r in rows}
    assert set(cells) == {(1, "1"), (1, "repaid"), (2, "4"), (3, "3"), (5, "written_off")}
    assert (
        cells[1, "1"]["loan_count"],
        cells[1, "1"]["opening_balance"],
        cells[1, "1"]["closing_balance"],
    ) == (2, 100 + 400, 90 + 400)
    assert (cells[1, "1"]["renewed_count"], cells[1, "1"]["renewed_opening_balance"]) == (1, 400)
    assert cells[1, "repaid"]["opening_balance"] == 200
    assert cells[5, "written_off"]["opening_balance"] == 100


def test_recovery(closed):
    """Due in February: B (200, repaid) and D (400, renewed: not a recovery): 200 / 600.
    Interest: received 1 + 2 = 3; arrears rose from 5 + 20 to 8 + 25: 3 / (3 + 8)."""
    t = total(closed)
    assert t["maturity_recovery_rate"] == pytest.approx(200 / 600)
    assert t["maturity_recovery_rate_ytd"] == pytest.approx(200 / 600)
    assert t["interest_recovery_rate"] == pytest.approx(3 / (3 + 8))
    assert total(closed, JAN)["maturity_recovery_rate"] is None


def test_new_loan_quality(closed):
    """Issued this year: D2 400 and G 2 000, neither bad: 0 / 2 400. January: none, null."""
    assert total(closed)["new_loan_npl_ratio"] == 0
    assert total(closed, JAN)["new_loan_npl_ratio"] is None


def test_provisioning(closed):
    """Required: F 500 × 25 % + C 300 × 50 % = 275. Held: B1 100 + B2 150 = 250."""
    t = total(closed)
    assert t["provision_required"] == pytest.approx(500 * 0.25 + 300 * 0.50)
    assert t["provision_held"] == 250
    assert t["provision_coverage"] == pytest.approx(250 / 800)
    assert t["provision_ratio"] == pytest.approx(250 / 3290)
    assert t["provision_adequacy"] == pytest.approx(250 / 275)
    b1 = closed[FEB][("org", "B1")]  # A 90, G 2 000 at O1; C 300, D2 400 at O2
    assert (b1["balance"], b1["npl_balance"], b1["provision_held"]) == (2790, 300, 100)
    assert b1["provision_coverage"] == pytest.approx(100 / 300)
    assert closed[FEB][("product", "农户小额信用贷款")]["provision_held"] is None


def test_concentration(closed):
    """Customers: A 90, C 300, D2 400, F 500, G 2 000; group JT1 = C + F + G = 2 800."""
    t = total(closed)
    assert t["top10_share"] == 1.0  # five customers in all
    assert t["largest_borrower_share"] == pytest.approx(2000 / 3290)
    assert t["largest_group_share"] == pytest.approx(2800 / 3290)
    assert t["net_capital"] == 10000
    assert t["largest_borrower_to_capital"] == pytest.approx(2000 / 10000)
    assert t["top10_to_capital"] == pytest.approx(3290 / 10000)
    assert t["largest_group_to_capital"] == pytest.approx(2800 / 10000)
    # industry A: 90 + 300 + 500 = 890; F: 400 + 2 000 = 2 400
    assert t["industry_hhi"] == pytest.approx((890 / 3290) ** 2 + (2400 / 3290) ** 2)
    # O2: C 300 in JT1 and D2 400 in no group, so D2 is the largest group: 400 / 700
    o2 = closed[FEB][("org", "O2")]
    assert o2["balance"] == 700
    assert o2["largest_group_share"] == pytest.approx(400 / 700)
    o3 = closed[FEB][("org", "O3")]  # F alone (E is written off)
    assert (o3["top10_share"], o3["largest_borrower_share"], o3["net_capital"]) == (1.0, 1.0, None)


def test_turnover(closed):
    """Principal repaid 10 + 200 (the write-off is no repayment) over the average of
    1 600 and 3 290, annualised over the 29 days of February."""
    t = total(closed)
    times = (10 + 200) / ((1600 + 3290) / 2) * 360 / 29
    assert t["turnover_times"] == pytest.approx(times)
    assert t["turnover_days"] == pytest.approx(360 / times)


def test_structure(closed):
    t = total(closed)
    assert t["agri_share"] == pytest.approx((90 + 300 + 400 + 500) / 3290)  # all but G
    assert t["credit_only_share"] == pytest.approx((90 + 300 + 500) / 3290)
    assert t["bill_share"] == 0
    assert t["large_borrower_share"] == 0


def test_org_rows_sum_their_subtree(closed):
    rows = closed[FEB]
    for column in ("balance", "npl_balance", "loan_count", "provision_required"):
        assert (
            rows[("org", "HQ")][column] == rows[("org", "B1")][column] + rows[("org", "B2")][column]
        )
        assert (
            rows[("org", "B1")][column] == rows[("org", "O1")][column] + rows[("org", "O2")][column]
        )
    assert rows[("org", "HQ")]["balance"] == total(closed)["balance"]
    assert rows[("org", "B1")]["label"] == "一社"


def test_other_groupings_have_labels_and_partition_the_total(closed):
    rows = closed[FEB]
    kinds = {k: r for (g, k), r in rows.items() if g == "customer_type"}
    assert {k: r["label"] for k, r in kinds.items()} == {
        "farmer": "农户",
        "micro": "小微企业",
        "corporate": "企业",
    }
    # E, the only corporate loan, is written off: the row stays, with nothing on the books
    assert (kinds["corporate"]["loan_count"], kinds["corporate"]["balance"]) == (0, 0)
    assert sum(r["balance"] for r in kinds.values()) == total(closed)["balance"]


@pytest.mark.parametrize(
    ("engine", "npl", "near"),
    engines(
        [(194, False), (195, True), (199.9, True), (200, False), (495, True), (500, False)],
        fast=1,
    ),
)
def test_near_a_red_line(engine, npl, near):
    """Red lines 1 %, 2 %, 5 %; band 0.05 pp just below: 1.95 % ≤ ratio < 2 % is near."""
    import pyarrow as pa

    from loanquality.engine.metrics import change
    from loanquality.engine.metrics.base import Period

    con = backend(engine)
    s = bind(
        con,
        pa.table(
            {
                "npl_balance": [float(npl)],
                "balance": [10_000.0],
                "prev_npl_balance": [0.0],
                "prev_balance": [1.0],
                "base_npl_balance": [0.0],
                "base_balance": [1.0],
            }
        ),
    )
    value = change.finish(s, Period(FEB, JAN, JAN))["npl_ratio_near_redline"]
    assert run_on(con, s.select(v=value)).column("v").to_pylist() == [near]


@pytest.mark.parametrize(
    ("engine", "npl", "balance", "above"),
    engines(
        [
            (99, 10_000, None),  # 0.99 %: under every line
            (100, 10_000, 0.01),  # 1.00 %: exactly on the 1 % line has reached it
            (195, 10_000, 0.01),  # 1.95 %: past 1 % (and near 2 %)
            (200, 10_000, 0.02),  # 2.00 %
            (499, 10_000, 0.02),  # 4.99 %: past 2 % (and near 5 %)
            (500, 10_000, 0.05),  # 5.00 %
            (604, 10_000, 0.05),  # 6.04 %: the 支行 of issue 16
            (1_896, 10_000, 0.05),  # 18.96 %: the 网点 of issue 16, the highest line only
            (0, 0, None),  # no loans: no ratio, no line
        ],
        fast=6,
    ),
)
def test_above_a_red_line(engine, npl, balance, above):
    """Red lines 1 %, 2 %, 5 %: the highest one with npl / balance ≥ it, else empty."""
    import pyarrow as pa

    from loanquality.engine.metrics import change
    from loanquality.engine.metrics.base import Period

    con = backend(engine)
    s = bind(
        con,
        pa.table(
            {
                "npl_balance": [float(npl)],
                "balance": [float(balance)],
                "prev_npl_balance": [0.0],
                "prev_balance": [1.0],
                "base_npl_balance": [0.0],
                "base_balance": [1.0],
            }
        ),
    )
    value = change.finish(s, Period(FEB, JAN, JAN))["npl_ratio_above_redline"]
    assert run_on(con, s.select(v=value)).column("v").to_pylist() == [above]


def test_red_lines_of_the_close(closed):
    """February: the bank 800 / 3 290 = 24.3 % and O2 (C 300 可疑 of C 300 + D2 400)
    300 / 700 = 42.9 % are past 5 %; O1 (A 90, 正常) at 0 % passed none. None of them is
    within 0.05 pp under a line."""
    rows = closed[FEB]
    assert total(closed)["npl_ratio_above_redline"] == 0.05
    assert rows[("org", "O2")]["npl_ratio_above_redline"] == 0.05
    assert rows[("org", "O1")]["npl_ratio_above_redline"] is None
    assert not any(rows[k]["npl_ratio_near_redline"] for k in (("total", "total"), ("org", "O1")))


@ENGINE
def test_ytd_changes_are_against_the_years_opening_not_the_previous_close(engine):
    """Two groups whose previous close (p) and opening of the year (b) differ.

    x: NPL 300 of 4 000 now; p 200 of 2 000; b 400 of 2 500.
       month: 300 − 200 = 100; 300/4 000 − 200/2 000 = 0.075 − 0.1 = −0.025
              = 100/4 000 (0.025) + (200/4 000 − 0.1 = −0.05); NPL up, ratio down: masked
       YTD:   300 − 400 = −100; 0.075 − 400/2 500 = 0.075 − 0.16 = −0.085
              = −100/4 000 (−0.025) + (400/4 000 − 0.16 = −0.06); NPL down: not masked
    y: NPL 500 of 10 000 now; p 600 of 8 000; b 400 of 4 000.
       month: −100; 0.05 − 0.075 = −0.025 = −0.01 + (600/10 000 − 0.075 = −0.015); not masked
       YTD:   100; 0.05 − 0.1 = −0.05 = 0.01 + (400/10 000 − 0.1 = −0.06); masked
    """
    import pyarrow as pa

    from loanquality.engine.metrics import change
    from loanquality.engine.metrics.base import Period

    con = backend(engine)
    s = bind(
        con,
        pa.table(
            {
                "key": ["x", "y"],
                "npl_balance": [300.0, 500.0],
                "balance": [4_000.0, 10_000.0],
                "prev_npl_balance": [200.0, 600.0],
                "prev_balance": [2_000.0, 8_000.0],
                "base_npl_balance": [400.0, 400.0],
                "base_balance": [2_500.0, 4_000.0],
            }
        ),
    )
    values = change.finish(s, Period(FEB, JAN, dt.date(2023, 12, 31)))
    rows = run_on(con, s.select("key", **values).order_by("key")).to_pylist()
    names = [
        "npl_balance_change",
        "npl_ratio_change",
        "npl_ratio_change_numerator",
        "npl_ratio_change_denominator",
    ]
    expected = {
        "x": ([100, -0.025, 0.025, -0.05], True, [-100, -0.085, -0.025, -0.06], False),
        "y": ([-100, -0.025, -0.01, -0.015], False, [100, -0.05, 0.01, -0.06], True),
    }
    for row in rows:
        month, masked, ytd, masked_ytd = expected[row["key"]]
        assert [row[n] for n in names] == pytest.approx(month)
        assert row["npl_masked_by_growth"] is masked
        assert [row[f"{n}_ytd"] for n in names] == pytest.approx(ytd)
        assert row["npl_masked_by_growth_ytd"] is masked_ytd
    assert [r["key"] for r in rows] == ["x", "y"]
