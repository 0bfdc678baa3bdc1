"""The synthetic bank carries data for every early-warning signal of SPEC §6, at modest rates.

Each test reads the generated files (Chinese headers) of one small bank and checks a
phenomenon by hand-checkable arithmetic: that some rows have it, and that most do not.
"""

import datetime as dt
from collections import Counter

import pandas as pd
import pytest

from loanquality.engine.close import run_close
from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake
from loanquality.engine.rules import load_ruleset
from loanquality.engine.schema import TABLES
from loanquality.engine.signals import SIGNALS
from loanquality.synth.bank import COLLATERAL_TYPES, REAL_ESTATE
from loanquality.synth.generator import generate_bank

REAL_ESTATE_TYPES = {t for t, real in zip(COLLATERAL_TYPES, REAL_ESTATE, strict=True) if real}


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    """2 000 loans, January to April 2024 (March a quarter end), the default seed."""
    return generate_bank(tmp_path_factory.mktemp("signal-bank"), loans=2_000, months=4, seed=1)


def read(bank, table, as_of=None) -> pd.DataFrame:
    """A generated file with its Chinese headers turned back into column ids."""
    frame = pd.read_csv(bank.path(table, as_of), dtype=str, keep_default_na=False)
    ids = {c.label: c.id for c in TABLES[table].columns}
    frame = frame.rename(columns=ids)
    for column in TABLES[table].columns:
        if column.id in frame and column.kind in ("money", "share", "int"):
            frame[column.id] = pd.to_numeric(frame[column.id].replace("", None))
    return frame


def ledger(bank, as_of) -> pd.DataFrame:
    """The live loans (not written off, balance > 0) with their overdue days."""
    loans = read(bank, "loans", as_of)
    loans["overdue_days"] = loans[["principal_overdue_days", "interest_overdue_days"]].max(axis=1)
    return loans[(loans["written_off"] == "否") & (loans["balance"] > 0)]


def test_collateral_types_are_clear_chinese_names(bank):
    types = set(read(bank, "collateral", bank.as_ofs[-1])["type"])
    assert types == set(COLLATERAL_TYPES)
    assert {"住房", "商铺", "厂房", "土地使用权"} == REAL_ESTATE_TYPES
    # the engine's default rule set reads them the same way (12 months for real estate)
    listed = set(load_ruleset().signals.real_estate_types)
    assert listed >= REAL_ESTATE_TYPES
    assert not (set(COLLATERAL_TYPES) - REAL_ESTATE_TYPES) & listed


def test_a_minority_of_collateral_is_past_its_revaluation(bank):
    """Real estate older than 12 months, other collateral older than 6, at the as-of."""
    stale_real_items = stale_other_items = 0
    for as_of in bank.as_ofs:
        items = read(bank, "collateral", as_of)
        appraised = pd.to_datetime(items["appraisal_date"])
        real = items["type"].isin(REAL_ESTATE_TYPES)
        stale_real = real & (appraised < pd.Timestamp(as_of) - pd.DateOffset(months=12))
        stale_other = ~real & (appraised < pd.Timestamp(as_of) - pd.DateOffset(months=6))
        stale_real_items += int(stale_real.sum())
        stale_other_items += int(stale_other.sum())
        # most were revalued on schedule: fewer than 1 in 10 is stale
        assert (stale_real | stale_other).mean() < 0.10, as_of
        # and every appraisal is on or before the as-of
        assert (appraised <= pd.Timestamp(as_of)).all()
    assert stale_real_items >= 1
    assert stale_other_items >= 1


def test_some_mortgages_and_pledges_above_their_ltv_limit(bank):
    """balance / collateral value > 0.70 for 抵押, > 0.90 for 质押; most below."""
    as_of = bank.as_ofs[-1]
    loans = ledger(bank, as_of).set_index("loan_id")
    value = read(bank, "collateral", as_of).groupby("loan_id")["value"].sum()
    ltv = loans["balance"] / value.reindex(loans.index)
    mortgage = loans["guarantee_type"] == "抵押"
    pledge = loans["guarantee_type"] == "质押"
    assert set(loans["guarantee_type"]) == {"抵押", "质押", "保证", "信用"}
    assert (mortgage & (ltv > 0.70)).sum() >= 1
    assert (pledge & (ltv > 0.90)).sum() >= 1
    assert (mortgage & (ltv > 0.70)).sum() < 0.10 * mortgage.sum()
    assert (pledge & (ltv > 0.90)).sum() < 0.25 * pledge.sum()
    # every secured loan has its collateral in the file
    assert ltv[mortgage | pledge].notna().all()


def test_some_guarantors_are_customers_with_an_overdue_loan(bank):
    as_of = bank.as_ofs[-1]
    loans = ledger(bank, as_of)
    guarantees = read(bank, "guarantees", as_of)
    customers = set(read(bank, "customers")["customer_id"])
    overdue = set(loans.loc[loans["overdue_days"] > 0, "customer_id"])
    assert set(guarantees["guarantor_id"]) <= customers
    bad = guarantees["guarantor_id"].isin(overdue)
    assert 1 <= bad.sum() < 0.10 * len(guarantees)
    # nobody guarantees their own loan, and a loan keeps its guarantor from month to month
    borrower = guarantees["loan_id"].map(loans.set_index("loan_id")["customer_id"])
    assert (guarantees["guarantor_id"] != borrower).all()
    before = read(bank, "guarantees", bank.as_ofs[0]).set_index("loan_id")["guarantor_id"]
    after = guarantees.set_index("loan_id")["guarantor_id"]
    both = before.index.intersection(after.index)
    assert len(both) > 100
    assert (before[both] == after[both]).all()


