"""Latency of the API on a large closed lake: indicators and loan searches, p50/p95.

    python benchmarks/fast_lake.py --loans 10000000 && python benchmarks/close_bench.py ...
    python benchmarks/api_bench.py --data-dir benchmarks/out/fast-10000000 [--requests 200]

Adds a bank-wide risk user to the data dir (once), starts ``loanquality serve`` (gunicorn,
2 workers) on a free port, takes a bearer token, then times one request at a time, each
``--requests`` times: ``GET /api/v1/indicators`` (the total and every org's row),
``GET /api/v1/loans?q=`` with a loan id and with part of a customer's name (a search over
every loan of the latest close), the warning cases (``GET /api/v1/warnings``: the first page
of the bank, its overdue cases, one org's), the latest close's signals (``GET
/api/v1/signals``) and ``GET /api/v1/closes`` (the peer: reads no lake data).
Reports p50/p95 in milliseconds and p50 against the peer.

Before serving, the newest close's signals are synced into cases and overdue ones
escalated (what the close's after-close hook does, or the first read after it), so that no
timed request carries that one-off work.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import duckdb
from web_bench import latencies, serving

USER, PASSWORD = "bench_risk", "loanquality-bench"


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    command = [sys.executable, "-m", "loanquality.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


SYNC = """
import sys
from pathlib import Path
from loanquality.common.runtime import open_database
open_database(Path(sys.argv[1]))
from loanquality.warnings.sync import ensure_synced, escalate_overdue
print("warnings synced:", ensure_synced(), "escalated:", escalate_overdue())
"""


def sync_warnings(data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    command = [sys.executable, "-c", SYNC, str(data_dir)]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    head_office = duckdb.sql(
        f"SELECT org_id FROM '{args.data_dir}/lake/orgs/*/*.parquet' WHERE parent_id IS NULL"
    ).fetchone()[0]
    added = cli(
        *("user", "add", USER, "--data-dir", str(args.data_dir), "--password", PASSWORD),
        *("--role", "risk", "--org", head_office),
    )
    if added.returncode not in (0, 2):  # 2: the user is there from an earlier run
        sys.exit(added.stderr)
    synced = sync_warnings(args.data_dir)
    if synced.returncode != 0:
        sys.exit(synced.stderr)
    print(synced.stdout.strip(), file=sys.stderr)

    with serving(args.data_dir) as server:
        base = server + "/api/v1"
        credentials = json.dumps({"username": USER, "password": PASSWORD}).encode()
        for _ in range(600):  # collectstatic runs first: a minute on a busy machine
            try:
                request = urllib.request.Request(
                    base + "/auth/token", credentials, {"Content-Type": "application/json"}
                )
                token = json.loads(urllib.request.urlopen(request).read())["token"]
                break
            except OSError:
                time.sleep(0.2)
        else:
            sys.exit(f"loanquality serve did not answer at {base} within 120 s")
        headers = {"Authorization": f"Bearer {token}"}

        latest = sorted((args.data_dir / "lake" / "classified").iterdir())[-1]
        sample = duckdb.sql(
            f"SELECT customer_name, loan_id FROM '{latest}/part-0.parquet' USING SAMPLE 200"
        ).fetchall()
        random.seed(1)

        def get(path: str) -> bytes:
            request = urllib.request.Request(base + path, headers=headers)
            return urllib.request.urlopen(request).read()

        def timed(path_for) -> list[float]:
            get(path_for())  # warm-up
            times = []
            for _ in range(args.requests):
                path = path_for()
                start = time.perf_counter()
                get(path)
                times.append((time.perf_counter() - start) * 1000)
            return times

        def by_name() -> str:
            return "/loans?q=" + urllib.parse.quote(random.choice(sample)[0][:4])

        def by_loan_id() -> str:
            return "/loans?q=" + urllib.parse.quote(random.choice(sample)[1])

        orgs = [
            row[0]
            for row in duckdb.sql(
                f"SELECT DISTINCT org_id FROM '{latest}/part-0.parquet' ORDER BY org_id"
            ).fetchall()
        ]

        def warnings_of_an_org() -> str:
            return "/warnings?limit=50&org=" + urllib.parse.quote(random.choice(orgs))

        results = {
            "closes (peer)": timed(lambda: "/closes"),
            "indicators": timed(lambda: "/indicators?by=total&by=org"),
            "loans_by_loan_id": timed(by_loan_id),
            "loans_by_name": timed(by_name),
            "warnings": timed(lambda: "/warnings?limit=50"),
            "warnings_overdue": timed(lambda: "/warnings?limit=50&overdue=true"),
            "warnings_of_an_org": timed(warnings_of_an_org),
            "signals": timed(lambda: "/signals?limit=50"),
        }
    report = {
        "loans": duckdb.sql(f"SELECT count(*) FROM '{latest}/part-0.parquet'").fetchone()[0],
        "requests": args.requests,
        **latencies(results, "closes (peer)"),
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
