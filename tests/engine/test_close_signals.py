"""Every close publishes its early-warning signals with the rest of the close (SPEC §6):
the ``signals`` partition, counted in the close log; the same signals on DuckDB and on
PySpark; a failing signal step fails the close and leaves the lake as it was."""

import datetime as dt
import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from loanquality.engine import close as closing
from loanquality.engine.close import CLOSE_STEPS, CLOSE_TABLES, close_log, run_close
from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake
from loanquality.engine.signals import SIGNAL_COLUMNS, SIGNALS, officer
from loanquality.synth.generator import generate_bank

JAN, FEB, MAR = dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)
TYPES = {
    "code": pa.string(),
    "label": pa.string(),
    "severity": pa.int8(),
    "loan_id": pa.string(),
    "customer_id": pa.string(),
    "customer_name": pa.string(),
    "org_id": pa.string(),
    "manager_id": pa.string(),
    "value": pa.float64(),
    "threshold": pa.float64(),
    "evidence": pa.string(),
    "due_days": pa.int32(),
}


def loan(loan_id: str, **values) -> dict:
    row = {
        "loan_id": loan_id,
        "customer_id": "C-" + loan_id,
        "customer_name": "客户" + loan_id,
        "customer_type": "corporate",
        "org_id": "B01",
        "manager_id": "S1",
        "balance": 10_000.0,
        "issue_date": dt.date(2023, 1, 1),
        "maturity_date": dt.date(2030, 1, 1),
        "principal_overdue_days": 0,
        "interest_overdue_days": 0,
    }
    return row | values


def write(folder, name: str, rows: list[dict]) -> object:
    path = folder / f"{name}.parquet"
    columns = list(dict.fromkeys(k for r in rows for k in r))  # every row's keys, not the first's
    pq.write_table(pa.table({c: [r.get(c) for r in rows] for c in columns}), path)
    return path


def small_lake(root) -> object:
    """Two month ends of four loans, imported: February's picked to raise a few codes.

    - L1: due 2024-04-15, 46 days after 2024-02-29 (within 3 months, beyond 1): MAT3M;
    - L2: 0 days overdue in January, 20 in February: OVD_FIRST and DOWNGRADE (正常 -> 关注);
    - L3: 抵押, balance 80 000 on collateral worth 100 000: LTV 0.80 > 0.70, LTV_HIGH;
    - L4: written off in February: nothing, though it falls due within the month.
    """
    files = root / "files"
    files.mkdir()
    orgs = [
        {"org_id": "R", "org_name": "联社", "parent_id": None},
        {"org_id": "B01", "org_name": "甲社", "parent_id": "R"},
    ]
    months = {
        JAN: [loan("L1"), loan("L2"), loan("L3", guarantee_type="抵押", balance=80_000.0),
              loan("L4")],
        FEB: [
            loan("L1", maturity_date=dt.date(2024, 4, 15)),
            loan("L2", principal_overdue_days=20, overdue_principal=500.0),
            loan("L3", guarantee_type="抵押", balance=80_000.0),
            loan("L4", maturity_date=dt.date(2024, 3, 15), written_off=True),
        ],
    }  # fmt: skip
    collateral = [{"collateral_id": "Y3", "loan_id": "L3", "type": "存单", "value": 100_000.0,
                   "appraisal_date": dt.date(2024, 1, 15)}]  # fmt: skip
    data = root / "data"
    for as_of, loans in months.items():
        folder = files / as_of.isoformat()
        folder.mkdir()
        import_as_of(
            data,
            as_of,
            {
                "loans": write(folder, "loans", loans),
                "orgs": write(folder, "orgs", orgs),
                "collateral": write(folder, "collateral", collateral),
            },
        )
    return data


def codes_of(table: pa.Table) -> list[tuple[str, str]]:
    return sorted(zip(table["code"].to_pylist(), table["loan_id"].to_pylist(), strict=True))


def test_a_close_publishes_its_signals_and_counts_them(tmp_path):
    # given two imported month ends
    data = small_lake(tmp_path)
    steps: list[str] = []
    # when both are closed
    run_close(data, JAN)
    result = run_close(data, FEB, progress=steps.append)
    # then February's signals are in the lake beside its other results
    lake = Lake(data)
    signals = lake.read("signals", FEB)
    assert {n: signals.schema.field(n).type for n in signals.column_names} == TYPES
    assert tuple(signals.column_names) == SIGNAL_COLUMNS
    assert codes_of(signals) == [
        ("DOWNGRADE", "L2"),
        ("LTV_HIGH", "L3"),
        ("MAT3M", "L1"),
        ("OVD_FIRST", "L2"),
    ]
    rows = {r["code"]: r for r in signals.to_pylist()}
    # 80 000 / 100 000 = 80 %; 2024-02-29 to 2024-04-15: 31 (March) + 15 = 46 days
    assert rows["LTV_HIGH"]["value"] == pytest.approx(0.8)
    # the rule set's 0.70 itself (DuckDB once made the literal 0.7000000000000001)
    assert rows["LTV_HIGH"]["threshold"] == 0.7
    assert rows["MAT3M"]["value"] == 46
    assert rows["MAT3M"]["evidence"] == "贷款将于2024-04-15到期，距报告日46天（监测期限3个月）"
    assert rows["MAT3M"]["customer_name"] == "客户L1"
    # worst first: LTV_HIGH (3), then the 2s, then MAT3M (1)
    assert signals["severity"].to_pylist() == [3, 2, 2, 1]
    assert result.rows["signals"] == 4
    assert close_log(lake)[-1]["rows"]["signals"] == 4
    assert "预警信号 signals" in steps
    assert len(steps) == CLOSE_STEPS
    assert "signals" in CLOSE_TABLES
    # and January, the first close, has no previous close: no OVD_FIRST, no DOWNGRADE
    assert {c for c, _ in codes_of(lake.read("signals", JAN))} <= {"MAT3M", "MAT1M", "LTV_HIGH"}


