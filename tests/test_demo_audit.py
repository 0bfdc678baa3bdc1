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
            "WHERE action IN ('import', 'close') ORDER BY seq"
        ).fetchall()
    # the demo's two month ends, the last before today
    before_last, last = (d.isoformat() for d in demo_months(2, dt.date.today()))
    assert runs == [
        ("demo", "import", before_last),
        ("demo", "close", before_last),
        ("demo", "import", last),
        ("demo", "close", last),
    ]
    verified = subprocess.run(
        [*command, "audit", "verify", "--data-dir", str(data_dir)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr
