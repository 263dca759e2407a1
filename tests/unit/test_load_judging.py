"""The load verdict, offline: thresholds as data, Locust's CSV read back, the trend against the previous run."""

import pytest

from nbaverify.errors import ConfigError
from nbaverify.load import report, stats, thresholds

STATS_CSV = """Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,\
Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%
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
    limits = thresholds.parse_all([
        {"metric": "p95_ms", "endpoint": "all", "max": 1000.0, "abort": True},
        {"metric": "p99_ms", "endpoint": "all", "max": 1000.0},
        {"metric": "error_rate", "endpoint": "GET /api/players/[id]", "max": 0.01},
        {"metric": "rps", "endpoint": "all", "min": 50.0},
        {"metric": "p95_ms", "endpoint": "GET /nowhere", "max": 100.0},
    ])
    verdicts = {v.id: (v.outcome, v.message) for v in thresholds.evaluate(limits, table)}
    assert verdicts == {
        "p95_ms<=1000 [all]": ("passed", "p95 35ms on all requests (max 1000ms)"),
        "p99_ms<=1000 [all]": ("failed", "p99 1200ms on all requests (max 1000ms)"),
        "error_rate<=0.01 [GET /api/players/[id]]": ("failed", "error rate 2.00% on GET /api/players/[id] (max 1.00%)"),
        "rps>=50 [all]": ("failed", "throughput 40.0 req/s on all requests (min 50 req/s)"),
        "p95_ms<=100 [GET /nowhere]": ("failed", "no request named 'GET /nowhere' was made: nothing to judge"),
    }


@pytest.mark.parametrize(("entry", "problem"), [
    ({"metric": "p42"}, "metric must be one of"),
    ({"metric": "p95_ms", "max": 1.0, "min": 0.5}, "exactly one of max or min"),
    ({"metric": "p95_ms", "max": 1.0, "abourt": True}, "unknown key 'abourt'"),
])
def test_a_malformed_threshold_is_named(entry, problem):
    with pytest.raises(ConfigError, match=problem):
        thresholds.parse_all([entry])


def test_the_trend_flags_regressions_beyond_the_tolerance():
    before = {"run_id": "r1", "totals": {"p95_ms": 100.0, "p99_ms": 200.0, "rps": 50.0, "error_rate": 0.0}}
    now = {"totals": {"p95_ms": 105.0, "p99_ms": 300.0, "rps": 40.0, "error_rate": 0.02}}
    result = report.trend(now, before, tolerance_pct=10.0)
    flagged = {d["metric"] for d in result["deltas"] if d["regression"]}
    assert flagged == {"p99", "throughput", "error rate"}
    assert result["regressions"][0] == "p99 200 ms -> 300 ms (+50%, tolerance 10%)"
    assert report.trend(now, None, 10.0)["previous_run"] is None
