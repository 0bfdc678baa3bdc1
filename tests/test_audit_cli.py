"""``loanquality audit verify`` on a real data directory: intact, then an edited row, a
deleted row, deleted last rows and a forged row, each named (exit 1), as a DBA with the
SQLite file might tamper; a key readable by others or lost is a clear error (exit 2)."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import sqlite3
import subprocess
import sys

import pytest

from loanquality.engine.ingest import import_as_of
from loanquality.engine.lake import Lake
from loanquality.synth.generator import generate_bank


def loanquality(*args: str, data_dir, env=None) -> subprocess.CompletedProcess:
    """The command, with the audit key in a file beside (not inside) the data dir."""
    hidden = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    given = env or {}
    env = {k: v for k, v in os.environ.items() if k not in hidden and "_AUDIT_" not in k}
    env["SECRET_KEY"] = "audit-cli-test"
    env["LOANQUALITY_AUDIT_KEY_FILE"] = str(data_dir.parent / "audit.key")
    env.update(given)
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


def copied(audited, tmp_path):
    """A copy of the data dir, and of the key beside it."""
    data_dir = tmp_path / "data"
    shutil.copytree(audited, data_dir, symlinks=True)
    shutil.copy2(audited.parent / "audit.key", tmp_path / "audit.key")
    return data_dir


def tampered(audited, tmp_path, sql: str, params=()):
    data_dir = copied(audited, tmp_path)
    with sqlite3.connect(data_dir / "loanquality.sqlite3") as db:
        db.execute("DROP TRIGGER audit_no_update")
        db.execute("DROP TRIGGER audit_no_delete")
        db.execute(sql, params)
    return data_dir


def test_an_intact_log_verifies(audited):
    """Three audited changes: three MAC'd rows, three heads in the checkpoint, and the key
    made on the first change (64 hex digits, mode 0600)."""
    result = loanquality("audit", "verify", data_dir=audited)
    assert result.returncode == 0, result.stderr
    assert "audit log intact: 3 entries" in result.stdout
    assert len((audited / "audit_checkpoint.jsonl").read_text().splitlines()) == 3
    key = audited.parent / "audit.key"
    assert (key.stat().st_mode & 0o777, len(key.read_text().strip())) == (0o600, 64)


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


def test_deleting_the_last_row_is_named(audited, tmp_path):
    data_dir = tampered(audited, tmp_path, "DELETE FROM audit_auditentry WHERE seq = 3")
    result = loanquality("audit", "verify", data_dir=data_dir)
    assert result.returncode == 1
    assert "broken at entry #3" in result.stderr
    assert "第 3 条审计记录缺失（从末尾被删除）" in result.stderr


def test_a_forged_row_appended_is_named(audited, tmp_path):
    """Row 4 copied from row 3 (a user 'created'), linked to it and hashed with SHA-256."""
    with sqlite3.connect(audited / "loanquality.sqlite3") as db:
        row = db.execute(
            "SELECT at, username, action, org_id, detail, hash FROM audit_auditentry WHERE seq = 3"
        ).fetchone()
    forged = "INSERT INTO audit_auditentry (seq, at, user_id, username, action, target, org_id, "
    forged += "detail, prev_hash, hash) VALUES (4, ?, NULL, ?, ?, 'mallory', ?, ?, ?, ?)"
    data_dir = tampered(audited, tmp_path, forged, (*row, "0" * 64))
    result = loanquality("audit", "verify", data_dir=data_dir)
    assert result.returncode == 1
    assert "broken at entry #4" in result.stderr
    assert "第 4 条审计记录写入后被修改或伪造" in result.stderr


@pytest.mark.parametrize("command", [["audit", "verify"], ["serve", "--port", "0"]])
def test_a_key_others_can_read_is_refused_in_both_languages(audited, tmp_path, command):
    """``serve`` refuses it before it starts, not with a 500 at the first audited change."""
    data_dir = copied(audited, tmp_path)
    (tmp_path / "audit.key").chmod(0o644)
    result = loanquality(*command, data_dir=data_dir)
    assert result.returncode == 2
    assert "can be read by others (mode 0644)" in result.stderr
    assert "可被他人读取" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_lost_key_is_refused_rather_than_replaced(audited, tmp_path):
    """The checkpoint exists, so a new key would make every row look forged: exit 2."""
    data_dir = copied(audited, tmp_path)
    (tmp_path / "audit.key").unlink()
    for command in (["audit", "verify"], ["user", "disable", "alice"]):
        result = loanquality(*command, data_dir=data_dir)
        assert result.returncode == 2, command
        assert "is missing, but the audit log has a checkpoint" in result.stderr
        assert "缺失，但审计日志已有检查点" in result.stderr
    assert not (tmp_path / "audit.key").exists()


def test_a_password_reset_is_audited_and_the_log_still_verifies(audited, tmp_path):
    data_dir = copied(audited, tmp_path)
    reset = loanquality(
        "user", "password", "bob", "--password", "a-new-long-password-2", data_dir=data_dir
    )
    assert reset.returncode == 0, reset.stderr
    assert "接口令牌已全部撤销" in reset.stdout
    result = loanquality("audit", "verify", data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "audit log intact: 4 entries" in result.stdout


def test_a_checkpoint_that_cannot_be_written_stops_the_server_before_it_starts(audited, tmp_path):
    """Heads that cannot be appended would let a deleted tail pass verify unnoticed."""
    data_dir = copied(audited, tmp_path)
    (tmp_path / "a-file").write_text("not a folder")
    env = {"LOANQUALITY_AUDIT_CHECKPOINT": str(tmp_path / "a-file" / "checkpoint")}
    result = loanquality("serve", "--port", "0", data_dir=data_dir, env=env)
    assert result.returncode == 2
    assert "the audit checkpoint" in result.stderr
    assert "审计检查点" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_checkpoint_can_be_appended_only_to_a_file_in_a_folder(tmp_path):
    """The data dir need not exist yet (the WSGI module checks before it is made)."""
    from loanquality.audit.actions import _can_append

    (tmp_path / "a-file").write_text("not a folder")
    assert _can_append(tmp_path / "data" / "audit_checkpoint.jsonl")
    assert not _can_append(tmp_path / "a-file" / "audit_checkpoint.jsonl")
    assert not _can_append(tmp_path)  # a folder where the file should be


def test_imports_and_closes_run_from_the_command_line_are_audited_as_the_os_user(tmp_path):
    """The engine never touches the audit log: the command records the run once the engine
    has returned, as the OS user, on the legal entity (L0000), and the chain still verifies."""
    bank = generate_bank(tmp_path / "files", loans=100, months=1, seed=5)
    as_of = bank.as_ofs[0]
    files = [f"--{table}={path}" for table, path in bank.files(as_of).items()]
    data_dir = tmp_path / "data"
    imported = loanquality("import", "--as-of", str(as_of), *files, data_dir=data_dir)
    assert imported.returncode == 0, imported.stderr
    closed = loanquality("close", "--as-of", str(as_of), data_dir=data_dir)
    assert closed.returncode == 0, closed.stderr
    with sqlite3.connect(data_dir / "loanquality.sqlite3") as db:
        rows = db.execute(
            "SELECT seq, username, action, target, org_id, detail FROM audit_auditentry"
        ).fetchall()
    assert [row[:5] for row in rows] == [
        (1, getpass.getuser(), "import", str(as_of), "L0000"),
        (2, getpass.getuser(), "close", str(as_of), "L0000"),
        # the close's signals into warning cases, by the close's after-close hook
        (3, getpass.getuser(), "warning.sync", str(as_of), "L0000"),
    ]
    # the same runs as the lake's own logs name them
    lake = Lake(data_dir)
    import_detail, close_detail = (json.loads(row[5]) for row in rows[:2])
    assert (import_detail["via"], import_detail["import_id"]) == (
        "cli",
        lake.import_log()[0]["import_id"],
    )
    assert (close_detail["via"], close_detail["close_id"]) == (
        "cli",
        lake.close_log()[0]["close_id"],
    )
    assert close_detail["rows"]["classified"] == import_detail["rows"]["loans"]
    verified = loanquality("audit", "verify", data_dir=data_dir)
    assert "audit log intact: 3 entries" in verified.stdout


def test_a_refused_first_import_still_leaves_no_data_dir(tmp_path):
    """Recording happens only after the engine returns: nothing opens the database first."""
    bad = tmp_path / "loans.csv"
    bad.write_text("借据号\nX1\n", encoding="utf-8")
    refused = loanquality("import", "--as-of", "2024-01-31", "--loans", str(bad),
                          data_dir=tmp_path / "data")  # fmt: skip
    assert refused.returncode == 2
    assert not (tmp_path / "data").exists()


def test_the_command_line_unlocks_disables_and_enables_through_the_audited_actions(
    audited, tmp_path
):
    data_dir = copied(audited, tmp_path)
    with sqlite3.connect(data_dir / "loanquality.sqlite3") as db:
        db.execute(
            "UPDATE accounts_user SET locked_until = '2999-01-01 00:00:00', failed_logins = 5"
            " WHERE username = 'alice'"
        )
    for command in ("unlock", "disable", "enable"):
        done = loanquality("user", command, "alice", data_dir=data_dir)
        assert done.returncode == 0, done.stderr
    with sqlite3.connect(data_dir / "loanquality.sqlite3") as db:
        user = db.execute(
            "SELECT locked_until, failed_logins, is_active FROM accounts_user"
            " WHERE username = 'alice'"
        ).fetchone()
        actions = db.execute("SELECT action FROM audit_auditentry WHERE seq > 3").fetchall()
    assert user == (None, 0, 1)
    assert [a for (a,) in actions] == ["user.unlock", "user.disable", "user.enable"]
    assert loanquality("audit", "verify", data_dir=data_dir).returncode == 0


@pytest.mark.parametrize("command", ["import", "close"])
def test_an_import_or_close_the_audit_could_not_record_is_refused_first(audited, tmp_path, command):
    """A key readable by others: refused before the engine runs (exit 2), the lake's logs
    as they were, rather than published and then left out of the audit log."""
    data_dir = copied(audited, tmp_path)
    (tmp_path / "audit.key").chmod(0o644)
    lake = Lake(data_dir)
    as_of = lake.as_ofs("loans")[0]
    before = (lake.import_log(), lake.close_log())
    loans = audited.parent / "files" / str(as_of) / "loans.csv"
    given = ["--loans", str(loans)] if command == "import" else []
    refused = loanquality(command, "--as-of", str(as_of), *given, data_dir=data_dir)
    assert refused.returncode == 2
    assert "可被他人读取" in refused.stderr
    assert (lake.import_log(), lake.close_log()) == before
