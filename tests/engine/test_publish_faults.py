"""An import or close killed (SIGKILL) at any step of its publish leaves the data directory
as it was or as the uninterrupted run leaves it, never anything in between; the next
writer clears what the killed one left."""

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys

import pytest

from helpers import snapshot, write_ledger, write_orgs
from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake

JAN, FEB = dt.date(2024, 1, 31), dt.date(2024, 2, 29)
STEPS = ("staged", "built", "placed", "switched")  # lake.fault_point names, in order


def reader_view(data) -> tuple:
    """What a reader sees: the lake's files, the dates in both logs, history's partitions
    (the run ids in its paths and the logs' times differ from run to run)."""
    lake = Lake(data)
    history = sorted(
        str(p.relative_to(lake.base / "history").parent.parent)
        for p in (lake.base / "history").rglob("part-0.parquet")
    )
    return (
        snapshot(lake.root),
        [e["as_of"] for e in lake.import_log()],
        [e["as_of"] for e in lake.close_log()],
        history,
    )


def loanquality(data, command, *args, env=None):
    """``loanquality <command> --data-dir <data> <args>`` in a process of its own."""
    argv = [sys.executable, "-m", "loanquality.cli", command, "--data-dir", data, *args]
    return subprocess.run(
        list(map(str, argv)), capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def killed_at(step, data, *args):
    killed = loanquality(data, *args, env={"LOANQUALITY_FAULT_AT": step})
    assert killed.returncode == -signal.SIGKILL, killed.stderr


@pytest.fixture
def january(tmp_path):
    """A data directory with January imported, and the files to import."""
    files = {
        "loans": write_ledger(tmp_path / "in" / "loans.csv"),
        "orgs": write_orgs(tmp_path / "in" / "orgs.csv"),
    }
    import_as_of(tmp_path / "data", JAN, files)
    return tmp_path / "data", files


def finished_copy(data, tmp_path, *args):
    """The data directory as the same command leaves it when nothing interrupts it."""
    reference = tmp_path / "reference"
    shutil.copytree(data, reference, symlinks=True)
    done = loanquality(reference, *args)
    assert done.returncode == 0, done.stderr
    return reader_view(reference)


def assert_old_or_new(data, step, before, after):
    view = reader_view(data)
    assert view == (after if step == "switched" else before)
    # the next writer clears the staging folder and any version never switched to
    with Lake(data).writing("next", JAN):
        pass
    assert not list(data.glob(".staging-*"))
    assert len(list((data / ".versions").iterdir())) <= 2
    assert reader_view(data) == view


@pytest.mark.parametrize("step", STEPS)
def test_an_import_killed_at_each_step(tmp_path, january, step):
    # given
    data, files = january
    args = ("import", "--as-of", FEB, "--loans", files["loans"], "--orgs", files["orgs"])
    before, after = reader_view(data), finished_copy(data, tmp_path, *args)
    assert before != after
    # when
    killed_at(step, data, *args)
    # then
    assert_old_or_new(data, step, before, after)


@pytest.mark.parametrize("step", STEPS)
def test_a_reimport_killed_at_each_step(tmp_path, january, step):
    """A re-import moves the date's partitions to history: killed, they are all still in
    the lake, or all in history with the new ones in the lake."""
    # given
    data, files = january
    args = ("import", "--as-of", JAN, "--loans", files["loans"], "--orgs", files["orgs"])
    before, after = reader_view(data), finished_copy(data, tmp_path, *args)
    assert after[3] == ["loans/as_of=2024-01-31", "orgs/as_of=2024-01-31"]
    # when
    killed_at(step, data, *args)
    # then
    assert_old_or_new(data, step, before, after)


@pytest.mark.parametrize("step", STEPS)
def test_a_close_killed_at_each_step(tmp_path, january, step):
    # given
    data, _ = january
    args = ("close", "--as-of", JAN)
    before, after = reader_view(data), finished_copy(data, tmp_path, *args)
    assert sorted({k.split("/")[0] for k in after[0]}) == [
        "classified",
        "loans",
        "metrics",
        "migration",
        "orgs",
        "signals",
    ]
    # when
    killed_at(step, data, *args)
    # then
    assert_old_or_new(data, step, before, after)
