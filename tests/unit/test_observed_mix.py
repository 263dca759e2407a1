"""The users' traffic mix read from request counts by route: routes folded as both reference APIs
name them, the routes no scenario sends left out and said, and the distance between a plan and what
users sent."""

from __future__ import annotations

import importlib.util
import tomllib

import pytest

from nbaverify import shipped
from nbaverify.loadtest import observed
from nbaverify.reports import mix_report

SETTINGS = {"window": "90d", "min_share": 0.01, "ignore_routes": ["/metrics", "unmatched"]}


@pytest.mark.parametrize(
    "route", ["/api/players/{id}", "/api/players/:id", "/api/players/17", "/api/players/[id]/"]
)
def test_both_apis_route_labels_fold_alike(route):
    assert observed.fold(route) == "/api/players/[id]"


def test_a_middleware_mount_is_no_route():
    assert observed.fold("/api(.*)") == "unmatched"


def test_the_scenarios_requests_are_the_routes_the_mix_knows():
    spec = importlib.util.spec_from_file_location(
        "load_common", shipped.LOCUSTFILE.parent / "common.py"
    )
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    named = {
        key: observed.fold(name.split(" ", 1)[1]) for key, (name, _, _) in common.ENDPOINTS.items()
    }
    assert named == observed.SCENARIO_ROUTES


def test_shares_come_from_counts_by_route_and_the_unknown_is_left_out():
    counts = {
        "/api/players": 400,
        "/api/players/:id": 200,
        "/api/players/{id}": 100,
        "/api/teams": 200,
        "/metrics": 5000,
        "unmatched": 30,
        "/api/games/{id}/stats": 5,
        "/health": 95,
    }
    mix = observed.from_counts(counts, SETTINGS)
    assert mix.total == 1000
    assert mix.of_all == {
        "players": 0.4,
        "player": 0.3,
        "/api/teams": 0.2,
        "health": 0.095,
        "game_stats": 0.005,
    }
    # game_stats under 1 %, /api/teams unknown
    assert mix.weights == {"players": 50.3, "player": 37.7, "health": 11.9}
    assert mix.left_out == {"/api/teams": 0.2, "game_stats": 0.005}
    assert "left out: /api/teams 20.0%, game_stats 0.5%" in mix.describe()


def test_no_scenario_request_counted_is_no_mix():
    assert observed.from_counts({"/metrics": 10, "/api/teams": 3}, SETTINGS) is None
    assert observed.from_counts({}, SETTINGS) is None


def test_distance_is_the_share_of_requests_that_differ():
    mix = observed.from_counts({"/api/players": 50, "/api/projections/{player_id}": 50}, SETTINGS)
    assert observed.distance({"players": 1, "projections": 1}, mix) == 0
    assert observed.distance({"players": 3, "projections": 1}, mix) == 0.25
    assert observed.distance({"health": 1}, mix) == 1
    unknown = observed.from_counts({"/api/players": 80, "/api/teams": 20}, SETTINGS)
    # what no scenario sends is traffic the plan lacks
    assert observed.distance({"players": 1}, unknown) == 0.2


def test_the_report_rows_set_plan_beside_observed():
    mix = {
        "source": "expectations",
        "planned": {"players": 60, "player": 40},
        "window": "90d",
        "observed": {"players": 0.5, "/api/teams": 0.5},
        "observed_requests": 10,
        "distance": 0.5,
    }
    assert mix_report.rows(mix) == [
        ("players", 0.6, 0.5),
        ("/api/teams", 0.0, 0.5),
        ("player", 0.4, 0.0),
    ]
    assert "by 50% of requests" in mix_report.summary_line(mix)


def test_the_shipped_expectations_configure_the_observed_mix():
    expectations = tomllib.loads(shipped.EXPECTATIONS.read_text())
    assert expectations["load"]["mix"] in ("expectations", "observed")
    assert set(SETTINGS) <= set(expectations["load"]["observed"])


def test_growth_is_the_mean_quarter_over_quarter_ratio():
    assert observed.growth_of([120.0, 100.0, 80.0]) == round((1.2 + 1.25) / 2, 3)
    assert observed.growth_of([120.0]) is None


class _Prometheus:
    """Answers peak queries by their offset: the quarters' peaks, newest first."""

    def __init__(self, peaks):
        self.peaks, self.asked = peaks, []

    def query(self, expr, at=None):
        self.asked.append(expr)
        quarter = int(expr.rsplit("offset ", 1)[1].rstrip("d)")) // 90 if "offset" in expr else 0
        return [{"value": [at, str(self.peaks[quarter])]}] if quarter < len(self.peaks) else []


