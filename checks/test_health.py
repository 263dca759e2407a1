"""API health as the guide checks it: `curl .../health` and `curl .../health/detailed`.

Guide: System Monitoring / Health Checks / API Health; Performance Tuning / Response Time
Optimization (the X-Response-Time middleware).
"""

import pytest

from nbaverify.probes import health

pytestmark = [pytest.mark.area("api")]

API_HEALTH = "System Monitoring / Health Checks / API Health"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_HEALTH)
def check_health_ok(api, expect):
    path = expect["api.health_path"]
    reply = api.get(path)
    body = reply.text[:120]
    assert reply.status_code == 200, (
        f"GET {api.url(path)} returned {reply.status_code}, expected 200; body: {body!r}; "
        "check the API pods (kubectl get pods -n nba-stats) and their logs")
    assert reply.headers.get("content-type", "").startswith("application/json") and reply.json() == {"status": "ok"}, (
        f"GET {api.url(path)} body is {body!r}, expected {{\"status\": \"ok\"}}")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_HEALTH)
def check_health_detailed_all_ok(api, expect):
    path = expect["api.health_detailed_path"]
    report = health.detailed(api, path)
    assert report.problem is None, f"GET {api.url(path)} (HTTP {report.http_status}): {report.problem}"
    not_ok = [f"{name} is {report.component_status(name) or 'missing'}"
              for name in expect["api.health_components"] if report.component_status(name) != "ok"]
    assert not not_ok and report.overall == "ok" and report.http_status == 200, (
        f"GET {api.url(path)}: {', '.join(not_ok) or 'components ok'} (overall {report.overall!r}, "
        f"HTTP {report.http_status}); expected every component ok; follow the component's own checks "
        "(database, replication) in this report")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_HEALTH)
def check_health_detailed_agrees_with_suite(api, expect, db, replica):
    """A health endpoint that says ok without looking is worse than none: compare with what we see."""
    path = expect["api.health_detailed_path"]
    report = health.detailed(api, path)
    assert report.problem is None, f"GET {api.url(path)} (HTTP {report.http_status}): {report.problem}"
    disagreements = []
    for name, server in (("database", db), ("replica", replica)):
        claimed = report.component_status(name)
        reachable, why = server.ping()
        if claimed == "ok" and not reachable:
            disagreements.append(f"it reports {name} ok but the suite finds {server.role} {server.where} down ({why})")
    assert not disagreements, (
        f"GET {api.url(path)} is not telling the truth: {'; '.join(disagreements)}; "
        "the health endpoint is not really checking that component")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Performance Tuning / API Performance / Response Time Optimization")
@pytest.mark.parametrize("path_key", ["api.health_path", "api.health_detailed_path"])
def check_response_time_header(api, expect, path_key, evidence):
    path = expect[path_key]
    reply = api.get(path)
    header = reply.headers.get("x-response-time")
    assert header is not None, (
        f"X-Response-Time header missing on GET {api.url(path)}; the guide's timing middleware "
        "(Response Time Optimization) is not installed, so slow responses go unlogged")
    claimed_ms = health.response_time_ms(header)
    assert claimed_ms is not None, f"X-Response-Time on GET {api.url(path)} is {header!r}, expected '<n>ms'"
    measured_ms = reply.elapsed.total_seconds() * 1000
    evidence["x_response_time_ms"], evidence["measured_ms"] = claimed_ms, round(measured_ms, 1)
    tolerance = expect["api.response_time_tolerance_ms"]
    assert claimed_ms <= measured_ms + tolerance, (
        f"X-Response-Time on GET {api.url(path)} says {claimed_ms:.0f}ms but the whole round trip took "
        f"{measured_ms:.0f}ms; the header cannot exceed what the client measured")
