"""Kill imports and closes at random instants and check that no half state is ever seen.

    python benchmarks/fault_injection.py --loans 200000 --kills 50

A synthetic bank's months are imported and closed, re-imported and closed again, first
without interruption (the reference: what a reader must see after each step), then over
and over with ``loanquality import`` / ``close`` started as a process and killed with
SIGKILL at a random instant of its run (uniform over 1.2 × its uninterrupted duration, so
some runs finish first). After every kill the data directory must look, to a reader,
exactly as before the step or exactly as after it — the fingerprint of every lake
partition (row count and an order-independent hash of its rows) and the dates in both
logs. A step the kill interrupted is run again by the next trial until it completes, so
the last state is compared with the uninterrupted run's.

Prints one JSON object: kills, half_states (must be 0), final_equal (must be true).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from loanquality.engine.lake import PART_FILE, Lake
from loanquality.synth.generator import generate_bank

OUT = Path(__file__).parent / "out"


def steps_of(bank) -> list[tuple[str, ...]]:
    """Import and close every month in turn, then import the middle month again (every
    table of it replaced, its close to history) and close it and the month after again."""

    def imported(as_of):
        files = bank.files(as_of)
        return (
            "import",
            "--as-of",
            str(as_of),
            *[arg for table, path in files.items() for arg in (f"--{table}", str(path))],
        )

    def closed(as_of):
        return ("close", "--as-of", str(as_of))

    steps = [step for as_of in bank.as_ofs for step in (imported(as_of), closed(as_of))]
    middle = bank.as_ofs[len(bank.as_ofs) // 2]
    later = [d for d in bank.as_ofs if d > middle]
    return [*steps, imported(middle), closed(middle), *map(closed, later)]


def fingerprint(data: Path) -> dict:
    """What a reader sees, independent of row order and of run ids and times."""
    lake = Lake(data)
    con = duckdb.connect()
    seen = {}
    for part in sorted(lake.root.glob(f"*/as_of=*/{PART_FILE}")):
        columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM '{part}'").fetchall()]
        quoted = ", ".join(f'"{c}"' for c in columns)
        count, digest = con.execute(
            f"SELECT count(*), sum(hash({quoted})::HUGEINT) FROM '{part}'"
        ).fetchone()
        seen[str(part.relative_to(lake.root).parent)] = [count, str(digest)]
    con.close()
    # read as files, from the version a reader would see: the script also checks old code
    base = data / "current" if (data / "current").exists() else data
    for log in ("import_log", "close_log"):
        path = base / f"{log}.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        seen[log] = [json.loads(line)["as_of"] for line in lines if line]
    return seen


def start(data: Path, step: tuple[str, ...]) -> subprocess.Popen:
    command, *args = step
    return subprocess.Popen(
        [sys.executable, "-m", "loanquality.cli", command, "--data-dir", str(data), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(data: Path, step: tuple[str, ...]) -> float:
    began = time.perf_counter()
    process = start(data, step)
    _, errors = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(step)} failed: {errors}")
    return time.perf_counter() - began


def reference(data: Path, steps) -> tuple[list[dict], list[float]]:
    """The fingerprint before the first step and after each, and each step's duration."""
    views, durations = [fingerprint(data)], []
    for step in steps:
        durations.append(finish(data, step))
        views.append(fingerprint(data))
    return views, durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=200_000)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT / "faults")
    args = parser.parse_args()

    shutil.rmtree(args.out, ignore_errors=True)
    bank = generate_bank(args.out / "files", loans=args.loans, months=args.months, seed=args.seed)
    steps = steps_of(bank)
    views, durations = reference(args.out / "reference", steps)

    draw = random.Random(args.seed)
    data, done, kills, half_states, trials = args.out / "data", 0, 0, [], 0
    while kills < args.kills:
        if done == len(steps):  # every step made it: start the sequence again
            shutil.rmtree(data)
            done = 0
        process = start(data, steps[done])
        time.sleep(draw.uniform(0, 1.2 * durations[done]))
        process.send_signal(signal.SIGKILL)
        process.communicate()
        killed = process.returncode == -signal.SIGKILL
        kills += killed
        trials += 1
        seen = fingerprint(data)
        if seen == views[done + 1]:
            done += 1
        elif seen != views[done]:
            half_states.append({"step": " ".join(steps[done][:3]), "killed": killed})
    while done < len(steps):
        finish(data, steps[done])
        done += 1
    result = {
        "loans": args.loans,
        "steps": len(steps),
        "step_seconds": [round(d, 2) for d in durations],
        "trials": trials,
        "kills": kills,
        "half_states": len(half_states),
        "half_state_steps": half_states,
        "final_equal": fingerprint(data) == views[-1],
    }
    print(json.dumps(result, ensure_ascii=False, indent=1))
    if half_states or not result["final_equal"]:
        raise SystemExit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
