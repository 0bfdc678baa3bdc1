"""The synthetic bank: deterministic, plausible, and every file imports as it is."""

import datetime as dt

import duckdb
import pytest

from helpers import snapshot
from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake
from loanquality.engine.schema import IMPORT_TABLES
from loanquality.synth.generator import generate_bank


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    """A 4 000-loan bank over twelve months, every month imported."""
    root = tmp_path_factory.mktemp("bank")
    bank = generate_bank(root / "files", loans=4_000, months=12, seed=7)
    for as_of in bank.as_ofs:
        import_as_of(root / "data", as_of, bank.files(as_of))
    con = duckdb.connect()
    con.sql(
        f"CREATE VIEW loans AS SELECT * FROM read_parquet("
        f"'{root}/data/lake/loans/*/*.parquet', hive_partitioning=true)"
    )
    con.sql(
        f"CREATE VIEW repayments AS SELECT * FROM read_parquet("
        f"'{root}/data/lake/repayments/*/*.parquet', hive_partitioning=true)"
    )
    return bank, con


def one(con, sql):
    return con.sql(sql).fetchall()[0][0]


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    a = generate_bank(tmp_path / "a", loans=500, months=2, seed=3)
    b = generate_bank(tmp_path / "b", loans=500, months=2, seed=3)
    c = generate_bank(tmp_path / "c", loans=500, months=2, seed=4)
    assert snapshot(a.out) == snapshot(b.out)
    assert snapshot(a.out) != snapshot(c.out)


def test_every_month_imported_with_every_table(year):
    bank, _ = year
    lake = Lake(bank.out.parent / "data")
    assert lake.as_ofs("loans") == bank.as_ofs
    assert bank.as_ofs[0] == dt.date(2024, 1, 31)
    assert bank.as_ofs[-1] == dt.date(2024, 12, 31)
    assert set(bank.files(bank.as_ofs[0])) == set(IMPORT_TABLES)
    for table in IMPORT_TABLES:
        assert lake.as_ofs(table) == bank.as_ofs, table


def test_a_county_lianshe_of_about_twenty_coops(year):
    bank, _ = year
    orgs = Lake(bank.out.parent / "data").read("orgs", bank.as_ofs[0]).to_pylist()
    roots = [o for o in orgs if o["parent_id"] is None]
    coops = [o for o in orgs if o["parent_id"] == roots[0]["org_id"]]
    assert len(roots) == 1
    assert len(coops) == 20
    for coop in coops:
        outlets = [o for o in orgs if o["parent_id"] == coop["org_id"]]
        assert 3 <= len(outlets) <= 6


def test_mostly_farmer_loans(year):
    _, con = year
    share = one(
        con,
        "SELECT avg((customer_type = 'farmer')::int) FROM loans WHERE as_of = DATE '2024-12-31'",
    )
    assert 0.70 <= share <= 0.90


def test_npl_ratio_in_a_sane_band(year):
    """Balance overdue more than 90 days, on-balance and not written off, is 0.5 %–15 %."""
    _, con = year
    ratio = one(
        con,
        """
        SELECT sum(CASE WHEN greatest(principal_overdue_days, interest_overdue_days) > 90
                        THEN balance ELSE 0 END) / sum(balance)
        FROM loans WHERE as_of = DATE '2024-12-31' AND NOT written_off AND NOT off_balance""",
    )
    assert 0.005 <= ratio <= 0.15


def test_stress_is_masked_by_extension_renewal_and_kinder_bank_categories(year):
    _, con = year
    last = "as_of = DATE '2024-12-31'"
    assert (
        one(con, f"SELECT count(*) FROM loans WHERE {last} AND extended_maturity_date IS NOT NULL")
        > 0
    )
    assert one(con, f"SELECT count(*) FROM loans WHERE {last} AND restructure_date IS NOT NULL") > 0
    assert one(con, f"SELECT count(*) FROM loans WHERE {last} AND written_off") > 0
    # a renewal repays a loan that was on the previous month's ledger
    assert (
        one(
            con,
            """
        SELECT count(*) FROM loans n JOIN loans o
          ON o.loan_id = n.prior_loan_id AND o.as_of = DATE '2024-11-30'
        WHERE n.as_of = DATE '2024-12-31'""",
        )
        > 0
    )
    # some loans 90+ days overdue are reported by the bank as better than 次级
    assert (
        one(
            con,
            f"""
        SELECT count(*) FROM loans WHERE {last} AND NOT written_off AND bank_category < 3
          AND greatest(principal_overdue_days, interest_overdue_days) > 90""",
        )
        > 0
    )


def test_collections_peak_after_the_autumn_harvest(year):
    _, con = year
    by_quarter = dict(
        con.sql("""
        SELECT quarter(date), sum(principal_paid + interest_paid) FROM repayments
        WHERE kind = '清收' GROUP BY 1""").fetchall()
    )
    assert by_quarter[4] > 1.5 * by_quarter[2]


def test_some_officers_are_clearly_worse(year):
    _, con = year
    rates = [
        r[0]
        for r in con.sql("""
        SELECT avg((greatest(principal_overdue_days, interest_overdue_days) > 0)::int)
        FROM loans WHERE as_of = DATE '2024-12-31' AND NOT written_off
        GROUP BY manager_id HAVING count(*) >= 20 ORDER BY 1""").fetchall()
    ]
    median = rates[len(rates) // 2]
    assert rates[-1] > 2 * median


@pytest.mark.parametrize("file_format", ["xlsx", "parquet"])
def test_xlsx_and_parquet_banks_import_as_they_are(tmp_path, file_format):
    """The same bank written as CSV and as ``file_format`` imports to the same lake."""
    bank = generate_bank(tmp_path / "files", loans=300, months=1, seed=2, file_format=file_format)
    as_csv = generate_bank(tmp_path / "csv", loans=300, months=1, seed=2)
    (as_of,) = bank.as_ofs
    result = import_as_of(tmp_path / "data", as_of, bank.files(as_of))
    expected = import_as_of(tmp_path / "csv-data", as_of, as_csv.files(as_of))
    assert set(result.rows) == set(IMPORT_TABLES)
    assert result.rows == expected.rows
    # every loan of the CSV ledger (one line each, below the header) is in the lake
    with as_csv.path("loans", as_of).open(encoding="utf-8-sig") as ledger:
        assert result.rows["loans"] == sum(1 for _ in ledger) - 1
    ours, theirs = Lake(tmp_path / "data"), Lake(tmp_path / "csv-data")
    for table in IMPORT_TABLES:
        assert ours.read(table, as_of).equals(theirs.read(table, as_of)), table