def test_a_failing_signal_step_fails_the_close_and_leaves_the_previous_state(tmp_path, monkeypatch):
    # given February closed once
    data = small_lake(tmp_path)
    run_close(data, JAN)
    run_close(data, FEB)
    lake = Lake(data)
    before = {t: lake.read(t, FEB) for t in CLOSE_TABLES}
    log = close_log(lake)

    def broken(ctx):
        raise RuntimeError("officer family failed")

    monkeypatch.setattr(officer, "officer_signals", broken)
    # when closing it again fails in the signal step
    with pytest.raises(RuntimeError, match="officer family failed"):
        run_close(data, FEB)
    # then the lake holds the first close of February, untouched, and no new log line
    lake = Lake(data)
    assert close_log(lake) == log
    for table, published in before.items():
        assert lake.read(table, FEB).equals(published), table
    assert not list(data.glob(".staging-*"))


def test_a_close_without_side_tables_publishes_an_empty_signal_table_of_the_right_shape(
    tmp_path,
):
    files = tmp_path / "files"
    files.mkdir()
    data = tmp_path / "data"
    import_as_of(data, JAN, {"loans": write(files, "loans", [loan("L1")])})
    run_close(data, JAN)
    signals = Lake(data).read("signals", JAN)
    assert signals.num_rows == 0
    assert {n: signals.schema.field(n).type for n in signals.column_names} == TYPES


@pytest.mark.spark
def test_duckdb_and_pyspark_publish_the_same_signals_small(tmp_path):
    data = small_lake(tmp_path)
    run_close(data, JAN)
    run_close(data, FEB)
    on_duckdb = Lake(data).read("signals", FEB)
    run_close(data, FEB, engine="pyspark")
    on_spark = Lake(data).read("signals", FEB)
    assert on_spark.equals(on_duckdb)
    assert on_spark.num_rows == 4


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """The synthetic bank's February and March (a quarter end), imported and closed."""
    root = tmp_path_factory.mktemp("signals-bank")
    bank = generate_bank(root / "files", loans=2_000, months=2, seed=7, start=FEB)
    for as_of in bank.as_ofs:
        import_as_of(root / "data", as_of, bank.files(as_of))
    for as_of in bank.as_ofs:
        run_close(root / "data", as_of)
    return root / "data", bank.as_ofs


def test_the_generated_banks_signals_hold_together(generated):
    data, (_, march) = generated
    lake = Lake(data)
    signals = lake.read("signals", march).to_pylist()
    classified = {r["loan_id"]: r for r in lake.read("classified", march).to_pylist()}
    orgs = set(lake.read("orgs", march).column("org_id").to_pylist())
    assert signals
    subjects = set()
    for row in signals:
        assert row["code"] in SIGNALS
        assert row["label"] == SIGNALS[row["code"]][0]
        assert row["due_days"] == {3: 7, 2: 15, 1: 30}[row["severity"]]
        assert row["org_id"] in orgs
        assert row["evidence"]
        subject = (row["code"], row["loan_id"] or row["customer_id"] or row["manager_id"])
        assert subject not in subjects  # one row per (code, subject)
        subjects.add(subject)
        if row["loan_id"]:  # a loan-level signal is about a loan on the books
            loan = classified[row["loan_id"]]
            assert not loan["written_off"]
            assert loan["balance"] > 0
            assert (loan["customer_id"], loan["org_id"]) == (row["customer_id"], row["org_id"])
    # MAT3M by hand from the classified loans: live, not overdue, the (extended) maturity in
    # (2024-04-30, 2024-06-30] — March 31 plus one month is April 30, plus three June 30
    by_hand = sorted(
        loan_id
        for loan_id, r in classified.items()
        if not r["written_off"]
        and r["balance"] > 0
        and r["overdue_days"] == 0
        and dt.date(2024, 4, 30) < (r["extended_maturity_date"] or r["maturity_date"])
        and (r["extended_maturity_date"] or r["maturity_date"]) <= dt.date(2024, 6, 30)
    )
    assert by_hand
    assert sorted(r["loan_id"] for r in signals if r["code"] == "MAT3M") == by_hand


@pytest.mark.spark
@pytest.mark.slow
def test_duckdb_and_pyspark_publish_the_same_signals_for_the_generated_bank(generated, tmp_path):
    data, (_, march) = generated
    copy = tmp_path / "data"
    shutil.copytree(data, copy, symlinks=True)
    on_duckdb = Lake(copy).read("signals", march)
    run_close(copy, march, engine="pyspark")
    on_spark = Lake(copy).read("signals", march)
    assert on_spark.num_rows == on_duckdb.num_rows
    assert on_spark.equals(on_duckdb)


def test_close_steps_name_the_signal_step():
    assert closing.CLOSE_STEPS == 5
