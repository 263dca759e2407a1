"""The capacity profile's pure parts: the knee search against platforms whose knee is known, the
step's verdict, Locust's figures merged, the projection through the autoscaler and the report's
sentence.
"""

from __future__ import annotations

import pytest

from nbaverify.errors import ConfigError
from nbaverify.loadtest import stats
from nbaverify.loadtest.fleet import Fleet, project
from nbaverify.loadtest.knee import KneeSearch, SearchSettings, Step
from nbaverify.reports import capacity_report

PROFILE = {
    "start_rps": 25,
    "max_rps": 3200,
    "growth": 2,
    "tolerance_pct": 5,
    "warmup_s": 2,
    "step_s": 4,
    "hold_s": 8,
    "max_steps": 16,
    "min_rps": 1,
}
SLO = {"slo_p95_ms": 1000, "slo_error_ratio": 0.01, "min_achieved_ratio": 0.95}


def settings(**changes) -> SearchSettings:
    return SearchSettings.of({**PROFILE, **changes}, SLO)


def platform(capacity: float, unsteady_above: float | None = None):
    """A platform that answers everything up to `capacity` req/s and `capacity` a second beyond
    it."""

    def step(phase: str, rate: float, number: int) -> Step:
        served = min(rate, capacity)
        if unsteady_above is not None and phase == "confirm" and rate > unsteady_above:
            served = rate * 0.5  # the longer hold shows what a short step missed
        result = Step(
            number=number,
            phase=phase,
            offered_rps=rate,
            duration_s=4,
            achieved_rps=served,
            requests=int(served * 4),
            p95_ms=40 if served == rate else 3000,
        )
        result.judge(settings())
        return result

    return step


def search(capacity: float, unsteady_above: float | None = None, **changes) -> KneeSearch:
    knee = KneeSearch(settings(**changes))
    answer = platform(capacity, unsteady_above)
    while (planned := knee.next()) is not None:
        knee.record(answer(*planned, len(knee.steps) + 1))
    return knee


@pytest.mark.parametrize("capacity", [30, 100, 137, 999, 2500])
def test_the_search_finds_a_known_knee_within_the_tolerance(capacity):
    knee = search(capacity)
    assert knee.confirmed and knee.note is None
    assert capacity / 1.05 <= knee.knee_rps <= capacity  # the highest rate that held, within 5 %
    assert knee.broke_at is not None and (knee.broke_at - knee.knee_rps) / knee.knee_rps <= 0.05
    assert knee.steps[-1].phase == "confirm" and len(knee.steps) <= 16 + 1


def test_a_knee_above_the_ladder_is_said_to_be_above_it():
    knee = search(10_000, max_rps=400)
    assert knee.knee_rps == 400 and knee.broke_at is None
    assert knee.note == "every rate up to max_rps 400 req/s held: the knee is above it"


def test_a_start_that_breaks_climbs_down():
    knee = search(7)
    assert [s.offered_rps for s in knee.steps][:3] == [25, 12.5, 6.25]
    assert 7 / 1.05 <= knee.knee_rps <= 7


def test_no_rate_holding_stops_the_search_with_the_reason():
    knee = search(0.1)
    assert knee.knee_rps is None
    assert knee.stopped == "no offered rate down to 1 req/s held"


def test_a_hold_that_breaks_steps_down_by_the_tolerance():
    knee = search(200, unsteady_above=195)
    confirms = [s for s in knee.steps if s.phase == "confirm"]
    assert not confirms[0].held and confirms[1].held
    assert confirms[1].offered_rps == pytest.approx(confirms[0].offered_rps / 1.05, abs=0.01)
    assert knee.knee_rps == confirms[1].offered_rps


def test_a_spent_budget_confirms_what_it_has_and_says_the_bracket_is_wide():
    knee = search(137, max_steps=5)
    assert knee.confirmed and len([s for s in knee.steps if s.phase != "confirm"]) == 5
    assert knee.note.startswith(
        "the step budget (5) ran out with the knee between 100 and 150 req/s"
    )


def test_the_budget_bounds_a_slow_climb_and_a_long_climb_down():
    climbing = search(10_000, growth=1.1, max_steps=6)
    assert len(climbing.steps) == 7 and climbing.knee_rps == climbing.steps[5].offered_rps
    assert (
        climbing.note
        == f"the step budget (6) ran out while climbing: the knee is above {climbing.knee_rps:g}"
        " req/s"
    )
    down = search(0.5, growth=1.1, max_steps=6, min_rps=0.01)
    assert len(down.steps) == 6 and down.knee_rps is None
    assert down.stopped == "the step budget (6) ran out before any offered rate held"


