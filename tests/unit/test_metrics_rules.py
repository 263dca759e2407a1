"""Rule: demand only what the guide or the expectations name (the API's /metrics)."""

import tomllib

import pytest

from nbaverify.config import EXPECTATIONS_FILE
from nbaverify.exposition import families
from nbaverify.probes import metrics

PATTERNS = tomllib.loads(EXPECTATIONS_FILE.read_text())["api"]["metrics"]["pool_gauges"]


def exposition(*gauges: str) -> dict:
    text = "".join(f"# HELP {g} pool\n# TYPE {g} gauge\n{g} 4\n" for g in gauges)
    return families(
        text + "# HELP http_requests_total r\n# TYPE http_requests_total counter\n"
        'http_requests_total{method="GET"} 1\n'
    )


@pytest.mark.parametrize(
    "gauge",
    [
        "db_pool_connections",
        "pg_pool_total_count",
        "pg_pool_waiting_clients",
        "sqlalchemy_pool_size",
        "hikaricp_connections_active",
        "app_pool_connections_idle",
    ],
)
def test_the_common_spellings_of_a_pool_gauge_are_accepted(gauge):
    assert metrics.matching(exposition(gauge), PATTERNS, "gauge") == [gauge]


def test_no_pool_gauge_at_all_is_found_missing():
    assert metrics.matching(exposition("websocket_connections_active"), PATTERNS, "gauge") == []


def test_a_counter_does_not_stand_in_for_a_gauge():
    assert metrics.matching(exposition(), ["http_requests*"], "gauge") == []
