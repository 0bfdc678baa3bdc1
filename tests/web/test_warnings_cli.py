"""``loanquality warnings sync``: the newest close's signals into cases from the command
line (a close does it itself; this catches up), as the OS user, once."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys


def warnings_cli(*args: str, data_dir) -> subprocess.CompletedProcess:
    """The group in its own process (not yet in loanquality.cli.GROUPS), the audit key
    beside the data dir."""
    hidden = ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in hidden and "_AUDIT_" not in k}
    env["SECRET_KEY"] = "warnings-cli-test"
    env["LOANQUALITY_AUDIT_KEY_FILE"] = str(data_dir.parent / "audit.key")
    command = [sys.executable, "-m", "loanquality.cli", "warnings", *args]
    return subprocess.run(
        [*command, "--data-dir", str(data_dir)], env=env, capture_output=True, text=True
    )


def test_sync_opens_the_newest_closes_cases_once(bank_dir, tmp_path):
    # given a bank the engine closed alone (no hook ran: no case yet)
    data_dir = tmp_path / "data"
    shutil.copytree(bank_dir, data_dir, symlinks=True)
    # when synced twice
    first = warnings_cli("sync", data_dir=data_dir)
    second = warnings_cli("sync", data_dir=data_dir)
    # then the first opens the cases, the second finds nothing to do
    assert first.returncode == 0, first.stderr
    assert "预警入案 synced" in first.stdout
    assert "新立案 opened 0," not in first.stdout
    assert second.returncode == 0, second.stderr
    assert "预警已是最新" in second.stdout
