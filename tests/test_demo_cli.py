"""``loanquality demo`` builds a bank, closes every month and creates one user per role."""

import os
import subprocess
import sys

from loanquality.engine.lake import Lake


def run_demo(data_dir):
    env = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }
    env["SECRET_KEY"] = "demo-test"
    command = [sys.executable, "-m", "loanquality.cli", "demo", "--data-dir", str(data_dir)]
    sizes = ["--loans", "1500", "--months", "2", "--no-serve"]
    return subprocess.run([*command, *sizes], env=env, capture_output=True, text=True, check=True)


def test_demo_builds_closes_and_creates_a_user_per_role(tmp_path):
    first = run_demo(tmp_path / "demo")
    assert len(Lake(tmp_path / "demo").as_ofs("metrics")) == 2
    for username in (
        "demo_officer",
        "demo_risk",
        "demo_credit_dept",
        "demo_director",
        "demo_auditor",
        "demo_admin",
    ):
        assert username in first.stdout
    # a second run reuses the bank and the users
    second = run_demo(tmp_path / "demo")
    assert "演示数据已存在" in second.stdout
    assert "demo_officer" in second.stdout
