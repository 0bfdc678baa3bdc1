"""One served bank for every browser test: a generated bank imported and closed twice,
a user of each role, ``loanquality serve`` on a free port, and Debian's Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from browsing import ARTIFACTS, PASSWORD
from loanquality.engine.close import run_close
from loanquality.engine.ingest import import_as_of
from loanquality.synth.generator import generate_bank

CHROMIUM = Path("/usr/bin/chromium")
# username, role, org, staff id: one of each role (the officer manages loans of L0101)
USERS = (
    ("risk", "credit_dept", "L0000", ""),
    ("officer", "officer", "L0101", ""),
    ("analyst", "risk", "L0000", ""),
    ("director", "director", "L0100", ""),
    ("auditor", "auditor", "L0000", ""),
    ("admin", "admin", "L0000", ""),
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loanquality(*args: str, env: dict) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "loanquality.cli", *args]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True)


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The base address and the folder holding the data dir (``data``)."""
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian's chromium is not installed: run `make install` (apt-get install chromium)"
        )
    root = tmp_path_factory.mktemp("e2e")
    data = root / "data"
    bank = generate_bank(root / "files", loans=1_500, months=2, seed=3)
    for as_of in bank.as_ofs:
        import_as_of(data, as_of, bank.files(as_of), user="e2e")
        run_close(data, as_of, user="e2e")
    env = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }
    env["SECRET_KEY"] = "e2e-only"
    env["LOANQUALITY_AUDIT_KEY_FILE"] = str(root / "audit.key")
    for name, role, org, staff_id in USERS:
        staff = ["--staff-id", staff_id] if staff_id else []
        loanquality(
            "user", "add", name, "--data-dir", str(data), "--password", PASSWORD,
            "--role", role, "--org", org, *staff, env=env,
        )  # fmt: skip
    port = free_port()
    # a file, not a pipe: nobody reads the log while the tests run, and a full pipe
    # (64 KB of access log) would stop the server mid-session
    log = (root / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "loanquality.cli", "serve", "--data-dir", str(data),
         "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):  # a minute: on a loaded 2-core machine the start takes over 20 s
        try:
            urllib.request.urlopen(base + "/login/", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the server did not start: " + (root / "server.log").read_text())
    yield base, root
    process.terminate()
    process.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()
