"""The load verdict, offline: thresholds as data, Locust's CSV read back, the trend against the
previous run."""

import json

import pytest

from nbaverify.errors import ConfigError
from nbaverify.exit_codes import EXIT_INTERRUPTED
from nbaverify.loadtest import past_runs, stats, thresholds
from nbaverify.loadtest.summary import LoadSummary, LoadTotals, Trend
from nbaverify.reports import load_report

STATS_CSV = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,\
Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,\
50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
GET,GET /api/players/[id],100,2,10,12,3,900,120,10.0,0.2,10,11,12,13,20,40,60,800,900,900,900
,Aggregated,400,2,9,11,2,1500,110,40.0,0.2,9,10,11,12,18,35,55,1200,1500,1500,1500
"""


@pytest.fixture
def table(tmp_path):
    (tmp_path / "locust_stats.csv").write_text(STATS_CSV)
    return stats.read_final(tmp_path / "locust")


def test_locust_s_final_table_is_read_with_aggregated_as_all(table):
    assert table["all"].requests == 400 and table["all"].p99_ms == 1200
    assert table["GET /api/players/[id]"].error_rate == 0.02


def test_each_threshold_becomes_one_verdict_line(table):
    limits = thresholds.parse_all(
        [
            {"metric": "p95_ms", "endpoint": "all", "max": 1000.0, "abort": True},
            {"metric": "p99_ms", "endpoint": "all", "max": 1000.0},
            {"metric": "error_rate", "endpoint": "GET /api/players/[id]", "max": 0.01},
            {"metric": "rps", "endpoint": "all", "min": 50.0},
            {"metric": "p95_ms", "endpoint": "GET /nowhere", "max": 100.0},
        ]
    )
    verdicts = {v.id: (v.outcome, v.message) for v in thresholds.evaluate(limits, table)}
    assert verdicts == {
        "p95_ms<=1000 [all]": ("passed", "p95 35ms on all requests (max 1000ms)"),
        "p99_ms<=1000 [all]": ("failed", "p99 1200ms on all requests (max 1000ms)"),
        "error_rate<=0.01 [GET /api/players/[id]]": (
            "failed",
            "error rate 2.00% on GET /api/players/[id] (max 1.00%)",
        ),
        "rps>=50 [all]": ("failed", "throughput 40.0 req/s on all requests (min 50 req/s)"),
        "p95_ms<=100 [GET /nowhere]": (
            "failed",
            "no request named 'GET /nowhere' was made: nothing to judge",
        ),
    }


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"metric": "p42"}, "metric must be one of"),
        ({"metric": "p95_ms", "max": 1.0, "min": 0.5}, "exactly one of max or min"),
        ({"metric": "p95_ms", "max": 1.0, "abourt": True}, "unknown key 'abourt'"),
    ],
)
def test_a_malformed_threshold_is_named(entry, problem):
    with pytest.raises(ConfigError, match=problem):
        thresholds.parse_all([entry])


def totals(p95_ms: float, p99_ms: float, rps: float, error_rate: float) -> LoadTotals:
    return LoadTotals(
        requests=1000,
        failures=0,
        rps=rps,
        p50_ms=10.0,
        p95_ms=p95_ms,
        p99_ms=p99_ms,
        error_rate=error_rate,
    )


def summary(run_id: str, t: LoadTotals, **kw) -> LoadSummary:
    return LoadSummary(
        run_id=run_id,
        target="staging",
        environment="staging",
        profile="smoke",
        model="closed",
        workers=0,
        started_at=f"2026-11-0{run_id[-1]}T10:00:00Z",
        duration_s=30.0,
        totals=t,
        **kw,
    )


def test_the_trend_flags_regressions_beyond_the_tolerance():
    before = summary("r1", totals(100.0, 200.0, 50.0, 0.0))
    result = Trend.between(totals(105.0, 300.0, 40.0, 0.02), before, tolerance_pct=10.0)
    assert {d.metric for d in result.deltas if d.regression} == {"p99", "throughput", "error rate"}
    assert result.regressions[0] == "p99 200 ms -> 300 ms (+50%, tolerance 10%)"
    assert Trend.between(before.totals, None, 10.0).previous_run is None


def test_the_summary_round_trips_through_its_json(tmp_path, table):
    limits = thresholds.parse_all([{"metric": "p99_ms", "endpoint": "all", "max": 1000.0}])
    first = summary(
        "r1",
        totals(100.0, 1200.0, 40.0, 0.005),
        thresholds=thresholds.evaluate(limits, table),
        problems=["threshold p99_ms<=1000 [all]: p99 1200ms on all requests (max 1000ms)"],
        endpoints=[table["GET /api/players/[id]"]],
    )
    first.trend = Trend.between(first.totals, summary("r0", totals(90.0, 900.0, 41.0, 0.0)), 10.0)
    first.write(tmp_path / "summary.json")
    raw = json.loads((tmp_path / "summary.json").read_text())
    # read by schedulers without us
    assert (raw["kind"], raw["verdict"], raw["exit_code"]) == ("load", "FAIL", 1)
    assert raw["status_line"].startswith("NBAVERIFY LOAD FAIL - 0/1 thresholds, 1000 requests")
    assert LoadSummary.read(tmp_path / "summary.json") == first


def test_an_interrupted_run_is_its_own_verdict_and_no_baseline_for_the_trend(tmp_path):
    cut = summary(
        "r2",
        totals(100.0, 200.0, 50.0, 0.0),
        interrupted=True,
        problems=["interrupted after 9s of 30s"],
    )
    assert (cut.verdict, cut.exit_code, cut.comparable) == ("INTERRUPTED", EXIT_INTERRUPTED, False)
    whole = summary("r1", totals(100.0, 200.0, 50.0, 0.0))
    for run in (whole, cut):
        (tmp_path / run.run_id).mkdir()
        run.write(tmp_path / run.run_id / "summary.json")
    (tmp_path / "junk").mkdir()
    # a check run's record is not a load run's
    (tmp_path / "junk" / "summary.json").write_text('{"kind": "check"}')
    assert (
        past_runs.previous_summary(tmp_path, tmp_path / "r3", "staging", "smoke", "closed") == whole
    )
    assert "INTERRUPTED" in load_report.terminal_lines(cut)[
        -1
    ] and "interrupted" in load_report.markdown(cut)


def test_a_scenario_that_raised_fails_the_run_with_its_commonest_error(tmp_path):
    # Locust leaves a raising task out of every count: without this line such a run reads "errors
    # 0.00%"
    prefix = tmp_path / "locust"
    assert stats.scenario_problem(prefix) is None
    (tmp_path / "locust_exceptions.csv").write_text(
        'Count,Message,Traceback,Nodes\n3,KeyError: \'x\',"  File ""common.py"", line'
        ' 1",local\n9666,Random.randint() takes 3 positional arguments but 6 were given,"  File'
        ' ""common.py"", line 40",local\n'
    )
    line = stats.scenario_problem(prefix)
    assert (
        line == "the load scenarios raised 9669 time(s) instead of sending a request (9666 x"
        " 'Random.randint() takes 3 positional arguments but 6 were given' and 1 other"
        f" error(s)): the figures leave those turns out; tracebacks in {prefix}_exceptions.csv"
    )
