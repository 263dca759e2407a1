"""Prometheus metrics of a run, so compliance status shows on the team's dashboards.

Written as a node_exporter textfile (atomically, by prometheus-client) and, when a Pushgateway URL
is given, pushed there under job "nbaverify" grouped by target and tier.
"""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile

from nbaverify.results import OUTCOMES, RunSummary

STATUS_VALUE = {"OK": 0, "WARNING": 1, "CRITICAL": 2}


def registry_for(summary: RunSummary) -> CollectorRegistry:
    registry = CollectorRegistry()
    labels = {"target": summary.target, "tier": summary.tier}
    Gauge(
        "nbaverify_run_status", "0 ok, 1 warning, 2 critical", list(labels), registry=registry
    ).labels(**labels).set(STATUS_VALUE[summary.status])
    Gauge("nbaverify_run_exit_code", "The run's exit code", list(labels), registry=registry).labels(
        **labels
    ).set(summary.exit_code)
    Gauge(
        "nbaverify_run_duration_seconds",
        "How long the checks took",
        list(labels),
        registry=registry,
    ).labels(**labels).set(summary.duration_s)
    Gauge(
        "nbaverify_run_timestamp_seconds", "When the run finished", list(labels), registry=registry
    ).labels(**labels).set(time.time())
    checks = Gauge("nbaverify_checks", "Checks by outcome", [*labels, "outcome"], registry=registry)
    for outcome in OUTCOMES:
        checks.labels(**labels, outcome=outcome).set(summary.totals[outcome])
    failing = Gauge(
        "nbaverify_check_failing",
        "1 for each check that failed or could not run",
        [*labels, "check", "area", "severity"],
        registry=registry,
    )
    for check in summary.checks:
        if check.outcome in ("failed", "error"):
            failing.labels(**labels, check=check.id, area=check.area, severity=check.severity).set(
                1
            )
    return registry


def write_textfile(summary: RunSummary, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry_for(summary))


def push(summary: RunSummary, gateway: str, timeout_s: float = 10) -> None:
    push_to_gateway(
        gateway,
        job="nbaverify",
        registry=registry_for(summary),
        grouping_key={"target": summary.target, "tier": summary.tier},
        timeout=timeout_s,
    )
