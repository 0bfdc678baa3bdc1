"""The lake: all-or-nothing publish, history on re-import, raw files with checksums, org trees."""

import datetime as dt
import hashlib
import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from helpers import LEDGER_HEADER_ZH, LEDGER_ROWS, snapshot, write_csv, write_ledger, write_orgs
from loanquality.engine import lake as lake_module
from loanquality.engine.close import run_close
from loanquality.engine.ingest import ROOT_ORG_ID, import_as_of
from loanquality.engine.lake import PART_FILE, Lake
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
    second = import_as_of(data, JAN, files, replace_smaller=True)
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


def test_a_failure_at_the_switch_leaves_the_data_directory_byte_identical(
    tmp_path, files, monkeypatch
):
    """The switch of ``current`` is the one commit point: when it fails, nothing changed."""
    # given
    data = tmp_path / "data"
    import_as_of(data, JAN, files)
    before = snapshot(data)

    # when: the atomic rename that would switch versions fails
    def failing_replace(source, target):
        raise OSError("rename failed")

    monkeypatch.setattr(lake_module.os, "replace", failing_replace)
    with pytest.raises(OSError, match="rename failed"):
        import_as_of(data, FEB, files)
    monkeypatch.undo()
    # then: the version built aside is cleared by the next writer
    with Lake(data).writing("test", FEB):
        pass
    assert snapshot(data) == before
    assert Lake(data).as_ofs("loans") == [JAN]


def test_a_reader_keeps_reading_the_version_it_started_on(tmp_path, files):
    """A page whose query began before a re-import reads the old partition to its end, and
    the next reader sees the new one: never one file of each."""
    # given: January with three loans, and a reader that has found its files
    data = tmp_path / "data"
    import_as_of(data, JAN, files)
    found = sorted(Lake(data).root.glob(f"*/as_of=2024-01-31/{PART_FILE}"))
    # when: January is imported again with one loan
    files["loans"] = write_ledger(tmp_path / "one" / "loans.csv", LEDGER_ROWS[:1])
    import_as_of(data, JAN, files, replace_smaller=True)
    # then
    assert [pq.read_metadata(p).num_rows for p in found] == [3, 3]  # loans, orgs as found
    assert Lake(data).read("loans", JAN).num_rows == 1


def test_a_data_directory_written_before_versions_is_carried_over_whole(tmp_path, files):
    """Folders written by an earlier version of the program (plain lake/, history/, raw/
    and logs) become the first version at the next import; nothing in them is lost."""
    # given: January imported, then the data directory laid out as before versions
    data = tmp_path / "data"
    import_as_of(data, JAN, files)
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    for name in ("lake", "history", "raw", "import_log.jsonl"):
        source = data / name
        if source.is_dir():
            shutil.copytree(source, legacy / name)
        elif source.exists():
            shutil.copy(source, legacy / name)
    before = snapshot(legacy / "lake")
    # when: February is imported into it
    import_as_of(legacy, FEB, files)
    # then: January is as it was, February is there, the log has both
    lake = Lake(legacy)
    assert lake.as_ofs("loans") == [JAN, FEB]
    assert {k: v for k, v in snapshot(legacy / "lake").items() if "2024-01-31" in k} == before
    assert [e["as_of"] for e in lake.import_log()] == ["2024-01-31", "2024-02-29"]
    assert (legacy / "lake").is_symlink()
    assert not list(legacy.glob(".staging-*"))


def test_only_the_current_version_and_the_one_before_are_kept(tmp_path, files):
    # given / when: three imports
    data = tmp_path / "data"
    for as_of in (JAN, FEB, dt.date(2024, 3, 31)):
        import_as_of(data, as_of, files)
    # then: the versions of the second and third import remain, each complete
    versions = sorted((data / ".versions").iterdir())
    assert len(versions) == 2
    assert sorted(p.name for p in (versions[0] / "lake" / "loans").iterdir()) == [
        "as_of=2024-01-31",
        "as_of=2024-02-29",
    ]
    assert (data / "current").readlink() == Path(".versions") / versions[1].name


