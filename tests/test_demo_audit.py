"""The demo imports and closes through the engine directly; each of its months is still in
the audit log, as the operator ``demo``, and the chain verifies."""

import datetime as dt
import os
import sqlite3
import subprocess
import sys

from loanquality.demo import demo_months


def test_every_demo_month_is_audited(tmp_path):
    env = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }
    env["SECRET_KEY"] = "demo-audit-test"
    env["LOANQUALITY_AUDIT_KEY_FILE"] = str(tmp_path / "audit.key")
    data_dir = tmp_path / "demo"
    command = [sys.executable, "-m", "loanquality.cli"]
    subprocess.run(
        [*command, "demo", "--data-dir", str(data_dir), "--loans", "300", "--months", "2",
         "--no-serve"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    with sqlite3.connect(data_dir / "loanquality.sqlite3") as db:
        runs = db.execute(
            "SELECT username, action, target FROM audit_auditentry "
            "WHERE action IN ('import', 'close', 'warning.sync') ORDER BY seq"
        ).fetchall()
    # the demo's two month ends, the last before today, each close's signals into cases
    before_last, last = (d.isoformat() for d in demo_months(2, dt.date.today()))
    assert runs == [
        ("demo", "import", before_last),
        ("demo", "close", before_last),
        ("demo", "warning.sync", before_last),
        ("demo", "import", last),
        ("demo", "close", last),
        ("demo", "warning.sync", last),
    ]
    # each month's cases open as if it were closed three days after its end (not later
    # than today): 2026-10-31 -> 2026-11-03, 2026-11-30 -> 2026-12-01 on 2026-12-01
    today = dt.date.today()
    closed_on = {
        min(dt.date.fromisoformat(d) + dt.timedelta(days=3), today).isoformat()
        for d in (before_last, last)
    }
    with sqlite3.connect(data_dir / "loanquality.sqlite3") as db:
        opened = {day for (day,) in db.execute("SELECT DISTINCT opened_on FROM warnings_case")}
    assert opened == closed_on
    verified = subprocess.run(
        [*command, "audit", "verify", "--data-dir", str(data_dir)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
