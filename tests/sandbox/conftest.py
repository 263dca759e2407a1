"""A real sandbox for the self-tests, apart from the user's (own state dir and ports)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from nbaverify.sandbox import Layout, Sandbox, prometheus
from nbaverify.shipped import CHECKOUT as PROJECT_ROOT

# several sandboxes at once (pytest -n N): each xdist worker gets a state directory and a port base
# of its own
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_INDEX = int(WORKER[2:]) if WORKER.startswith("gw") and WORKER[2:].isdigit() else 0
SELFTEST_DIR = os.environ.get("NBAVERIFY_SELFTEST_DIR", "/tmp/nbaverify-selftest") + (
    f"-{WORKER}" if WORKER else ""
)
SELFTEST_PORT_BASE = int(os.environ.get("NBAVERIFY_SELFTEST_PORT_BASE", "26430")) + 100 * _INDEX
# two sandboxes at once load this machine past what one platform's host may carry: each judges its
# SSH host alone
SHARED = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1
if SHARED:  # the in-process sandbox reads it, and sandbox_env hands it to every CLI the tests run
    os.environ["NBAVERIFY_SANDBOX_SHARED_MACHINE"] = "1"


@dataclass
class CliResult:
    code: int
    out: str
    err: str
    summary: dict | None

    def outcomes(self) -> dict[str, dict]:
        return {c["id"]: c for c in (self.summary or {}).get("checks", [])}

    def not_passing(self) -> dict[str, str]:
        return {
            cid: c["message"]
            for cid, c in self.outcomes().items()
            if c["outcome"] in ("failed", "error")
        }


@pytest.fixture(scope="session")
def sandbox_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBAVERIFY_")}
    # a history of its own: the user's runs against their sandbox never meet the self-tests'
    env.update(
        NBAVERIFY_SANDBOX_DIR=SELFTEST_DIR,
        NBAVERIFY_SANDBOX_PORT_BASE=str(SELFTEST_PORT_BASE),
        NBAVERIFY_STATE_DIR=str(Path(SELFTEST_DIR) / "suite-state"),
    )
    if SHARED:
        env["NBAVERIFY_SANDBOX_SHARED_MACHINE"] = "1"
    return env


class SelftestSandbox(Sandbox):
    """The self-tests' sandbox: the python API and the default variant unless a test names others,
    so order never matters."""

    def up(
        self, faults=(), api: str | None = "python", variant: str | None = "default"
    ) -> list[str]:
        return super().up(faults, api=api, variant=variant)

    def fresh_history(self) -> None:
        """Prometheus's history started afresh and scraped once: alerts and SLOs look back minutes,
        and a healthy platform is judged without what earlier tests left there (errors, a TargetDown
        pending from an API that a switch of implementation restarted)."""
        if prometheus.binary():
            self.prometheus.reset()
            self.prometheus.wait_scraped()


@pytest.fixture(scope="session")
def sandbox(sandbox_env) -> Sandbox:
    sb = SelftestSandbox(
        Layout(Path(SELFTEST_DIR), SELFTEST_PORT_BASE), say=lambda line: print(f"sandbox: {line}")
    )
    sb.up()
    yield sb
    sb.down()


@pytest.fixture
def nbaverify(sandbox_env, tmp_path):
    """Run the real CLI in a subprocess against the self-test sandbox; read its summary.json."""

    def run(*args: str, env: dict | None = None, timeout: float = 300) -> CliResult:
        report_dir = tmp_path / f"report-{len(list(tmp_path.iterdir()))}"
        argv = list(args)
        if argv and argv[0] == "check" and "--report-dir" not in argv:
            cut = argv.index("--") if "--" in argv else len(argv)
            argv[cut:cut] = ["--report-dir", str(report_dir)]
        done = subprocess.run(
            [sys.executable, "-m", "nbaverify.cli", *argv],
            cwd=PROJECT_ROOT,
            env={**sandbox_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        summary_file = report_dir / "summary.json"
        summary = json.loads(summary_file.read_text()) if summary_file.exists() else None
        return CliResult(done.returncode, done.stdout, done.stderr, summary)

    return run
