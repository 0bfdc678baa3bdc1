"""The same engine code gives the same answers on DuckDB and on PySpark."""

import pytest

from backends import bind, on_both, run_on, spark
from loanquality.engine.backends import connect
from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake
from loanquality.engine.problems import InputRejected
from loanquality.engine.sources import lake_table
from loanquality.engine.summary import ledger_summary
from loanquality.synth.generator import generate_bank


def test_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown engine"):
        connect("oracle")


@pytest.mark.spark
def test_ledger_summary_is_identical_on_duckdb_and_pyspark(tmp_path):
    # given: a generated bank of three months
    bank = generate_bank(tmp_path / "files", loans=1_500, months=3, seed=5)
    for as_of in bank.as_ofs:
        import_as_of(tmp_path / "data", as_of, bank.files(as_of))
    lake = Lake(tmp_path / "data")
    # when
    result = on_both(lambda con: ledger_summary(lake_table(con, lake, "loans")), ["as_of"])
    # then: one row per month, and the count matches the lake's own rows
    assert list(result["as_of"].astype(str)) == [d.isoformat() for d in bank.as_ofs]
    on_balance = [
        sum(
            1
            for r in lake.read("loans", d).to_pylist()
            if not r["written_off"] and not r["off_balance"]
        )
        for d in bank.as_ofs
    ]
    assert list(result["loan_count"]) == on_balance


@pytest.mark.spark
def test_classification_is_identical_on_duckdb_and_pyspark(tmp_path):
    """Two generated months: February classified with January's result as ``previous``,
    every input a table of the connection that runs it."""
    from loanquality.engine.classify import classify
    from loanquality.engine.convert import LINE
    from loanquality.engine.dpd import with_overdue_days
    from loanquality.engine.ingest import read_input
    from loanquality.engine.rules import load_ruleset

    bank = generate_bank(tmp_path / "files", loans=2_000, months=2, seed=11)
    rules = load_ruleset()

    def month(con, as_of, previous=None):
        t = {
            name: bind(con, read_input(bank.path(name, as_of), name).data.drop_columns([LINE]))
            for name in ("loans", "schedules", "repayments", "bureau")
        }
        return classify(
            with_overdue_days(t["loans"], as_of, t["schedules"], t["repayments"]),
            as_of,
            rules,
            previous=previous,
            bureau=t["bureau"],
            schedules=t["schedules"],
        )

    jan, feb = bank.as_ofs
    duck = connect("duckdb")
    january = run_on(duck, month(duck, jan))
    ran_on = []

    def february(con):
        expr = month(con, feb, bind(con, january))
        ran_on.append(expr._find_backend().name)
        return expr

    result = on_both(february, ["loan_id"])
    # each pass ran on its own backend: the second really on Spark
    assert ran_on == ["duckdb", "pyspark"]
    assert spark()._session.sparkContext.master == "local[2]"
    # the bank is large enough that the interesting rules fire
    reasons = set(";".join(result["reasons"]).split(";"))
    assert {"OD1", "OD90", "OD360", "EXT", "RNW", "UPG"} <= reasons


@pytest.mark.spark
def test_close_is_identical_on_duckdb_and_pyspark(tmp_path):
    """Two generated months closed on each engine: same classified loans, same metrics."""
    import shutil

    import pandas as pd

    from loanquality.engine.close import run_close

    bank = generate_bank(tmp_path / "files", loans=1_500, months=2, seed=12)
    for as_of in bank.as_ofs:
        import_as_of(tmp_path / "duck", as_of, bank.files(as_of))
    shutil.copytree(tmp_path / "duck", tmp_path / "spark", symlinks=True)
    for engine in ("duckdb", "pyspark"):
        folder = tmp_path / ("duck" if engine == "duckdb" else "spark")
        for as_of in bank.as_ofs:
            assert run_close(folder, as_of, engine=engine).engine == engine
    for table, keys in (
        ("classified", ["loan_id"]),
        ("metrics", ["group_by", "key"]),
        ("migration", ["group_by", "key", "from_category", "to_state"]),
    ):
        frames = [
            Lake(tmp_path / folder)
            .read(table, bank.as_ofs[-1])
            .to_pandas()
            .sort_values(keys)
            .reset_index(drop=True)
            for folder in ("duck", "spark")
        ]
        pd.testing.assert_frame_equal(frames[0], frames[1], check_dtype=False, rtol=1e-9)
        if table == "metrics":  # the red lines are compared on figures, not only on nulls
            assert frames[0]["npl_ratio_above_redline"].notna().any()


def test_duckdb_memory_is_capped_by_the_environment(monkeypatch):
    """2GB (decimal, 2·10⁹ bytes) is what DuckDB reports as 1.8 GiB (2·10⁹ / 2³⁰ = 1.86)."""
    monkeypatch.setenv("LOANQUALITY_DUCKDB_MEMORY", "2GB")
    con = connect("duckdb")
    assert con.raw_sql("SELECT current_setting('memory_limit')").fetchall() == [("1.8 GiB",)]


def test_duckdb_cores_are_capped_by_the_environment(monkeypatch):
    monkeypatch.setenv("LOANQUALITY_DUCKDB_THREADS", "1")
    con = connect("duckdb")
    assert con.raw_sql("SELECT current_setting('threads')").fetchall() == [(1,)]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LOANQUALITY_DUCKDB_THREADS", "0"),
        ("LOANQUALITY_DUCKDB_THREADS", "two"),
        ("LOANQUALITY_DUCKDB_MEMORY", "lots"),
        ("LOANQUALITY_DUCKDB_MEMORY", "5GB'; SET threads = 1; --"),
    ],
)
def test_a_bad_duckdb_setting_is_rejected_in_both_languages(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(InputRejected) as rejected:
        connect("duckdb")
    assert f"{variable} value '{value}': not a valid setting" in str(rejected.value)
    assert "取值无效" in str(rejected.value)
