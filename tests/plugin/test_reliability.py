"""The suite survives its own faults: an interrupted run, overlapping runs, a report dir it cannot
write, a reader that closes the pipe. Through real processes, no sandbox needed."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

from nbaverify.check_memory import History
from nbaverify.exit_codes import EXIT_INTERRUPTED
from nbaverify.results import new_run_id
from nbaverify.shipped import CHECKOUT

CHECKS = """
import os
import signal

import pytest

pytestmark = [pytest.mark.area("api"), pytest.mark.gate, pytest.mark.severity("critical"),
              pytest.mark.runbook("x")]


def check_first():
    pass


def check_second_is_cancelled():
    os.kill(os.getpid(), signal.SIGTERM)  # a CronJob's deadline, a cancelled CI job


def check_third():
    pass
"""


def test_sigterm_stops_the_run_and_still_writes_what_ran(tmp_path):
    (tmp_path / "test_checks.py").write_text(CHECKS)
    (tmp_path / "target.toml").write_text('name = "t"\nenvironment = "staging"\n')
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "nbaverify.plugin",
            "-p",
            "no:cacheprovider",
            "--target",
            "target.toml",
            "--report-dir",
            "out",
            "-q",
            "test_checks.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_INTERRUPTED, done.stdout + done.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["exit_code"] == EXIT_INTERRUPTED
    assert [c["id"] for c in summary["checks"]] == ["test_checks.py::check_first"]
    assert summary["not_run"] == [
        "test_checks.py::check_second_is_cancelled",
        "test_checks.py::check_third",
    ]
    assert "NBAVERIFY INTERRUPTED - 1 passed, 0 failed, 2 not run" in done.stdout
    assert {"junit.xml", "summary.md", "report.html", "evidence.json"} <= {
        p.name for p in (tmp_path / "out").iterdir()
    }


def test_overlapping_runs_lose_no_update(tmp_path):
    first, second = History("t", tmp_path), History("t", tmp_path)  # both read before either writes
    first.remember("deadlocks:db", 3)
    second.remember("table_scans:db", {"at": "x"})
    threads = [threading.Thread(target=h.save) for h in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert json.loads((tmp_path / "history-t.json").read_text()) == {
        "deadlocks:db": 3,
        "table_scans:db": {"at": "x"},
    }
    # no temporary left behind
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".history")] == []


def test_two_runs_started_in_the_same_second_get_their_own_ids():
    assert len({new_run_id("gate", "staging") for _ in range(50)}) == 50


def nbaverify(*args: str, cwd=CHECKOUT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "nbaverify.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unwritable_report_dir_stops_the_run_before_any_check(tmp_path):
    (tmp_path / "target.toml").write_text('name = "t"\nenvironment = "staging"\n')
    done = nbaverify(
        "check",
        "gate",
        "--target",
        str(tmp_path / "target.toml"),
        "--report-dir",
        "/proc/nbaverify-r",
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "nbaverify: /proc/nbaverify-r: the report directory cannot be written (No such file or"
        " directory); choose another with --report-dir (env NBAVERIFY_REPORT_DIR)"
    ]
    assert "passed" not in done.stdout


def test_a_closed_pipe_ends_the_listing_quietly():
    done = subprocess.run(
        f"{sys.executable} -m nbaverify.cli sandbox faults | head -1",
        shell=True,
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        done.returncode == 0
        and done.stdout.startswith("no_response_time_header")
        and done.stderr == ""
    )
    # a reader gone before the first write: every write meets a closed pipe
    gone = subprocess.run(
        f"{sys.executable} -m nbaverify.cli sandbox faults | true; echo ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        cwd=CHECKOUT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert gone.stdout.strip() == "0" and gone.stderr == "", gone.stderr