SETTINGS_RATE = {
    **SETTINGS,
    "counter": "http_requests_total",
    "peak_quantile": 0.99,
    "peak_step": "5m",
    "growth": 1.1,
}


def test_the_observed_rate_is_peak_times_growth_times_headroom():
    import datetime as dt

    now = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)
    trended, _ = observed.rate(_Prometheus([40.0, 32.0]), SETTINGS_RATE, 1.5, now)
    assert (trended.peak_rps, trended.growth, trended.target_rps) == (40.0, 1.25, 75.0)
    assert "the trend of 2 quarters' peaks" in trended.describe()
    alone, _ = observed.rate(_Prometheus([40.0]), SETTINGS_RATE, 1.5, now)
    assert (alone.growth, alone.target_rps) == (1.1, 66.0) and "the profile's" in alone.growth_from
    nothing, why = observed.rate(_Prometheus([]), SETTINGS_RATE, 1.5, now)
    assert nothing is None and "no request rate" in why


class _RangePrometheus:
    """Answers a range query with a day's rates, one a step, for `days` whole days ending at `end`
    (the last day the busiest); the first step of the window left without a sample (Prometheus had
    just started)."""

    def __init__(self, curves):
        self.curves = curves

    def query_range(self, expr, start, end, step_s):
        rates = [rate for curve in self.curves for rate in curve]
        times = [end - step_s * n for n in range(len(rates) - 1, -1, -1)]
        return [{"values": [[t, str(r)] for t, r in zip(times, rates, strict=True)][1:]}]


def test_the_busiest_whole_day_is_replayed_compressed_with_its_peak_at_the_plateau():
    import datetime as dt

    settings = {**SETTINGS_RATE, "window": "6h", "day": "2h", "day_step": "1h"}
    end = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
    # the oldest day lacks its first step (not whole); of the two whole days the middle one has more
    # requests
    day, expr = observed.busiest_day(
        _RangePrometheus([[90.0, 90.0], [10.0, 40.0], [5.0, 20.0]]), settings, end
    )
    assert expr == "sum(rate(http_requests_total[1h]))"
    assert (day.rates, day.start) == ([10.0, 40.0], (end - dt.timedelta(hours=4)).timestamp())
    assert day.stages(total_s=60, peak_rps=80) == [
        {"duration_s": 30.0, "rate": 20.0},
        {"duration_s": 30.0, "rate": 80.0},
    ]
    assert "the busiest day, from 2026-12-06 08:00 UTC (2 steps of 3600s" in day.describe(60, 80)
    nothing, why = observed.busiest_day(_RangePrometheus([[0.0, 0.0]]), settings, end)
    assert nothing is None and "no whole day of 2h with requests" in why


def test_the_mix_from_access_lines_counts_the_window_folded_as_prometheus_labels_it():
    import datetime as dt

    until = dt.datetime(2026, 12, 6, 12, 0, tzinfo=dt.UTC)
    stamp = "2026-12-06T11:59:59.000000000Z "  # the kubelet's time, as pod logs are read
    lines = [
        stamp
        + '127.0.0.3 - - [06/Dec/2026:11:59:30 +0000] "GET /api/players?limit=20 HTTP/1.1" 200 512'
        ' "-" "users"',
        (
            '127.0.0.4 - - [06/Dec/2026:11:59:40 +0000] "GET /api/players/17 HTTP/1.1" 200 80 "-"'
            ' "users"'
        ),
        (
            '127.0.0.4 - - [06/Dec/2026:11:59:41 +0000] "GET /api/players/18/stats HTTP/1.1" 200 80'
            ' "-" "users"'
        ),
        (
            '127.0.0.1 - - [06/Dec/2026:11:59:42 +0000] "GET /metrics HTTP/1.1" 200 9000 "-"'
            ' "Prometheus/2.45"'
        ),
        # before
        (
            '127.0.0.4 - - [06/Dec/2026:11:58:59 +0000] "GET /api/players/19 HTTP/1.1" 200 80 "-"'
            ' "users"'
        ),
        "2026-12-06T11:59:50.000Z warn Slow response: /api/players took 1200ms",
    ]
    start = until - dt.timedelta(minutes=1)
    mix, counted = observed.from_log_lines(lines, SETTINGS, start, until)
    assert counted == 4  # /metrics is counted, then ignored as Prometheus's scrapes are
    assert mix.of_all == {"players": 1 / 3, "player": 1 / 3, "player_stats": 1 / 3}
    # the oldest counted line, not the window asked for
    assert mix.window == "the log's last 30s (of 90d asked)"
    assert observed.from_log_lines(lines[-1:], SETTINGS, start, until) == (None, 0)