def test_a_step_breaks_on_each_reason_and_says_which():
    step = Step(
        number=1,
        phase="ladder",
        offered_rps=100,
        duration_s=4,
        achieved_rps=80,
        requests=400,
        failures=8,
        error_ratio=0.02,
        p95_ms=1500,
    )
    step.judge(settings())
    assert not step.held
    assert step.reasons == [
        "p95 1500 ms over the SLO's 1000 ms",
        "errors 2.00% over the SLO's 1.00%",
        "achieved 80.0 of 100.0 req/s offered (80%, under 95%: a backlog grows)",
    ]
    quiet = Step(number=2, phase="ladder", offered_rps=100, duration_s=4)
    quiet.judge(settings())
    assert quiet.reasons == ["no request was answered"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"growth": 1}, "growth must be over 1"),
        ({"start_rps": 5000}, "start_rps must be between min_rps and max_rps"),
        ({"step_s": 1}, "step_s and hold_s must be at least 3 s"),
        ({"tolerance_pct": "five"}, "not a number"),
    ],
)
def test_bad_search_settings_are_refused_in_one_line(changes, message):
    with pytest.raises(ConfigError, match=message):
        settings(**changes)


def entry(
    name: str,
    times: dict[int, int],
    per_second: dict[int, int],
    start: float,
    last: float,
    failures: int = 0,
):
    count = sum(times.values())
    return {
        "name": name,
        "num_requests": count,
        "num_failures": failures,
        "num_none_requests": 0,
        "response_times": {str(k): v for k, v in times.items()},
        "num_reqs_per_sec": {str(k): v for k, v in per_second.items()},
        "start_time": start,
        "last_request_timestamp": last,
    }


def test_figures_merge_as_locust_merges_them():
    merged = stats.merge_entries(
        [
            entry("s01: GET /a", {10: 90, 20: 5}, {100: 50, 101: 45}, 100.2, 101.9),
            entry("s01: GET /b", {30: 4, 900: 1}, {100: 3, 101: 2}, 100.1, 101.8, failures=1),
        ]
    )
    assert (merged.requests, merged.failures) == (100, 1)
    # as locust.stats.calculate_response_time_percentile
    assert (merged.p50_ms, merged.p95_ms, merged.p99_ms) == (10, 30, 900)
    assert merged.first_at == 100.1 and merged.last_at == 101.9


def test_the_achieved_rate_counts_whole_seconds_of_the_judged_part_only():
    # 110: a late backlog
    per_second = {100: 40, 101: 100, 102: 100, 103: 100, 104: 100, 105: 60, 110: 500}
    measured = stats.merge_entries([entry("s01: GET /a", {10: 1000}, per_second, 100.6, 110.5)])
    # seconds 101-103 (from the first answer, 4 s), not 100 or 110
    assert measured.achieved_rps(4) == 100.0
    assert stats.merge_entries([]).achieved_rps(4) == 0.0


def fleet(**changes) -> Fleet:
    base = {
        "deployment": "api",
        "replicas": 3,
        "hpa_max_replicas": 10,
        "hpa_target_utilization": 80.0,
        "max_connections": 197,
        "pool_max": 20,
    }
    return Fleet(**{**base, **changes})


def test_the_projection_is_linear_capped_by_the_database_and_held_to_the_target():
    assert fleet().database_cap == 9
    projection = project(300.0, fleet())
    assert projection.per_replica_rps == 100.0 and projection.scalable_replicas == 9
    assert projection.projected_max_rps == 720.0  # 100 a replica x 9 x 80 %
    assert project(300.0, fleet(max_connections=1000)).scalable_replicas == 10
    assert "the database's 197 connections run out at 20 per pod" in projection.assumption


def test_a_projection_without_replicas_or_autoscaler_says_so_with_none():
    assert project(300.0, fleet(replicas=None)).projected_max_rps is None
    assert (
        project(300.0, fleet(hpa_max_replicas=None, hpa_target_utilization=None)).projected_max_rps
        is None
    )
    assert project(None, fleet()).per_replica_rps is None


