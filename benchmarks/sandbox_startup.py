"""Sandbox start-up times, measured through the real CLI (issue: cold <= 30 s, warm <= 5 s on 2 cores).

    .venv/bin/python benchmarks/sandbox_startup.py [--runs N]

Uses its own state directory and ports, so it never touches your sandbox. Prints one row per
scenario: cold (nothing on disk: initdb, seed 516,600 rows, clone the replica), warm (data kept,
processes stopped), idempotent (already up), and a fault switch (up --fault replica_lag, then up).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

STATE_DIR = "/tmp/nbaverify-bench"
PORT_BASE = "23430"  # below the ephemeral port range (32768+), like every sandbox
ENV = {**os.environ, "NBAVERIFY_SANDBOX_DIR": STATE_DIR, "NBAVERIFY_SANDBOX_PORT_BASE": PORT_BASE}


def cli(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nbaverify.cli", "sandbox", *args], env=ENV, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="repetitions of each scenario (default 3)")
    runs = parser.parse_args().runs
    times: dict[str, list[float]] = {"cold (first up, empty state dir)": [], "warm (down, then up)": [],
                                     "idempotent (up when already up)": [], "fault switch (up --fault replica_lag)": [],
                                     "fault back off (up)": []}
    for _ in range(runs):
        cli("down")
        shutil.rmtree(STATE_DIR, ignore_errors=True)
        times["cold (first up, empty state dir)"].append(cli("up"))
        cli("down")
        times["warm (down, then up)"].append(cli("up"))
        times["idempotent (up when already up)"].append(cli("up"))
        times["fault switch (up --fault replica_lag)"].append(cli("up", "--fault", "replica_lag"))
        times["fault back off (up)"].append(cli("up"))
    cli("down", "--purge")
    print(f"nbaverify sandbox, {os.cpu_count()} cores, {runs} run(s) each, through the CLI (includes Python start-up)")
    print(f"{'scenario':40} {'median':>8} {'max':>8}")
    for name, values in times.items():
        print(f"{name:40} {statistics.median(values):7.2f}s {max(values):7.2f}s")


if __name__ == "__main__":
    main()
