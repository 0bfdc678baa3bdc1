"""Latency of the dashboard and of a loan search on a built demo bank, against the login page.

    loanquality demo --data-dir demo-data --no-serve     # once: 50 000 loans, 24 months
    python benchmarks/web_bench.py --data-dir demo-data [--requests 50] [--json OUT]

Starts ``loanquality serve`` (gunicorn, 2 workers) on a free port, logs in as the
bank-wide demo risk manager (the largest scope), then times, one request at a time:
the dashboard, a search by customer name and by loan id, the loan list (NPL sorted by
overdue days; a filtered list's fifth page), the NPL list's Excel export, 我的待办, the
warning list (first page; overdue cases), and the login page (the peer: a page that reads
no data). Reports p50/p95 in milliseconds and the ratio to the peer.

    python benchmarks/web_bench.py --data-dir benchmarks/out/fast-10000000 --pages warnings \
        --username bench_risk --password loanquality-bench   # after api_bench.py made the user
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import duckdb


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@contextlib.contextmanager
def serving(data_dir: Path):
    """``loanquality serve`` (gunicorn, 2 workers) on a free port; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    command = ["serve", "--data-dir", str(data_dir), "--port", str(port)]
    server = subprocess.Popen(
        [sys.executable, "-m", "loanquality.cli", *command],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def latencies(results: dict[str, list[float]], peer: str) -> dict:
    """p50/p95 in milliseconds of each request kind, and p50 against the peer's median."""
    middle = statistics.median(results[peer])
    return {
        name: {
            "p50_ms": round(percentile(times, 0.5), 1),
            "p95_ms": round(percentile(times, 0.95), 1),
            "p50_to_peer": round(percentile(times, 0.5) / middle, 1),
        }
        for name, times in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("demo-data"))
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--username", default="demo_risk")
    parser.add_argument("--password", default="loanquality-demo")
    parser.add_argument("--pages", choices=("all", "warnings"), default="all")
    args = parser.parse_args()

    with serving(args.data_dir) as base:
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        for _ in range(600):  # the server collects its static files first
            try:
                login_page = opener.open(base + "/login/").read().decode()
                break
            except OSError:
                time.sleep(0.2)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
        form = {
            "csrfmiddlewaretoken": token,
            "username": args.username,
            "password": args.password,
        }
        request = urllib.request.Request(
            base + "/login/", urllib.parse.urlencode(form).encode(), headers={"Referer": base}
        )
        opener.open(request).read()

        latest = sorted((args.data_dir / "lake" / "classified").iterdir())[-1]
        sample = duckdb.sql(
            f"SELECT customer_name, loan_id FROM '{latest}/part-0.parquet' USING SAMPLE 200"
        ).fetchall()
        random.seed(1)

        def timed(path_for) -> list[float]:
            opener.open(base + path_for()).read()  # warm-up
            times = []
            for _ in range(args.requests):
                start = time.perf_counter()
                opener.open(base + path_for()).read()
                times.append((time.perf_counter() - start) * 1000)
            return times

        name = lambda: "/search/?q=" + urllib.parse.quote(random.choice(sample)[0][:2])  # noqa: E731
        loan = lambda: "/search/?q=" + urllib.parse.quote(random.choice(sample)[1])  # noqa: E731
        results = {
            "login_page (peer)": timed(lambda: "/login/"),
            "inbox": timed(lambda: "/inbox/"),
            "warning_list": timed(lambda: "/warnings/"),
            "warning_list_overdue": timed(lambda: "/warnings/?overdue=1"),
        }
        if args.pages == "all":
            results |= {
                "dashboard": timed(lambda: "/"),
                "search_by_name": timed(name),
                "search_by_loan_id": timed(loan),
                "loan_list_npl_by_overdue": timed(lambda: "/loans/?kind=npl&sort=-overdue"),
                "loan_list_filtered_page_5": timed(
                    lambda: "/loans/?guarantee=" + urllib.parse.quote("保证") + "&page=5"
                ),
                "npl_export_xlsx": timed(lambda: "/loans/export.xlsx?kind=npl"),
            }
    report = latencies(results, "login_page (peer)")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
