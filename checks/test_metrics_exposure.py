"""GET /metrics parses and exposes Contract 2's families with the right types and labels.

Guide: System Monitoring / Metrics Collection / Application Metrics (response times, error rates,
request counts, cache hit/miss rates, WebSocket connection stats); Database Metrics (pool stats).
"""

import pytest

from nbaverify import exposition
from nbaverify.probes import metrics

pytestmark = [pytest.mark.area("monitoring")]


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("System Monitoring / Metrics Collection / Application Metrics")
def check_metrics_exposed(api, expect, evidence):
    """`GET /metrics` answers 200 in Prometheus text format with Contract 2's metric families, types
    and labels.

    Parsed with prometheus-client's own parser. The counters `http_requests_total`,
    `cache_hits_total` and `cache_misses_total`, the histogram `http_request_duration_seconds` and
    the gauge `websocket_connections_active` (`api.metrics.counters`, `histograms`, `gauges`) must
    be there with those types; `http_requests_total`, once it has samples, must carry the labels
    `method`, `route` and `status` (`api.metrics.request_labels`). The families found go into the
    evidence.

    When it fails: Run `curl -s URL` on the API's `/metrics` and compare with what the message
    names: a missing family, wrong type or labels is the API's prom-client registration (Contract
    2's names); a non-200 is the route not mounted or behind auth. The dashboards and alerts reading
    them are blind until it passes.
    """
    path = expect["api.metrics.path"]
    reply = api.get(path)
    assert reply.status_code == 200, (
        f"GET {api.url(path)} returned {reply.status_code}: Prometheus cannot scrape the API"
    )
    try:
        found = exposition.families(reply.text)
    except ValueError as exc:
        pytest.fail(f"GET {api.url(path)} is not Prometheus text format: {exc}")
    evidence["families"] = sorted(found)
    problems = []
    for kind, names in (
        ("counter", expect["api.metrics.counters"]),
        ("histogram", expect["api.metrics.histograms"]),
        ("gauge", expect["api.metrics.gauges"]),
    ):
        for name in names:
            family = found.get(name)
            if family is None:
                problems.append(f"{name} missing")
            elif family.type != kind:
                problems.append(f"{name} is a {family.type}, want a {kind}")
    requests = found.get("http_requests_total")
    want = set(expect["api.metrics.request_labels"])
    if requests is not None and requests.samples and not want <= metrics.label_names(requests):
        problems.append(
            f"http_requests_total labels {sorted(metrics.label_names(requests))}, want"
            f" {sorted(want)}"
        )
    assert not problems, f"GET {api.url(path)}: {'; '.join(problems)}"


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("System Monitoring / Metrics Collection / Database Metrics")
def check_pool_gauges_exposed(api, expect, evidence):
    """`/metrics` exposes at least one database pool gauge, under any common spelling.

    Contract 2 asks for database pool gauges without naming them, so any gauge matching
    `api.metrics.pool_gauges` will do: `db_pool_*`, `pg_pool_*`, `*_pool_connections*`,
    `*_pool_size*`, `*connection_pool*`, `hikaricp_connections*` or `pgbouncer_pools_*`
    (pg-pool/prom-client, psycopg/SQLAlchemy exporters, HikariCP, pgbouncer); a team may name its
    own there. Without one, pool exhaustion goes unseen. Skipped when `/metrics` does not answer 200
    or does not parse (`check_metrics_exposed` reports that).

    A warning: Contract 2 names no gauge to demand.

    When it fails: Expose the database pool as gauges on `/metrics` (pg-pool's `totalCount`,
    `idleCount`, `waitingCount` through prom-client), or, where yours exist under another name, add
    its pattern to `api.metrics.pool_gauges` in the profile's `[expectations]`.
    """
    path = expect["api.metrics.path"]
    reply = api.get(path)
    if reply.status_code != 200:
        pytest.skip(f"GET {api.url(path)} returned {reply.status_code} (see check_metrics_exposed)")
    try:
        found = exposition.families(reply.text)
    except ValueError as exc:
        pytest.skip(
            f"GET {api.url(path)} is not Prometheus text format ({exc}; see check_metrics_exposed)"
        )
    patterns = expect["api.metrics.pool_gauges"]
    pool = metrics.matching(found, patterns, "gauge")
    evidence["pool_gauges"] = pool
    assert pool, (
        f"GET {api.url(path)} has no database pool gauge (looked for gauges named"
        f" {', '.join(patterns)}): pool exhaustion would go unseen; expose one, or name yours in"
        " expectations api.metrics.pool_gauges"
    )
