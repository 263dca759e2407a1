"""A target that dies in the middle of a run: the API and the primary stop (or hang) halfway through
the gate. The checks after that say "unreachable" at once, the run ends with its reports written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sandbox.conftest import PROJECT_ROOT

MIDRUN = Path(__file__).with_name("midrun")


def gate_with_a_death(
    sandbox_env, tmp_path, how: str
) -> tuple[subprocess.CompletedProcess, dict, dict]:
    mark = tmp_path / "mark.json"
    env = {
        **sandbox_env,
        "NBAVERIFY_MIDRUN": how,
        "NBAVERIFY_MIDRUN_MARK": str(mark),
        "NBAVERIFY_MIDRUN_AFTER": "checks/test_database_",
        "PYTHONPATH": os.pathsep.join([str(MIDRUN), sandbox_env.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbaverify.cli",
            "check",
            "gate",
            "--report-dir",
            str(tmp_path / "r"),
            "--",
            "-p",
            "nbaverify_midrun_stop",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    return done, summary, json.loads(mark.read_text())


def after(summary: dict, mark: dict) -> list[dict]:
    ids = [c["id"] for c in summary["checks"]]
    return summary["checks"][ids.index(mark["after"]) + 1 :]


@pytest.fixture
def heal(sandbox, tmp_path):
    yield
    mark = tmp_path / "mark.json"
    for pid in json.loads(mark.read_text())["frozen"] if mark.exists() else []:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    sandbox.up([])


@pytest.mark.parametrize("how", ["stop", "freeze"])
def test_checks_after_the_target_dies_say_unreachable_at_once(
    sandbox, sandbox_env, heal, tmp_path, how
):
    """stop: the API and the primary exit (refused); freeze: they hang (SIGSTOP), accepting and
    never answering."""
    sandbox.up([])
    done, summary, mark = gate_with_a_death(sandbox_env, tmp_path, how)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr
    assert not summary["interrupted"] and len(summary["checks"]) > 100  # the whole run, recorded
    later = after(summary, mark)
    errors = [c for c in later if c["outcome"] == "error"]
    assert all("unreachable" in c["message"] for c in errors), [
        c["message"] for c in errors if "unreachable" not in c["message"]
    ]
    named = {
        part
        for c in errors
        for part in ("API at", "primary database at", "WebSocket at")
        if part in c["message"]
    }
    assert {"API at", "primary database at"} <= named, [c["message"] for c in errors]
    assert len([c for c in later if c["area"] in ("api", "security", "database")]) > 30
    # a dead client is asked once: only the check that finds a hung server waits out its timeout
    waited = [c["id"] for c in later if c["duration_s"] >= 4.0]
    assert len(waited) <= (0 if how == "stop" else 3), waited
    if how == "freeze":
        said = [c["message"] for c in errors]
        assert any("primary database" in m and "the server hangs" in m for m in said), said[:3]
        assert any("API at" in m and "timed out" in m for m in said), said[:3]
