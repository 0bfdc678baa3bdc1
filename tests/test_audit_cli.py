"""``loanquality audit verify`` on a real data directory: intact, then an edited row and a
deleted row, each named (exit 1), as a DBA with the SQLite file might tamper."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from loanquality.engine.ingest import import_as_of
from loanquality.synth.generator import generate_bank


def loanquality(*args: str, data_dir) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }
    env["SECRET_KEY"] = "audit-cli-test"
    command = [sys.executable, "-m", "loanquality.cli", *args, "--data-dir", str(data_dir)]
    return subprocess.run(command, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """A data dir whose audit log has three rows: two users created, one moved."""
    root = tmp_path_factory.mktemp("audit-cli")
    bank = generate_bank(root / "files", loans=100, months=1, seed=5)
    import_as_of(root / "data", bank.as_ofs[0], bank.files(bank.as_ofs[0]), user="tests")
    for name in ("alice", "bob"):
        made = loanquality(
            "user", "add", name, "--password", "a-long-password-1", "--role", "officer",
            "--org", "L0101", data_dir=root / "data",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
    moved = loanquality("user", "change", "bob", "--role", "risk", data_dir=root / "data")
    assert moved.returncode == 0, moved.stderr
    return root / "data"


def tampered(audited, tmp_path, sql: str):
    data_dir = tmp_path / "data"
    shutil.copytree(audited, data_dir, symlinks=True)
    with sqlite3.connect(data_dir / "loanquality.sqlite3") as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute(sql)
    return data_dir


def test_an_intact_log_verifies(audited):
    result = loanquality("audit", "verify", data_dir=audited)
    assert result.returncode == 0, result.stderr
    assert "audit log intact: 3 entries" in result.stdout


def test_an_edited_row_is_named(audited, tmp_path):
    data_dir = tampered(
        audited, tmp_path, "UPDATE audit_auditentry SET detail = '{}' WHERE seq = 3"
    )
    result = loanquality("audit", "verify", data_dir=data_dir)
    assert result.returncode == 1
    assert "broken at entry #3" in result.stderr
    assert "第 3 条审计记录写入后被修改" in result.stderr


def test_a_deleted_row_is_named(audited, tmp_path):
    data_dir = tampered(audited, tmp_path, "DELETE FROM audit_auditentry WHERE seq = 2")
    result = loanquality("audit", "verify", data_dir=data_dir)
    assert result.returncode == 1
    assert "broken at entry #2" in result.stderr
    assert "缺失" in result.stderr