def test_an_import_is_refused_while_another_writer_holds_the_data_directory(tmp_path, files):
    """Imports and closes of one data directory exclude each other; the one refused says
    who holds it, in both languages, and writes nothing."""
    # given: January imported, and a close holding the data directory
    data = tmp_path / "data"
    import_as_of(data, JAN, files)
    before = snapshot(data)
    # when
    with Lake(data).writing("close", JAN), pytest.raises(InputRejected) as refused:
        import_as_of(data, FEB, files)
    # then
    (problem,) = refused.value.problems
    assert problem.english.startswith(
        f"another import or close is running on this data directory (close 2024-01-31, pid "
        f"{os.getpid()}, since "
    )
    assert problem.chinese.startswith(
        f"该数据目录正在进行另一项导入或结账（close 2024-01-31，进程 {os.getpid()}，开始于 "
    )
    assert snapshot(data) == before


def test_a_ledger_far_smaller_than_the_dates_is_refused_unless_meant(tmp_path, files):
    """Replacing 3 loans by 1 (1 < 50 % × 3 = 1.5) is refused; by 2 (2 ≥ 1.5) it is not;
    with ``replace_smaller`` even 1 is accepted."""
    # given
    data = tmp_path / "data"
    import_as_of(data, JAN, files)
    before = snapshot(data)
    # when / then: one loan of three is refused and nothing changes
    files["loans"] = write_ledger(tmp_path / "one" / "loans.csv", LEDGER_ROWS[:1])
    with pytest.raises(InputRejected, match="replace-smaller") as refused:
        import_as_of(data, JAN, files)
    assert "本次台账仅 1 笔，将替换 2024-01-31 已导入的 3 笔（不足 50%）" in str(refused.value)
    assert snapshot(data) == before
    # two of three is within the share; one of three is accepted when meant
    files["loans"] = write_ledger(tmp_path / "two" / "loans.csv", LEDGER_ROWS[:2])
    import_as_of(data, JAN, files)
    files["loans"] = write_ledger(tmp_path / "one" / "loans.csv", LEDGER_ROWS[:1])
    import_as_of(data, JAN, files, replace_smaller=True)
    assert Lake(data).read("loans", JAN).num_rows == 1


def test_an_empty_ledger_never_replaces_a_date_silently(tmp_path, files, monkeypatch):
    # given: January imported, and a share of 0 (any smaller ledger allowed)
    data = tmp_path / "data"
    import_as_of(data, JAN, files)
    monkeypatch.setenv("LOANQUALITY_REPLACE_MIN_SHARE", "0")
    files["loans"] = write_csv(tmp_path / "none" / "loans.csv", [LEDGER_HEADER_ZH])
    # when / then: a ledger of no rows is still refused
    with pytest.raises(InputRejected, match="has 0 loans"):
        import_as_of(data, JAN, files)
    assert Lake(data).read("loans", JAN).num_rows == 3


def test_replacing_a_closed_date_says_so_and_keeps_its_close_in_history(tmp_path, files):
    # given: January imported and closed
    data = tmp_path / "data"
    import_as_of(data, JAN, files)
    closed = run_close(data, JAN)
    # when
    result = import_as_of(data, JAN, files)
    # then
    assert any("该报告日已结账" in w for w in result.warnings)
    assert "classified" in result.replaced
    kept = data / "history/classified/as_of=2024-01-31" / result.import_id / "part-0.parquet"
    assert pq.read_metadata(kept).num_rows == closed.rows["classified"]
    assert not Lake(data).has("classified", JAN)


def test_rejected_input_changes_not_one_byte(tmp_path, files):
    data = tmp_path / "data"
    import_as_of(data, JAN, files)
    before = snapshot(data)
    bad = [["L001", "C001", "农户", "B01", "oops", "2024-01-05", "2025-01-05", "正常", "否"]]
    files["loans"] = write_ledger(tmp_path / "bad" / "loans.csv", bad)
    with pytest.raises(InputRejected, match="line 2 column balance value 'oops'") as refused:
        import_as_of(data, FEB, files)
    assert [(p.file, p.line, p.column, p.value) for p in refused.value.problems] == [
        ("loans.csv", 2, "balance", "oops")
    ]
    assert snapshot(data) == before


def test_without_an_org_table_the_ledger_orgs_become_flat_units(tmp_path, files):
    result = import_as_of(tmp_path / "data", JAN, {"loans": files["loans"]})
    orgs = Lake(tmp_path / "data").read("orgs", JAN).to_pylist()
    assert {o["org_id"]: o["parent_id"] for o in orgs} == {
        ROOT_ORG_ID: None,
        "B01": ROOT_ORG_ID,
        "B02": ROOT_ORG_ID,
    }
    assert result.warnings == [
        "no org table given: each org_id of the ledger becomes a unit under one root"
        " / 未提供机构表：台账中的机构号均作为总行下的一级机构"
    ]
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
