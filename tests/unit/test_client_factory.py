"""Every client is built from the Target in one place: its address and secret from the profile, its
timeouts from the expectations, so a profile's timeout reaches the checks and the load planner
alike."""

import textwrap

import pytest

from nbaverify.clients import factory
from nbaverify.clients.api import rate_limited
from nbaverify.config import load_target

ENV = {"NBA_JWT_SECRET": "s3cret-value", "NBA_DB_DSN": "postgresql://mon:pw-123456@db:5432/nba"}
PROFILE = """
    name = "staging"
    environment = "staging"
    [api]
    base_url = "https://api.example.com"
    jwt_secret_env = "NBA_JWT_SECRET"
    [database]
    dsn_env = "NBA_DB_DSN"
    [prometheus]
    url = "http://prometheus:9090"
    [alertmanager]
    url = "http://am-0:9093"
    peers = ["http://am-1:9093"]
    [expectations.database]
    connect_timeout_s = 7
    statement_timeout_ms = 1234
    [expectations.api]
    timeout_s = 3
"""


def target(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(textwrap.dedent(PROFILE))
    return load_target(str(path), environ=ENV)


def test_the_database_takes_the_expectations_timeouts(tmp_path):
    db = factory.database(target(tmp_path))
    assert (db.role, db.where) == ("primary", "db:5432/nba")
    assert (db._connect_timeout_s, db._statement_timeout_ms) == (7, 1234)


def test_the_api_prometheus_and_every_alertmanager_take_the_profile_s_address_and_timeout(tmp_path):
    staging = target(tmp_path)
    api = factory.api(staging)
    # signed with the profile's secret
    assert api.base_url == "https://api.example.com" and api.token()
    prometheus = factory.prometheus(staging)
    assert prometheus.url == "http://prometheus:9090"
    assert [am.url for am in factory.alertmanagers(staging)] == [
        "http://am-0:9093",
        "http://am-1:9093",
    ]
    for client in (api, prometheus, *factory.alertmanagers(staging)):
        client.close()


@pytest.mark.parametrize(
    "path, counted",
    [
        ("/api/players?limit=1", True),
        ("/API/players", True),
        ("/api//players", True),
        ("/api%2Fplayers", True),
        ("//api/players", True),
        ("/health", False),
        ("/apiary", False),
        ("/metrics", False),
    ],
)
def test_every_spelling_of_the_data_prefix_counts_against_the_budget(path, counted):
    assert rate_limited(path) is counted
