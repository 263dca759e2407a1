"""Running Locust headless as a subprocess (one process, or a master and N local workers), showing
progress while it runs, stopping it early when an `abort` threshold is breached."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from nbaverify import procs, shipped
from nbaverify.clients.api import token_claims
from nbaverify.config import Target
from nbaverify.errors import ConfigError, MissingBinary
from nbaverify.loadtest import ids, stats
from nbaverify.loadtest.thresholds import Threshold

LOCUSTFILE = shipped.LOCUSTFILE
PROGRESS_EVERY_S = 2.0
# an abort threshold is judged once this much of the run has passed (ramp-up noise)
ABORT_AFTER_S = 8.0
ABORT_MIN_REQUESTS = 50


@dataclass
class Plan:
    """What one Locust run is to do: the load profile, the model (closed or open), the local
    workers, the stages, the planned length in seconds, and `config`, written to config.json for
    every Locust process (it holds no secret).
    """

    profile: str
    model: str  # closed | open
    workers: int
    # closed: users and spawn rate by stage; open: the shape that keeps one user a process
    stages: list[dict]
    arrival_stages: list[dict]
    duration_s: float
    config: dict


def plan(target: Target, profile_name: str, model: str | None, workers: int) -> Plan:
    expect = target.expectations
    profiles = expect["load.profiles"]
    if profile_name not in profiles:
        raise ConfigError(
            "--profile",
            None,
            f"unknown load profile {profile_name!r}; the expectations define "
            f"{', '.join(sorted(profiles))}",
        )
    profile = profiles[profile_name]
    model = model or profile.get("model", "closed")
    stages, arrival = profile["stages"], profile["arrival_stages"]
    if model == "open":
        duration = sum(s["duration_s"] for s in arrival)
        drain = expect["load.drain_s"]
        stages = [
            {
                "duration_s": duration + drain,
                "users": max(1, workers),
                "spawn_rate": max(1, workers),
            }
        ]
    duration = sum(s["duration_s"] for s in stages)
    section = target.api  # a load test needs the [api] section
    config = {
        "base_url": section.base_url,
        "ca_file": section.ca_file,
        "ws_path": section.ws_path,
        "model": model,
        "weights": expect["load.weights"],
        "ids": ids.for_target(target).config(),
        "think_time_s": expect["load.think_time_s"],
        "live_subscribers": expect["load.live_subscribers"] if model == "closed" else 0,
        "max_in_flight": expect["load.max_in_flight"],
        "workers": workers,
        "ws_max_gap_s": expect["load.ws_max_gap_s"],
        "claims": token_claims(expect),
        "algorithm": expect["api.auth.algorithms"][0],
        "stages": stages,
        "arrival_stages": arrival,
    }
    return Plan(profile_name, model, workers, stages, arrival, duration, config)


@dataclass
class Outcome:
    """How the Locust run ended; its figures are in the CSV files."""

    wall_s: float
    aborted: str | None = None  # an abort threshold or the deadline stopped it: why
    # SIGINT/SIGTERM reached nbaverify: Locust was stopped, its CSV files kept
    interrupted: bool = False
    peak_rss_mib: dict[str, float] = field(default_factory=dict)
    locust_exit: int | None = None


def write_config(plan: Plan, out: Path) -> Path:
    """The scenarios' settings (no secret): what every Locust process of the run reads."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / "config.json"
    path.write_text(json.dumps(plan.config, indent=2) + "\n")
    return path


@dataclass
class Running:
    """Locust's processes for one run: the master (or the only process) first, then its local
    workers."""

    processes: list[subprocess.Popen]
    log: IO
    started: float

    @property
    def master(self) -> subprocess.Popen:
        return self.processes[0]

    def stop(self) -> None:
        """SIGTERM the master (Locust writes its final files), then make sure nothing is left
        running."""
        master = self.master
        try:
            if master.poll() is None:
                master.send_signal(signal.SIGTERM)
            try:
                master.wait(timeout=30)
            except subprocess.TimeoutExpired:
                master.kill()
        finally:
            for process in self.processes[1:]:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
            for process in self.processes:
                if process.poll() is None:
                    process.kill()
            self.log.close()


