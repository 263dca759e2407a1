"""GET /metrics parses and exposes Contract 2's families with the right types and labels.

Guide: System Monitoring / Metrics Collection / Application Metrics (response times, error rates,
request counts, cache hit/miss rates, WebSocket connection stats); Database Metrics (pool stats).
"""

import pytest

from nbaverify.probes import metrics

pytestmark = [pytest.mark.area("monitoring")]


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("System Monitoring / Metrics Collection / Application Metrics")
def check_metrics_exposed(api, expect, evidence):
    path = expect["api.metrics.path"]
    reply = api.get(path)
    assert reply.status_code == 200, f"GET {api.url(path)} returned {reply.status_code}: Prometheus cannot scrape the API"
    try:
        found = metrics.families(reply.text)
    except ValueError as exc:
        pytest.fail(f"GET {api.url(path)} is not Prometheus text format: {exc}")
    evidence["families"] = sorted(found)
    problems = []
    for kind, names in (("counter", expect["api.metrics.counters"]), ("histogram", expect["api.metrics.histograms"]),
                        ("gauge", expect["api.metrics.gauges"])):
        for name in names:
            family = found.get(name)
            if family is None:
                problems.append(f"{name} missing")
            elif family.type != kind:
                problems.append(f"{name} is a {family.type}, want a {kind}")
    requests = found.get("http_requests_total")
    want = set(expect["api.metrics.request_labels"])
    if requests is not None and requests.samples and not want <= metrics.label_names(requests):
        problems.append(f"http_requests_total labels {sorted(metrics.label_names(requests))}, want {sorted(want)}")
    assert not problems, f"GET {api.url(path)}: {'; '.join(problems)}"


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("System Monitoring / Metrics Collection / Database Metrics")
def check_pool_gauges_exposed(api, expect, evidence):
    """Contract 2 asks for "database pool gauges" without naming them: any common spelling will do."""
    path = expect["api.metrics.path"]
    reply = api.get(path)
    if reply.status_code != 200:
        pytest.skip(f"GET {api.url(path)} returned {reply.status_code} (see check_metrics_exposed)")
    try:
        found = metrics.families(reply.text)
    except ValueError as exc:
        pytest.skip(f"GET {api.url(path)} is not Prometheus text format ({exc}; see check_metrics_exposed)")
    patterns = expect["api.metrics.pool_gauges"]
    pool = metrics.matching(found, patterns, "gauge")
    evidence["pool_gauges"] = pool
    assert pool, (f"GET {api.url(path)} has no database pool gauge (looked for gauges named {', '.join(patterns)}): "
                  "pool exhaustion would go unseen; expose one, or name yours in expectations api.metrics.pool_gauges")
