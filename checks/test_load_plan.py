"""The quarterly load test against what users send: the newest run's mix and rate beside the traffic
Prometheus saw.

Guide: Maintenance Schedule / Quarterly Tasks / Load testing. A load test proves what it was asked:
a mix written once and a rate from a profile may no longer be the platform's traffic.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from nbaverify.loadtest import observed, past_runs
from nbaverify.loadtest.fleet import peak_query
from nbaverify.loadtest.summary import LoadSummary

pytestmark = [pytest.mark.area("api")]

LOAD_TESTING = "Maintenance Schedule / Quarterly Tasks / Load testing"


def _planned(run: LoadSummary) -> dict[str, float]:
    """The run's mix: the weights it planned, or (a run from before they were recorded) what it
    sent, by request."""
    if run.mix and run.mix.get("planned"):
        return dict(run.mix["planned"])
    names = {route: key for key, route in observed.SCENARIO_ROUTES.items()}
    sent: dict[str, float] = {}
    for endpoint in run.endpoints:
        method, _, path = endpoint.name.partition(" ")
        key = names.get(observed.fold(path)) if method in ("GET", "HEAD") else None
        if key:
            sent[key] = sent.get(key, 0.0) + endpoint.requests
    return sent


@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook(LOAD_TESTING)
def check_load_test_resembles_production(target, expect, prom, evidence):
    """The newest quarterly load run sent the mix users send and at least their peak rate.

    Reads the newest complete run of `load.observed.production_profile` (quarterly) against this
    target under `load.observed.reports` (reports/load), and from Prometheus the users' mix over
    `load.observed.window` (the counter's increase by route, folded as the load report folds it) and
    the peak request rate before the run (`load.capacity.peak_rate` over its window). Fails when the
    run's planned mix (or, for an older run, what it sent) differs from the observed one by more
    than `load.observed.max_distance` (0.2) of requests (total variation distance), or when its
    throughput was under the observed peak. Skipped when no such run is on record or the traffic
    cannot be read. A warning: the platform is not broken, its load test is out of date.

    When it fails: Plan the next run on what users send: `nbaverify load --profile quarterly --mix
    observed` (or update `[load.weights]`), with arrival rates at or above the observed peak; the
    load report sets both mixes side by side.
    """
    settings = expect["load.observed"]
    folder, profile = Path(settings["reports"]), settings["production_profile"]
    run = past_runs.newest_run(folder, target.name, profile)
    if run is None:
        pytest.skip(
            f"no load run on record: no complete {profile} run of {target.name} under {folder}; run"
            f" `nbaverify load --profile {profile}` (its report goes there)"
        )
    mix, why = observed.query(prom, settings, dt.datetime.now(dt.UTC))
    if mix is None:
        pytest.skip(f"the observed traffic cannot be read: {why}")
    planned = _planned(run)
    apart = observed.distance(planned, mix)
    # the peak before the run, so the run's own load is not the peak it is measured against
    began = dt.datetime.fromisoformat(run.started_at).timestamp()
    peak_result = prom.query(peak_query(expect["load.capacity"]), at=began)
    peak = max((float(r["value"][1]) for r in peak_result), default=None)
    rate = run.totals.achieved_rps or run.totals.rps
    evidence.update(
        run=run.run_id,
        planned=planned,
        observed=mix.of_all,
        distance=apart,
        run_rps=rate,
        peak_rps=peak,
    )
    problems = []
    if apart > settings["max_distance"]:
        top = ", ".join(f"{key} {share:.0%}" for key, share in list(mix.of_all.items())[:3])
        weight = sum(planned.values()) or 1.0
        was = ", ".join(
            f"{key} {value / weight:.0%}"
            for key, value in sorted(planned.items(), key=lambda kv: -kv[1])[:3]
        )
        problems.append(
            f"its mix ({was}) differs from what users sent over {mix.window} ({top}) by {apart:.0%}"
            f" of requests (max {settings['max_distance']:.0%})"
        )
    if peak is not None and rate < peak:
        problems.append(
            f"its throughput {rate:.1f} req/s is under the observed peak of {peak:.1f} req/s"
        )
    assert not problems, (
        f"load run {run.run_id} ({profile}, {run.started_at}): {'; '.join(problems)}; plan the next"
        f" on what users send: nbaverify load --profile {profile} --mix observed"
    )