def start(
    plan: Plan,
    target: Target,
    out: Path,
    say: Callable[[str], None],
    remote_workers: int = 0,
    master_port: int = 5557,
) -> Running:
    """Start Locust for the plan; the CSV files land in out/locust_*.csv, the JSON figures in
    out/locust_stats.json.

    remote_workers: start only the master, bound on every interface, and wait for that many workers
    started elsewhere (other machines, or a Kubernetes Deployment: `nbaverify load --plan-only
    --kubernetes`).
    """
    write_config(plan, out)
    secret = target.required_secret(target.signing_key_setting)  # a load test mints tokens
    env = {
        **os.environ,
        "NBAVERIFY_LOAD_CONFIG": str(out / "config.json"),
        "NBAVERIFY_LOAD_JWT_SECRET": secret,
    }
    prefix = out / "locust"
    common = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--loglevel",
        "WARNING",
        "--skip-log-setup",
    ]
    head = [
        *common,
        "--headless",
        "--csv",
        str(prefix),
        "--csv-full-history",
        "--only-summary",
        # Locust adds .json: every entry, histogram and all
        "--json-file",
        str(prefix) + "_stats",
        "--exit-code-on-error",
        "0",
        "--stop-timeout",
        "2",
    ]
    log = (out / "locust.log").open("w")
    processes: list[subprocess.Popen] = []
    try:
        if remote_workers:
            say(
                f"  waiting for {remote_workers} worker(s): on each machine, with the same checkout"
                f" and {out / 'config.json'}:"
            )
            say(
                "    NBAVERIFY_LOAD_CONFIG=config.json NBAVERIFY_LOAD_JWT_SECRET=... python -m"
                " locust -f load/locustfile.py --worker --master-host <this host> --master-port"
                f" {master_port}"
            )
            processes.append(
                subprocess.Popen(
                    [
                        *head,
                        "--master",
                        "--master-bind-host",
                        "0.0.0.0",
                        "--master-bind-port",
                        str(master_port),
                        "--expect-workers",
                        str(remote_workers),
                        "--expect-workers-max-wait",
                        "300",
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        elif plan.workers > 1:
            port = procs.free_port()
            processes.append(
                subprocess.Popen(
                    [
                        *head,
                        "--master",
                        "--master-bind-host",
                        "127.0.0.1",
                        "--master-bind-port",
                        str(port),
                        "--expect-workers",
                        str(plan.workers),
                        "--expect-workers-max-wait",
                        "30",
                    ],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            for _ in range(plan.workers):
                processes.append(
                    subprocess.Popen(
                        [
                            *common,
                            "--worker",
                            "--master-host",
                            "127.0.0.1",
                            "--master-port",
                            str(port),
                        ],
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        else:
            processes.append(subprocess.Popen(head, env=env, stdout=log, stderr=subprocess.STDOUT))
    except FileNotFoundError as exc:
        for process in processes:
            process.kill()
        log.close()
        raise MissingBinary(
            "python -m locust", "pip install locust (nbaverify's dependencies include it)"
        ) from exc
    return Running(processes, log, time.monotonic())


def run(
    plan: Plan,
    target: Target,
    out: Path,
    abort_on: list[Threshold],
    say: Callable[[str], None],
    remote_workers: int = 0,
    master_port: int = 5557,
) -> Outcome:
    """Run Locust to the end of the plan (or an abort), showing progress."""
    running = start(plan, target, out, say, remote_workers, master_port)
    prefix = out / "locust"
    processes, master, started = running.processes, running.master, running.started
    # nothing hangs: Locust is killed past its plan (remote workers get 5 minutes to connect)
    deadline = started + plan.duration_s + 60 + (300 if remote_workers else 0)
    aborted, interrupted, peaks = None, False, dict[str, float]()
    try:
        try:
            while master.poll() is None:
                time.sleep(PROGRESS_EVERY_S)
                elapsed = time.monotonic() - started
                peak_memory(processes, peaks)
                history = stats.read_history(prefix)
                if history:
                    last = history[-1]
                    say(
                        f"  {elapsed:5.0f}s/{plan.duration_s:.0f}s  users {last.users:4d}  rate"
                        f" {last.rps:7.1f}/s  errors {last.failures:5d}  p95 {last.p95_ms:6.0f} ms "
                        f" p99 {last.p99_ms:6.0f} ms"
                    )
                    aborted = aborted or _abort_reason(abort_on, history, elapsed)
                    if aborted:
                        say(f"  aborting: {aborted}")
                        break
                if time.monotonic() > deadline:
                    aborted = (
                        f"Locust ran past its plan ({plan.duration_s:.0f}s + 60s) and was stopped"
                    )
                    break
        except KeyboardInterrupt:
            # Ctrl-C, a cancelled job: Locust writes its final CSV rows on SIGTERM
            interrupted = True
            say(
                f"  interrupted after {time.monotonic() - started:.0f}s: stopping Locust, keeping"
                " what it measured"
            )
            # Ctrl-C reached Locust's process group too: it may be stopping already
            _wait_quietly(master, 2.0)
    finally:
        running.stop()
    return Outcome(
        wall_s=round(time.monotonic() - started, 1),
        aborted=aborted,
        interrupted=interrupted,
        peak_rss_mib=peaks,
        locust_exit=master.returncode,
    )


def _wait_quietly(process: subprocess.Popen, seconds: float) -> None:
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        pass


def _abort_reason(
    abort_on: list[Threshold], history: list[stats.Sample], elapsed: float
) -> str | None:
    """A breach of an `abort` threshold, judged on the run so far (not one noisy second)."""
    last = history[-1]
    if elapsed < ABORT_AFTER_S or last.requests < ABORT_MIN_REQUESTS:
        return None
    so_far = {
        "p50_ms": last.p50_ms,
        "p95_ms": last.p95_ms,
        "p99_ms": last.p99_ms,
        "error_rate": last.failures / last.requests if last.requests else 0.0,
        "rps": None,
    }
    for threshold in abort_on:
        observed = so_far.get(threshold.metric)
        if threshold.endpoint == "all" and observed is not None and threshold.breached_by(observed):
            return f"{threshold.describe(observed)} after {elapsed:.0f}s"
    return None


def peak_memory(processes: list[subprocess.Popen], peaks: dict[str, float]) -> None:
    import psutil  # optional: the load extra

    for number, process in enumerate(processes):
        role = (
            "locust" if len(processes) == 1 else ("master" if number == 0 else f"worker-{number}")
        )
        try:
            rss = psutil.Process(process.pid).memory_info().rss / 2**20
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        peaks[role] = round(max(peaks.get(role, 0.0), rss), 1)
