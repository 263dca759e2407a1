"""Load generator figures, side by side on this machine (issue #7):

    .venv/bin/python benchmarks/load.py [--seconds N] [--pairs N]

(1) plain Locust (one FastHttpUser class, full speed) vs `nbaverify load` (thresholds, validation,
    progress) at full speed, one process each, against the same local nginx serving /health: N pairs
    run alternately (plain first), each pair's ratio and their median (this machine's timings vary
    by 10 % or more);
(2) the open model at a fixed 1000 req/s: achieved rate against the target rate;
(3) `--workers 2` vs one process, full speed;
(4) against the sandbox's `stall` fault (1 s freeze every 10 s): open-model p99 vs closed-model p99;
(5) the peak memory (RSS) of each Locust process.
nginx must be installed (apt-get install nginx-light); the sandbox is started when it is not
running.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
SECRET = {"NBAVERIFY_BENCH_JWT_SECRET": "benchmark-secret-not-checked-by-nginx"}


def start_nginx(work: Path, port: int) -> subprocess.Popen:
    conf = work / "nginx.conf"
    conf.write_text(
        f"""daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/error.log;
events {{ worker_connections 4096; }}
http {{ access_log off; server {{ listen 127.0.0.1:{port};
  location / {{ default_type application/json; return 200 '{{"status": "ok"}}'; }} }} }}
"""
    )
    process = subprocess.Popen(
        ["nginx", "-c", str(conf), "-p", str(work)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(0.5)
    return process


def profile(work: Path, port: int, seconds: int, users: int, rate: int) -> Path:
    path = work / "bench.toml"
    path.write_text(f"""name = "bench-nginx"
