"""The log review from its second source (files on the hosts, through testinfra), and what no report
may hold of a log that says too much: the DSN's password and the callers' tokens."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from nbaverify.sandbox.api_logs import ApiLogFiles
from nbaverify.sandbox.kubernetes.platform import API, Platform
from tests.sandbox.test_secret_hygiene import canaries

LOGS = "checks/test_logs.py"


def hosts_profile(sandbox, tmp_path):
    """The sandbox's profile reading the API's log file on local:// instead of the api pods'
    logs."""
    text = sandbox.layout.target_file.read_text()
    section = text[text.index("[logs]") : text.index("\n\n", text.index("[logs]"))]
    path = tmp_path / "hosts-logs.toml"
    text = text.replace(
        section, f'[logs]\nsource = "hosts"\nfiles = ["{sandbox.layout.log_file("api")}"]'
    )
    urls = text[text.index("[hosts]") : text.index("\n\n", text.index("[hosts]"))]
    # the SSH host is this machine too: its copy of the same file would be a second stream of the
    # same log
    path.write_text(text.replace(urls, '[hosts]\nurls = ["local://"]'))
    return path


def test_the_log_checks_read_files_on_the_hosts_too(sandbox, nbaverify, tmp_path):
    sandbox.up([])
    profile = hosts_profile(sandbox, tmp_path)
    healthy = nbaverify("check", "all", "--target", str(profile), "--", LOGS, env=sandbox.environ())
    assert healthy.code == 0 and healthy.not_passing() == {}, healthy.out
    sandbox.up(["error_log_flood"])
    flooded = nbaverify("check", "all", "--target", str(profile), "--", LOGS, env=sandbox.environ())
    message = flooded.not_passing()[f"{LOGS}::check_error_lines_under_threshold"]
    # the fault's forty, and any the sandbox's users drew meanwhile (the fault logs one a data
    # request)
    counted = re.match(
        r"API log \(1 stream\(s\) of log files \S+api\.log on local://, the last \d+s\): (\d+)"
        r" error line",
        message,
    )
    assert counted and int(counted[1]) >= 40, message
    sandbox.up([])


def test_no_secret_and_no_token_of_a_leaky_log_reaches_a_report(sandbox, nbaverify, tmp_path):
    sandbox.up(["stack_traces_logged", "error_log_flood"])
    report = tmp_path / "report"
    result = nbaverify("check", "all", "--report-dir", str(report), "--", LOGS)
    summary = json.loads((report / "summary.json").read_text())
    failed = {c["id"] for c in summary["checks"] if c["outcome"] == "failed"}
    assert result.code == 1 and f"{LOGS}::check_no_stack_traces_logged" in failed, result.out
    log = sandbox.layout.log_file("api").read_text()
    assert "Bearer eyJ" in log and any(value in log for value in canaries(sandbox)), (
        "the fault must leak, or this proves nothing"
    )
    texts = {
        "stdout": result.out,
        "stderr": result.err,
        **{p.name: p.read_text() for p in report.iterdir()},
    }
    leaks = [
        (where, value[:4] + "…")
        for where, text in texts.items()
        for value in canaries(sandbox)
        if value in text
    ]
    tokens = [where for where, text in texts.items() if re.search(r"eyJ[\w-]+\.", text)]
    assert not leaks and not tokens, f"secrets in {leaks}, tokens in {tokens}"
    sandbox.up([])


def test_a_healed_api_log_starts_with_its_pods(sandbox):
    """A new log is a rollout: pods older than their log would claim hours of quiet, and a log
    check's rate an hour would shrink until a fault's lines pass (a long-lived sandbox read 20 slow
    responses as 'under 10 an hour').
    """
    if reason := sandbox.kube.unavailable():
        pytest.skip(f"needs the sandbox's Kubernetes: {reason}")
    sandbox.up(["error_log_flood"])
    sandbox.up([])
    rolled = ApiLogFiles.of(sandbox.layout).started()
    assert rolled is not None
    with sandbox.kube.platform.admin() as admin:
        pods = Platform.pods_of(admin, "Deployment", API[1])
        logs = [
            o["metadata"]["name"] for o in admin.items("kwok.x-k8s.io/v1alpha1", "Logs", API[0])
        ]
    started = {
        p["metadata"]["name"]: dt.datetime.fromisoformat(
            p["status"]["containerStatuses"][0]["state"]["running"]["startedAt"].replace(
                "Z", "+00:00"
            )
        )
        for p in pods
    }
    assert pods and all(when >= rolled.replace(microsecond=0) for when in started.values()), (
        rolled,
        started,
    )
    assert logs and logs[0] in started, (
        f"the Logs object names {logs}, the api pods are {sorted(started)}"
    )