def test_the_report_sentence_carries_every_figure_or_says_unknown():
    plan = {
        "knee_rps": 300.0,
        "bracket": [300.0, 310.0],
        "slo": {"p95_ms": 1000, "error_ratio": 0.01},
        "tolerance": 0.05,
        "replicas": 3,
        "per_replica_rps": 100.0,
        "projected_max_rps": 720.0,
        "scalable_replicas": 9,
        "observed_peak_rps": None,
        "headroom": None,
        "min_headroom": 1.5,
    }
    assert (
        capacity_report.answer(plan)
        == "The platform held 300.0 req/s with p95 under 1000 ms and errors under 1%, known within"
        " 5%; 3 api replica(s) served it: 100.0 req/s each; the autoscaler and the database"
        " allow 9 replicas: about 720.0 req/s; the observed peak was unknown."
    )
    above = capacity_report.answer(
        {**plan, "bracket": [300.0, None], "observed_peak_rps": 240.0, "headroom": 3.0}
    )
    assert "300.0 req/s (the knee is above it: every rate tried held)" in above
    assert above.endswith("headroom 3.00x (minimum 1.5x).")


def test_the_sandbox_capacity_option_reads_slots_and_milliseconds():
    import argparse

    from nbaverify.cli import _capacity_limit

    assert _capacity_limit("4/40") == (4, 40.0)
    for bad in ("4", "0/40", "4/-1", "four/40"):
        with pytest.raises(
            argparse.ArgumentTypeError,
            match=r"not SLOTS/MS: .* \(e\.g\. 4/40: 4 at once, 40 ms each\)",
        ):
            _capacity_limit(bad)


def capacity_plan() -> dict:
    """A capacity object as summary.json holds it, from a search against a platform that holds 137
    req/s."""
    knee = search(137)
    fleet_of = fleet()
    projection = project(knee.knee_rps, fleet_of)
    return {
        "knee_rps": knee.knee_rps,
        "confirmed": True,
        "note": None,
        "bracket": [knee.held_at, knee.broke_at],
        "tolerance": 0.05,
        "slo": {"p95_ms": 1000.0, "error_ratio": 0.01, "min_achieved_ratio": 0.95},
        "replicas": 3,
        "per_replica_rps": projection.per_replica_rps,
        "hpa_max_replicas": 10,
        "scalable_replicas": projection.scalable_replicas,
        "projected_max_rps": projection.projected_max_rps,
        "observed_peak_rps": 120.0,
        "peak_query": "max_over_time((sum(rate(http_requests_total[5m])))[90d:5m])",
        "headroom": round(projection.projected_max_rps / 120.0, 2),
        "min_headroom": 1.5,
        "assumption": projection.assumption,
        "fleet": fleet_of.as_dict(),
        "search_wall_s": 120.0,
        "requests": 9000,
        "steps": [s.as_dict() for s in knee.steps],
        "previous_run": None,
        "previous_knee_rps": None,
    }


def capacity_report_files(out):
    """A capacity run's report, every format, from capacity_plan(); returns (summary, plan)."""
    from nbaverify.loadtest.summary import LoadSummary, LoadTotals
    from nbaverify.reports import load_report

    plan = capacity_plan()
    summary = LoadSummary(
        run_id="q4",
        target="staging",
        environment="staging",
        profile="capacity",
        model="open",
        workers=0,
        started_at="2026-12-01T00:00:00Z",
        duration_s=120.0,
        totals=LoadTotals(1000, 0, 136.0, 10, 20, 30, 0.0),
        capacity=plan,
    )
    load_report.write_all(summary, out, {load_report.CAPACITY_CHART: capacity_report.chart(plan)})
    return summary, plan


def test_the_capacity_report_renders_every_format_from_the_one_object(tmp_path):
    from nbaverify.loadtest.summary import LoadSummary

    summary, plan = capacity_report_files(tmp_path)
    assert (
        summary.status_line()
        == f"NBAVERIFY LOAD PASS - capacity: knee {plan['knee_rps']:g}/s ±5%, "
        f"{plan['per_replica_rps']:g}/s a replica, projected {plan['projected_max_rps']:g}/s, "
        f"peak 120/s, headroom {plan['headroom']:.2f}x (min 1.5x)"
    )
    md = (tmp_path / "summary.md").read_text()
    assert (
        "### Capacity" in md and capacity_report.answer(plan) in md and "### Thresholds" not in md
    )
    assert LoadSummary.read(tmp_path / "summary.json").capacity == plan
    assert (tmp_path / "capacity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