environment = "benchmark"
[api]
base_url = "http://127.0.0.1:{port}"
jwt_secret_env = "NBAVERIFY_BENCH_JWT_SECRET"
[expectations.load]
think_time_s = [0.0, 0.0]
live_subscribers = 0
max_in_flight = 1000
[expectations.load.ids]  # nginx serves no data to ask for ids: the scenarios' URLs just name these
players = [1, 5]
games = [1, 5]
[expectations.load.profiles.smoke]
stages = [{{ duration_s = {seconds}, users = {users}, spawn_rate = {users} }}]
arrival_stages = [{{ duration_s = {seconds}, rate = {rate} }}]
""")
    return path


def nbaverify_load(
    target: str, work: Path, name: str, *extra: str, env: dict | None = None
) -> dict:
    out = work / name
    done = subprocess.run(
        [PY, "-m", "nbaverify.cli", "load", "--target", target, "--report-dir", str(out), *extra],
        cwd=ROOT,
        env={**os.environ, **SECRET, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if not (out / "summary.json").exists():  # say why, in one line, rather than a FileNotFoundError
        raise SystemExit(
            f"benchmark: nbaverify load {name} wrote no summary (exit {done.returncode}): "
            f"{(done.stderr or done.stdout).strip().splitlines()[-1:]}"
        )
    return json.loads((out / "summary.json").read_text())


def plain_locust(port: int, seconds: int, users: int, work: Path) -> tuple[float, float]:
    import psutil

    prefix = work / "plain"
    process = subprocess.Popen(
        [
            PY,
            "-m",
            "locust",
            "-f",
            str(ROOT / "benchmarks" / "plain_locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    peak = 0.0
    while process.poll() is None:
        try:
            peak = max(peak, psutil.Process(process.pid).memory_info().rss / 2**20)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.5)
    from nbaverify.loadtest.stats import read_final

    return read_final(prefix)["all"].rps, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=int, default=20, help="length of each full-speed run (default 20)"
    )
    parser.add_argument(
        "--pairs",
        type=int,
        default=5,
        help="plain Locust / nbaverify load pairs, run alternately (default 5)",
    )
    args = parser.parse_args()
    seconds, pairs = args.seconds, max(1, args.pairs)
    if not shutil.which("nginx"):
        raise SystemExit(
            "benchmarks/load.py needs nginx as a fast local target: apt-get install nginx-light"
        )
    from nbaverify import procs

    work = Path(tempfile.mkdtemp(prefix="nbaverify-load-bench-"))
    port = procs.free_port()
    nginx = start_nginx(work, port)
    users = 50
    try:
        target = str(profile(work, port, seconds, users, rate=1000))
        runs = []
        for number in range(pairs):
            # alternately, so a slower minute of this shared machine hits both alike
            plain_rps, plain_peak = plain_locust(port, seconds, users, work)
            closed = nbaverify_load(target, work, f"closed-{number}", "--model", "closed")
            runs.append((plain_rps, closed["totals"]["rps"]))
        workers = nbaverify_load(target, work, "workers", "--model", "closed", "--workers", "2")
        open_ = nbaverify_load(target, work, "open", "--model", "open")
    finally:
        nginx.terminate()
    print(
        f"load generator figures, {os.cpu_count()} cores, {seconds}s runs, {users} users at full"
        " speed, target: local nginx"
    )
    ratios = [ours / plain for plain, ours in runs if plain]
    for number, (plain, ours) in enumerate(runs, start=1):
        print(
            f"(1) pair {number}: plain Locust FastHttpUser {plain:8.0f} req/s, nbaverify load"
            f" (closed) {ours:8.0f} req/s: {ours / plain if plain else 0:.0%}"
        )
    print(
        f"    median of {len(ratios)} pair(s): nbaverify load at"
        f" {statistics.median(ratios) if ratios else 0:.0%} of plain Locust   peak RSS plain"
        f" {plain_peak:.0f} MiB, nbaverify {closed['peak_rss_mib']}"
    )
    t = open_["totals"]
    print(
        f"(2) open model, target {t['target_rps']:.0f} req/s:  achieved {t['achieved_rps']:.1f}"
        f" req/s ({(t['achieved_rps'] - t['target_rps']) / t['target_rps']:+.2%})   p99"
        f" {t['p99_ms']:.0f} ms   peak RSS {open_['peak_rss_mib']}"
    )
    speedup = workers["totals"]["rps"] / closed["totals"]["rps"] if closed["totals"]["rps"] else 0
    print(
        f"(3) --workers 2                   {workers['totals']['rps']:8.0f} req/s   {speedup:.2f}x"
        f" one process   peak RSS {workers['peak_rss_mib']}"
    )

    from nbaverify.sandbox import Sandbox

    sandbox = Sandbox()
    sandbox.up(["stall"])
    # the sandbox's profile, virtual users without think time
    full_speed = work / "sandbox-full-speed.toml"
    full_speed.write_text(
        sandbox.layout.target_file.read_text()
        + "\n[expectations.load]\nthink_time_s = [0.0, 0.0]\n"
    )
    sandbox.allowlist(["127.0.0.1"])  # as `nbaverify load --target sandbox` does
    try:
        env = sandbox.environ()
        stalled_open = nbaverify_load(
            str(full_speed), work, "stall-open", "--model", "open", env=env
        )
        stalled_closed = nbaverify_load(
            str(full_speed), work, "stall-closed", "--model", "closed", env=env
        )
    finally:
        sandbox.up([])
    print("(4) against stall (1 s freeze every 10 s), the sandbox's 15 s smoke profile:")
    for name, run in (
        ("open model, 30 req/s       ", stalled_open),
        ("closed model, 20 users, 0 s", stalled_closed),
    ):
        tt = run["totals"]
        print(
            f"    {name} {tt['requests']:6d} requests  p50 {tt['p50_ms']:5.0f} ms  p95"
            f" {tt['p95_ms']:5.0f} ms  p99 {tt['p99_ms']:5.0f} ms"
        )
    print("(5) peak RSS by process: in (1)-(3) above (MiB)")


if __name__ == "__main__":
    main()
