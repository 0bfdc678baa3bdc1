"""The lake: all-or-nothing publish, history on re-import, raw files with checksums, org trees."""

import datetime as dt
import hashlib
import json

import pyarrow.parquet as pq
import pytest

from helpers import LEDGER_ROWS, snapshot, write_ledger, write_orgs
from loanquality.engine import lake as lake_module
from loanquality.engine.ingest import ROOT_ORG_ID, import_as_of
from loanquality.engine.lake import Lake
from loanquality.engine.problems import InputRejected

JAN, FEB = dt.date(2024, 1, 31), dt.date(2024, 2, 29)


@pytest.fixture
def files(tmp_path):
    return {
        "loans": write_ledger(tmp_path / "in" / "loans.csv"),
        "orgs": write_orgs(tmp_path / "in" / "orgs.csv"),
    }


def test_import_publishes_one_partition_per_table(tmp_path, files):
    # when
    result = import_as_of(tmp_path / "data", JAN, files, user="tester")
    # then
    lake = Lake(tmp_path / "data")
    assert lake.as_ofs("loans") == [JAN]
    assert lake.read("loans", JAN).column("loan_id").to_pylist() == ["L001", "L002", "L003"]
    assert lake.read("orgs", JAN).num_rows == 3
    assert result.rows == {"loans": 3, "orgs": 3}
    assert (tmp_path / "data/lake/loans/as_of=2024-01-31/part-0.parquet").exists()


def test_raw_files_are_kept_and_the_log_has_their_checksums(tmp_path, files):
    result = import_as_of(tmp_path / "data", JAN, files, user="tester")
    kept = tmp_path / "data" / "raw" / "as_of=2024-01-31" / result.import_id / "loans.csv"
    assert kept.read_bytes() == files["loans"].read_bytes()
    [entry] = Lake(tmp_path / "data").import_log()
    assert entry["user"] == "tester"
    assert entry["as_of"] == "2024-01-31"
    loans = next(f for f in entry["files"] if f["table"] == "loans")
    assert loans["sha256"] == hashlib.sha256(files["loans"].read_bytes()).hexdigest()
    assert loans["rows"] == 3


def test_reimport_replaces_the_date_and_keeps_the_old_partition_in_history(tmp_path, files):
    # given: January imported with three loans
    data = tmp_path / "data"
    first = import_as_of(data, JAN, files)
    old_bytes = (data / "lake/loans/as_of=2024-01-31/part-0.parquet").read_bytes()
    # when: January is imported again with only the first loan
    files["loans"] = write_ledger(tmp_path / "in2" / "loans.csv", LEDGER_ROWS[:1])
    second = import_as_of(data, JAN, files)
    # then
    lake = Lake(data)
    assert lake.read("loans", JAN).column("loan_id").to_pylist() == ["L001"]
    kept = data / "history/loans/as_of=2024-01-31" / second.import_id / "part-0.parquet"
    assert kept.read_bytes() == old_bytes
    assert sorted(second.replaced) == ["loans", "orgs"]
    assert [e["import_id"] for e in lake.import_log()] == [first.import_id, second.import_id]
    assert lake.import_log()[1]["replaced"] == second.replaced


def test_a_failure_while_writing_leaves_the_data_directory_byte_identical(
    tmp_path, files, monkeypatch
):
    # given: January imported
    data = tmp_path / "data"
    import_as_of(data, JAN, files)
    before = snapshot(data)
    # when: the second table's write fails during a re-import
    calls = []
    real_write = pq.write_table

    def failing_write(table, where, **kwargs):
        calls.append(where)
        if len(calls) == 2:
            raise OSError("disk full")
        real_write(table, where, **kwargs)

    monkeypatch.setattr(lake_module.pq, "write_table", failing_write)
    with pytest.raises(OSError, match="disk full"):
        import_as_of(data, JAN, files)
    # then
    assert snapshot(data) == before
    assert not list(data.glob(".staging-*"))


def test_a_failure_while_renaming_rolls_back_the_moves_already_made(tmp_path, files, monkeypatch):
    # given
    data = tmp_path / "data"
    import_as_of(data, JAN, files)
    before = snapshot(data)
    # when: the fourth rename fails, after old partitions were moved to history
    real_rename = lake_module.Path.rename
    count = {"n": 0}

    def failing_rename(self, target):
        count["n"] += 1
        if count["n"] == 4:
            raise OSError("rename failed")
        return real_rename(self, target)

    monkeypatch.setattr(lake_module.Path, "rename", failing_rename)
    with pytest.raises(OSError, match="rename failed"):
        import_as_of(data, JAN, files)
    monkeypatch.undo()
    # then
    assert snapshot(data) == before
    assert not (data / "history").exists()


def test_rejected_input_changes_not_one_byte(tmp_path, files):
    data = tmp_path / "data"
    import_as_of(data, JAN, files)
    before = snapshot(data)
    bad = [["L001", "C001", "农户", "B01", "oops", "2024-01-05", "2025-01-05", "正常", "否"]]
    files["loans"] = write_ledger(tmp_path / "bad" / "loans.csv", bad)
    with pytest.raises(InputRejected):
        import_as_of(data, FEB, files)
    assert snapshot(data) == before


def test_without_an_org_table_the_ledger_orgs_become_flat_units(tmp_path, files):
    result = import_as_of(tmp_path / "data", JAN, {"loans": files["loans"]})
    orgs = Lake(tmp_path / "data").read("orgs", JAN).to_pylist()
    assert {o["org_id"]: o["parent_id"] for o in orgs} == {
        ROOT_ORG_ID: None,
        "B01": ROOT_ORG_ID,
        "B02": ROOT_ORG_ID,
    }
    assert any("未提供机构表" in w for w in result.warnings)
    assert json.loads((tmp_path / "data/import_log.jsonl").read_text())["orgs_source"] == (
        "synthesized"
    )


def test_an_org_table_given_earlier_is_inherited_and_enforced(tmp_path, files):
    # given: January imported with the org tree
    data = tmp_path / "data"
    import_as_of(data, JAN, files)
    # when: February comes without one
    import_as_of(data, FEB, {"loans": files["loans"]})
    # then: January's tree applies, and an org outside it is an error
    assert Lake(data).read("orgs", FEB).column("org_id").to_pylist() == ["HQ", "B01", "B02"]
    bad = [["L001", "C001", "农户", "B99", "1", "2024-01-05", "2025-01-05", "正常", "否"]]
    with pytest.raises(InputRejected, match="B99"):
        import_as_of(data, FEB, {"loans": write_ledger(tmp_path / "b" / "loans.csv", bad)})
