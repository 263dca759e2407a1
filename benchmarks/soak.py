"""Soak: cycles of break, check, heal, check, through the real CLI, counting what went wrong.

    .venv/bin/python benchmarks/soak.py [--cycles N] [--seed S] [--variants]

Each cycle picks a fault of the catalogue (and, for one that acts through the API, which reference
API serves), brings it up, runs the checks that must catch it, heals the sandbox (`up`, or `down`
then `up`, at random) and runs every check on the healthy sandbox. It counts:

- false_failures: checks that did not pass on a healthy run (a gate that cries wolf);
- missed: faults whose checks did not all fail naming the cause;
- stuck: sandbox commands (`up`, `down`) that failed.

With --variants each cycle instead draws a healthy variant (nbaverify.sandbox.variants: every choice
the guide leaves open, drawn from a seed the cycle prints) and an API, brings it up and runs every
check: anything that does not pass, beyond the absent-practice warnings the variant declares, is a
false failure.

Its own sandbox (/tmp/nbaverify-soak, ports 24430+, below the ephemeral range) and its own history.
The last line: `soak: cycles=N false_failures=F missed=M stuck=S mean_cycle_s=T`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nbaverify.errors import ConfigError, MissingBinary
from nbaverify.sandbox import variants
from nbaverify.sandbox.apis import node_binary
from nbaverify.sandbox.faults import CATALOGUE, Fault
from nbaverify.sandbox.manager import validate_faults

STATE_DIR = "/tmp/nbaverify-soak"
ENV = {
    **{k: v for k, v in os.environ.items() if not k.startswith("NBAVERIFY_")},
    "NBAVERIFY_SANDBOX_DIR": STATE_DIR,
    "NBAVERIFY_SANDBOX_PORT_BASE": "24430",
    "NBAVERIFY_STATE_DIR": f"{STATE_DIR}-history",
}
REPORTS = Path(tempfile.mkdtemp(prefix="nbaverify-soak-reports-"))


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nbaverify.cli", *args],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=900,
    )


def check(*selection: str) -> dict[str, dict]:
    """`check all` (or only the named checks), its outcomes by check id."""
    report = REPORTS / f"run-{len(list(REPORTS.iterdir()))}"
    argv = ["check", "all", "--allow", "disruptive", "--report-dir", str(report)]
    done = cli(*argv, *(["--", *selection] if selection else []))
    summary = report / "summary.json"
    if not summary.exists():
        return {
            "(no summary)": {
                "outcome": "error",
                "message": (done.stderr or done.stdout).strip()[-300:],
            }
        }
    return {c["id"]: c for c in json.loads(summary.read_text())["checks"]}


def not_passing(outcomes: dict[str, dict]) -> dict[str, str]:
    return {
        cid: f"{c['outcome']}: {c['message']}"
        for cid, c in outcomes.items()
        if c["outcome"] not in ("passed", "skipped")
    }


class Soak:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.false_failures = self.missed = self.stuck = 0
        self.node = _node_available()

    def sandbox(self, *args: str) -> bool:
        done = cli("sandbox", *args)
        if done.returncode != 0:
            self.stuck += 1
            print(f"  STUCK sandbox {' '.join(args)}: {done.stderr.strip()[-300:]}", flush=True)
        return done.returncode == 0

    def healthy_run(self, label: str) -> None:
        wrong = not_passing(check())
        self.false_failures += len(wrong)
        for cid, why in wrong.items():
            print(f"  FALSE FAILURE after {label}: {cid}: {why[:200]}", flush=True)

    def cycle(self, fault: Fault, api: str) -> None:
        if not self.sandbox("up", "--api", api, "--fault", fault.name):
            self.sandbox("down")  # what a person would do next
            self.sandbox("up")
            return
        if fault.baseline == "faulty":
            # what it made is young at first: the first run only sees it appear
            check(*fault.selection)
        problems = fault.missed_by(check(*fault.selection))
        if problems:
            self.missed += 1
            print(f"  MISSED {fault.name} ({api} API): {problems[0][:300]}", flush=True)
        how = self.rng.choice(["up", "down-then-up"])
        if how == "down-then-up":
            self.sandbox("down")
        if self.sandbox("up"):
            self.healthy_run(f"healing {fault.name} by {how}")

    def variant_cycle(self, api: str) -> str:
        """A drawn healthy variant: every check passes but the absent-practice warnings it
        declares."""
        seed = str(self.rng.randrange(1, 10**6))
        if not self.sandbox("up", "--api", api, "--variant", seed):
            return seed
        expected = set(variants.resolve(seed).expects)
        wrong = {cid: why for cid, why in not_passing(check()).items() if cid not in expected}
        self.false_failures += len(wrong)
        for cid, why in wrong.items():
            print(
                f"  FALSE FAILURE on variant {seed} ({variants.resolve(seed).describe()}): {cid}:"
                f" {why[:200]}",
                flush=True,
            )
        return seed

    def pick(self) -> tuple[Fault, str]:
        eligible = [
            f
            for f in CATALOGUE.values()
            if f.area != "load"
            and _can_make(f.name)
            and (not f.sources or "cluster" in f.sources)
            and f.proven_on(["python", "node"] if self.node else ["python"])
        ]
        fault = self.rng.choice(eligible)
        implementations = fault.proven_on(["python", "node"] if self.node else ["python"])
        return fault, self.rng.choice(implementations)


def _can_make(name: str) -> bool:
    """Can the soak's sandbox make this fault here (its Prometheus, Alertmanager, SSH host,
    Kubernetes)?"""
    try:
        validate_faults([name])
        return True
    except ConfigError:
        return False


def _node_available() -> bool:
    try:
        node_binary()
        return True
    except MissingBinary:  # no Node here: every fault runs on the Python API
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cycles", type=int, default=30, help="break-check-heal-check cycles (default 30)"
    )
    parser.add_argument(
        "--seed", type=int, default=None, help="random seed (default: chosen and printed)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="leave the soak's sandbox and reports behind"
    )
    parser.add_argument(
        "--variants",
        action="store_true",
        help="draw a healthy variant each cycle (and an API) and count its false failures",
    )
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 2**31)
    print(
        f"soak: seed={seed} cycles={args.cycles} sandbox={STATE_DIR} reports={REPORTS}", flush=True
    )
    soak = Soak(random.Random(seed))
    soak.sandbox("up", "--api", "python")
    soak.healthy_run("the first start")  # also the baseline for checks judged by their change
    times = []
    try:
        for number in range(1, args.cycles + 1):
            started = time.monotonic()
            if args.variants:
                api = soak.rng.choice(["python", "node"] if soak.node else ["python"])
                what = f"variant {soak.variant_cycle(api)}"
            else:
                fault, api = soak.pick()
                soak.cycle(fault, api)
                what = fault.name
            times.append(time.monotonic() - started)
            print(
                f"cycle {number}/{args.cycles}: {what} ({api} API) in {times[-1]:.1f}s; so far"
                f" false_failures={soak.false_failures} missed={soak.missed} stuck={soak.stuck}",
                flush=True,
            )
    finally:
        if not args.keep:
            cli("sandbox", "down", "--purge")
            shutil.rmtree(REPORTS, ignore_errors=True)
            shutil.rmtree(ENV["NBAVERIFY_STATE_DIR"], ignore_errors=True)
    mean = sum(times) / len(times) if times else 0.0
    print(
        f"soak: cycles={len(times)} false_failures={soak.false_failures} missed={soak.missed}"
        f" stuck={soak.stuck} mean_cycle_s={mean:.1f}"
    )


if __name__ == "__main__":
    main()
