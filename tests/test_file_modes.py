"""The data directory holds the bank's loans, users and audit log: whatever the command line
or the web server writes there is its user's alone (files 0600, folders 0700)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers import write_ledger, write_orgs

USUAL_UMASK = 0o022  # most shells: new files world-readable unless the program says otherwise


def loanquality(*args) -> subprocess.CompletedProcess:
    return _python("-m", "loanquality.cli", *map(str, args))


def _python(*args: str) -> subprocess.CompletedProcess:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }
    env["SECRET_KEY"] = "file-modes-test"
    result = subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, umask=USUAL_UMASK
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _open_to_others(root: Path) -> dict[str, str]:
    """Every file or folder under ``root`` (itself included) that its group or others may
    read, write or enter, with its mode. Links carry no mode of their own; the copies of the
    imported files under raw/ are the lake's own (their content, not their mode)."""
    found = [root, *root.rglob("*")]
    return {
        str(p.relative_to(root)): oct(p.stat().st_mode & 0o777)
        for p in found
        if not p.is_symlink() and p.stat().st_mode & 0o077
    }


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_a_new_data_directory_is_private_to_its_user(tmp_path):
    # given a shell whose umask lets everyone read new files
    data = tmp_path / "data"
    ledger, orgs = write_ledger(tmp_path / "loans.csv"), write_orgs(tmp_path / "orgs.csv")
    # when a month is imported and closed and a user added, all from the command line
    loanquality("import", "--data-dir", data, "--as-of", "2024-01-31", "--loans", ledger,
                "--orgs", orgs)  # fmt: skip
    loanquality("close", "--data-dir", data, "--as-of", "2024-01-31")
    loanquality("user", "add", "zhang", "--data-dir", data, "--password", "a-long-password-1",
                "--role", "credit_dept", "--org", "HQ")  # fmt: skip
    # then nothing in the data directory is open to anyone else
    assert _open_to_others(data) == {}
    assert _mode(data / "loanquality.sqlite3") == 0o600
    assert _mode(data / "lake") == 0o700


def test_an_existing_database_is_made_private_when_opened(tmp_path):
    # given a data directory and database an older version left readable by everyone
    data = tmp_path / "data"
    data.mkdir()
    loanquality("user", "list", "--data-dir", data)  # creates the database
    (data / "loanquality.sqlite3").chmod(0o644)
    data.chmod(0o755)
    # when a command opens the database
    loanquality("user", "list", "--data-dir", data)
    # then the database is the user's alone, and the folder shuts out everyone else
    assert (_mode(data / "loanquality.sqlite3"), _mode(data)) == (0o600, 0o700)


def test_the_wsgi_application_writes_private_files(tmp_path):
    """A server started as ``gunicorn loanquality.web.wsgi`` (not through the CLI)."""
    # given the production settings pointed at a data directory
    settings = (
        "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'loanquality.web.settings';"
        f"os.environ['LOANQUALITY_DATA_DIR'] = {str(tmp_path / 'data')!r};"
    )
    # when the WSGI module is loaded, and asked for the umask it left
    result = _python("-c", settings + "import loanquality.web.wsgi; print(oct(os.umask(0)))")
    # then the process creates files for its own user only
    assert result.stdout.strip() == "0o77"
