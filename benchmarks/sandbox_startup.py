"""Sandbox start-up times, measured through the real CLI (goals: warm up with the Kubernetes control
plane 20 s or less on 2 cores), and the control plane's resident memory.

    .venv/bin/python benchmarks/sandbox_startup.py [--runs N]

Uses its own state directory and ports, so it never touches your sandbox. Prints one row per
scenario: cold (nothing on disk: initdb, seed 516,600 rows, clone the replica, the cluster's
objects), warm (data kept, processes stopped), idempotent (already up), a fault switch (up --fault
replica_lag, then up), and as the anchor, in the same run, the warm start of the same sandbox
without Kubernetes (its binaries hidden: the sandbox starts without it and says so). Then the RSS of
each control-plane process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

STATE_DIR = "/tmp/nbaverify-bench"
PORT_BASE = "23430"  # below the ephemeral port range (32768+), like every sandbox
ENV = {**os.environ, "NBAVERIFY_SANDBOX_DIR": STATE_DIR, "NBAVERIFY_SANDBOX_PORT_BASE": PORT_BASE}
# nothing built there
NO_KUBERNETES = {**ENV, "NBAVERIFY_KUBERNETES_CACHE": "/tmp/nbaverify-bench-no-kubernetes"}
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


def cli(*args: str, env: dict[str, str] = ENV) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "nbaverify.cli", "sandbox", *args],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=600,
    )
    return time.perf_counter() - started


def control_plane_rss() -> dict[str, float]:
    """Each component's resident memory in MiB, read from /proc by its pid file."""
    from nbaverify.sandbox.kubernetes.control_plane import ControlPlane
    from nbaverify.sandbox.layout import Layout

    plane = ControlPlane(Layout.from_env(ENV))
    found = {}
    for name in COMPONENTS:
        pid = plane.pid(name)
        status = Path(f"/proc/{pid}/status").read_text() if pid else ""
        rss = next(
            (line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")), "0"
        )
        found[name] = int(rss) / 1024
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=3, help="repetitions of each scenario (default 3)"
    )
    runs = parser.parse_args().runs
    times: dict[str, list[float]] = {
        "cold (first up, empty state dir)": [],
        "warm (down, then up)": [],
        "warm without Kubernetes (the anchor)": [],
        "idempotent (up when already up)": [],
        "fault switch (up --fault replica_lag)": [],
        "fault back off (up)": [],
    }
    rss: dict[str, list[float]] = {name: [] for name in COMPONENTS}
    for _ in range(runs):
        cli("down")
        shutil.rmtree(STATE_DIR, ignore_errors=True)
        times["cold (first up, empty state dir)"].append(cli("up"))
        cli("down")
        times["warm (down, then up)"].append(cli("up"))
        times["idempotent (up when already up)"].append(cli("up"))
        for name, mib in control_plane_rss().items():
            rss[name].append(mib)
        times["fault switch (up --fault replica_lag)"].append(cli("up", "--fault", "replica_lag"))
        times["fault back off (up)"].append(cli("up"))
        cli("down")
        times["warm without Kubernetes (the anchor)"].append(cli("up", env=NO_KUBERNETES))
        cli("down", env=NO_KUBERNETES)
    cli("down", "--purge")
    print(
        f"nbaverify sandbox, {os.cpu_count()} cores, {runs} run(s) each, through the CLI (includes"
        " Python start-up)"
    )
    print(f"{'scenario':40} {'median':>8} {'max':>8}")
    for name, values in times.items():
        print(f"{name:40} {statistics.median(values):7.2f}s {max(values):7.2f}s")
    print(f"{'control plane, resident memory':40} {'median':>8}")
    for name, values in rss.items():
        print(f"{name:40} {statistics.median(values):6.0f} MiB")
    print(f"{'all five':40} {sum(statistics.median(v) for v in rss.values()):6.0f} MiB")


if __name__ == "__main__":
    main()
