"""The load runs on record (reports/load/*/summary.json): the newest comparable one, the trend's
anchor and the check of the last quarterly run, and a period's runs, the compliance report's
evidence of the quarterly load test.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from nbaverify.loadtest.summary import LoadSummary
from nbaverify.reports import capacity_report
from nbaverify.reports.evidence_records import parse_time


def previous_summary(
    load_root: Path, current: Path, target: str, profile: str, model: str
) -> LoadSummary | None:
    """The latest earlier complete run of the same profile, model and target, or None."""
    return newest_run(load_root, target, profile, model, excluding=current)


def newest_run(
    load_root: Path,
    target: str,
    profile: str,
    model: str | None = None,
    excluding: Path | None = None,
) -> LoadSummary | None:
    """The newest complete run under load_root of this target and profile (and model, when given),
    or None."""
    runs = []
    for path in load_root.glob("*/summary.json"):
        if path.parent == excluding:
            continue
        try:
            run = LoadSummary.read(path)
        except (OSError, ValueError):
            continue
        if (
            (run.target, run.profile) == (target, profile)
            and model in (None, run.model)
            and run.comparable
        ):
            runs.append(run)
    return max(runs, key=lambda r: r.started_at) if runs else None


def load_runs(load_root: Path, target: str | None, since: dt.date, until: dt.date) -> list[dict]:
    """The period's `nbaverify load` runs (reports/load/*/summary.json): the quarterly load test's
    evidence."""
    runs = []
    for path in sorted(load_root.glob("*/summary.json")):
        try:
            run = LoadSummary.read(path)
            started = parse_time(run.started_at)
        except (OSError, ValueError):
            continue
        if (target is None or run.target == target) and since <= started.date() <= until:
            t = run.totals
            runs.append(
                {
                    "run_id": run.run_id,
                    "started_at": run.started_at,
                    "profile": run.profile,
                    "model": run.model,
                    "verdict": run.verdict,
                    "p95_ms": t.p95_ms,
                    "p99_ms": t.p99_ms,
                    "rps": t.rps,
                    "error_rate": t.error_rate,
                    "problems": run.problems,
                    "capacity": _capacity_of(run.capacity),
                }
            )
    return sorted(runs, key=lambda r: r["started_at"])


def _capacity_of(plan: dict | None) -> dict | None:
    """A capacity run's figures for the compliance report, with the load report's own sentence."""
    if not plan:
        return None
    keys = (
        "knee_rps",
        "replicas",
        "per_replica_rps",
        "scalable_replicas",
        "projected_max_rps",
        "observed_peak_rps",
        "headroom",
        "min_headroom",
    )
    return {**{key: plan.get(key) for key in keys}, "answer": capacity_report.answer(plan)}
