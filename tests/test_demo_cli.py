"""``loanquality demo`` builds a bank, closes every month and creates one user per role,
saying each step also when its output is not a terminal; the server it starts says what to
do when its port is taken and stops cleanly on SIGTERM."""

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from loanquality.demo import demo_months
from loanquality.engine.lake import Lake


def environment() -> dict:
    env = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }
    env["SECRET_KEY"] = "demo-test"
    return env


def run_demo(data_dir):
    command = [sys.executable, "-m", "loanquality.cli", "demo", "--data-dir", str(data_dir)]
    sizes = ["--loans", "1500", "--months", "2", "--no-serve"]
    return subprocess.run(
        [*command, *sizes], env=environment(), capture_output=True, text=True, check=True
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo") / "demo"
    return data_dir, run_demo(data_dir)


def serve(data_dir, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "loanquality.cli", "serve", "--data-dir", str(data_dir)]
    return subprocess.Popen(
        [*command, "--port", str(port), "--workers", "1"],
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_demo_builds_closes_and_creates_a_user_per_role(demo):
    data_dir, first = demo
    assert len(Lake(data_dir).as_ofs("metrics")) == 2
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
    second = run_demo(data_dir)
    assert "演示数据已存在" in second.stdout
    assert "demo_officer" in second.stdout


def test_without_a_terminal_the_demo_says_each_month_it_imports_and_closes(demo):
    """Two months: 2 imports + 2 closes = 4 steps, one line each (captured, no terminal)."""
    _, first = demo
    steps = [line for line in first.stderr.splitlines() if line.startswith("[") and "/4]" in line]
    before_last, last = demo_months(2, dt.date.today())
    assert [s.split(" (")[0] for s in steps] == [
        f"[1/4] 导入 imported {before_last}",
        f"[2/4] 结账 closed {before_last}",
        f"[3/4] 导入 imported {last}",
        f"[4/4] 结账 closed {last}",
    ]


def test_a_taken_port_is_said_with_what_to_do(demo):
    data_dir, _ = demo
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = serve(data_dir, port)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 2
    assert f"port {port} on 127.0.0.1 is in use" in output
    assert f"端口 {port} 已被占用" in output
    assert f"make demo PORT={port + 1}" in output


def test_the_server_stops_cleanly_on_sigterm(demo):
    # given a server answering
    data_dir, _ = demo
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = serve(data_dir, port)
    for _ in range(300):  # a minute: a loaded machine starts it slowly
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        pytest.fail("the server did not answer within a minute")
    # when it is sent SIGTERM (as systemd or a container stops it)
    server.send_signal(signal.SIGTERM)
    output, _ = server.communicate(timeout=30)
    # then it exits 0 and no worker died of a signal
    assert server.returncode == 0, output
    assert "SIGSEGV" not in output
    assert "Shutting down: Master" in output