def test_bureau_has_npl_elsewhere_and_lender_counts(bank):
    as_of = bank.as_ofs[-1]
    with bank.path("bureau", as_of).open(encoding="utf-8-sig") as file:
        assert file.readline().strip().split(",") == [
            "客户号",
            "他行逾期90天以上占比",
            "他行授信机构数",
        ]
    bureau = pd.read_csv(bank.path("bureau", as_of), dtype={"客户号": str})
    share, lenders = bureau["他行逾期90天以上占比"], bureau["他行授信机构数"]
    assert 1 <= (share > 0).sum() < 0.15 * len(bureau)
    assert 1 <= (lenders >= 3).sum() < 0.25 * len(bureau)
    assert (lenders >= 0).all()


def test_some_companies_keep_little_of_their_credit_line_on_deposit(bank):
    """Non-retail customers with a live loan: deposits / credit line < 0.20 for a few."""
    customers = read(bank, "customers").set_index("customer_id")
    live = set(ledger(bank, bank.as_ofs[2])["customer_id"])  # 2024-03-31, a quarter end
    companies = customers[customers["customer_type"].isin(["企业", "小微企业"])]
    companies = companies[companies.index.isin(live)]
    assert len(companies) >= 50
    assert (companies["credit_line"] > 0).all()
    low = companies["deposit_balance"] / companies["credit_line"] < 0.20
    assert 1 <= low.sum() < 0.20 * len(companies)
    # a company's credit line covers what it owes here
    owed = ledger(bank, bank.as_ofs[2]).groupby("customer_id")["balance"].sum()
    assert (companies["credit_line"] >= owed.reindex(companies.index)).all()


def test_one_or_two_large_borrowers_above_a_tenth_of_net_capital(bank):
    capital = read(bank, "capital")
    (net_capital,) = capital["net_capital"]
    loans = ledger(bank, bank.as_ofs[-1])
    # net capital is 11 % of the last month's book, written-off loans included
    book = read(bank, "loans", bank.as_ofs[-1])["balance"].sum()
    assert net_capital == pytest.approx(0.11 * book, abs=0.01)
    by_customer = loans.groupby("customer_id")["balance"].sum()
    assert (by_customer > 0.10 * net_capital).sum() >= 2


def test_large_borrowers_are_few_in_a_larger_bank(tmp_path):
    """At 10 000 loans a few borrowers (the two made large, and a company or so with several
    loans) hold over a tenth of the net capital; none over a fifth."""
    bank = generate_bank(tmp_path, loans=10_000, months=1, seed=1)
    (net_capital,) = read(bank, "capital")["net_capital"]
    by_customer = ledger(bank, bank.as_ofs[0]).groupby("customer_id")["balance"].sum()
    assert 2 <= (by_customer > 0.10 * net_capital).sum() <= 5
    assert by_customer.max() < 0.20 * net_capital


def test_an_officers_book_surges_in_the_last_month(bank):
    """Grew by more than 30 % and by more than 1 000 000 yuan from March to April."""
    march, april = (ledger(bank, as_of) for as_of in bank.as_ofs[-2:])
    before = march.groupby("manager_id")["balance"].sum()
    after = april.groupby("manager_id")["balance"].sum().reindex(before.index, fill_value=0)
    surged = (after > 1.30 * before) & (after - before > 1_000_000)
    assert 1 <= surged.sum() < 0.10 * len(before)


def test_renewals_and_extensions_of_loans_overdue_the_month_before(bank):
    renewed_overdue = extended_overdue = 0
    for previous, as_of in zip(bank.as_ofs, bank.as_ofs[1:], strict=False):
        before = ledger(bank, previous).set_index("loan_id")
        now = ledger(bank, as_of).set_index("loan_id")
        renewal = now[now["prior_loan_id"] != ""]
        was_overdue = renewal["prior_loan_id"].map(before["overdue_days"]) > 0
        renewed_overdue += int(was_overdue.sum())
        kept = now.index.intersection(before.index)
        newly_extended = (now.loc[kept, "extended_maturity_date"] != "") & (
            before.loc[kept, "extended_maturity_date"] == ""
        )
        extended_overdue += int((newly_extended & (before.loc[kept, "overdue_days"] > 0)).sum())
    assert renewed_overdue >= 1
    assert extended_overdue >= 1


@pytest.mark.slow
def test_a_closed_generated_bank_publishes_every_signal_code(tmp_path):
    """1 500 loans, February and March 2024 imported and closed: the March close (a quarter
    end, with February's close before it) publishes every code of SPEC §6, and none but the
    maturity notices on more than a tenth of the live loans."""
    bank = generate_bank(
        tmp_path / "files", loans=1_500, months=2, seed=1, start=dt.date(2024, 2, 29)
    )
    data = tmp_path / "data"
    for as_of in bank.as_ofs:
        import_as_of(data, as_of, bank.files(as_of))
        run_close(data, as_of)
    march = bank.as_ofs[-1]
    assert march == dt.date(2024, 3, 31)
    counts = Counter(row["code"] for row in Lake(data).read("signals", march).to_pylist())
    assert set(counts) == set(SIGNALS)
    live = len(ledger(bank, march))
    for code, count in counts.items():
        if code not in ("MAT3M", "MAT1M"):
            assert count < 0.10 * live, (code, count, live)
