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
    """`GET /health` answers 200 with a JSON body of exactly `{"status": "ok"}`.

    The path is `api.health_path` (`/health`), and the reply's `Content-Type` must be
    `application/json`. Another status fails with the body quoted and a pointer to the API pods
    (`kubectl get pods -n nba-stats`) and their logs.

    When it fails: Run the guide's `curl -i .../health`, then `kubectl get pods` in the API's
    namespace and `kubectl logs -f deployment/api` (API Debugging) for why. The guide's recovery
    (`kubectl rollout restart deployment api`, scaling up) is the operators' call once the logs say
    why.
    """
    path = expect["api.health_path"]
    reply = api.get(path)
    body = reply.text[:120]
    assert reply.status_code == 200, (
        f"GET {api.url(path)} returned {reply.status_code}, expected 200; body: {body!r}; "
        "check the API pods (kubectl get pods -n nba-stats) and their logs"
    )
    assert reply.headers.get("content-type", "").startswith(
        "application/json"
    ) and reply.json() == {"status": "ok"}, (
        f'GET {api.url(path)} body is {body!r}, expected {{"status": "ok"}}'
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_HEALTH)
def check_health_detailed_all_ok(api, expect):
    """`GET /health/detailed` answers 200 with an overall status `ok` and each expected component
    `ok`.

    The path is `api.health_detailed_path` (`/health/detailed`); the components are those of
    `api.health_components` (`database`, `replica`: Contract 2), each read from the body's `checks`
    object. A body that is not JSON, or has no `checks` object, fails saying so.

    When it fails: Run the guide's `curl .../health/detailed` and follow the component not ok:
    `database` to `check_primary_accepts_connections`, `replica` to the replication checks of this
    run. Overall not ok with every component ok is the API's own doing: read `kubectl logs -f
    deployment/api`.
    """
    path = expect["api.health_detailed_path"]
    report = health.detailed(api, path)
    assert report.problem is None, (
        f"GET {api.url(path)} (HTTP {report.http_status}): {report.problem}"
    )
    not_ok = [
        f"{name} is {report.component_status(name) or 'missing'}"
        for name in expect["api.health_components"]
        if report.component_status(name) != "ok"
    ]
    assert not not_ok and report.overall == "ok" and report.http_status == 200, (
        f"GET {api.url(path)}: {', '.join(not_ok) or 'components ok'} (overall {report.overall!r},"
        f" HTTP {report.http_status}); expected every component ok; follow the component's own"
        " checks (database, replication) in this report"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_HEALTH)
def check_health_detailed_agrees_with_suite(api, expect, db, replica):
    """`/health/detailed` reports no component `ok` that the suite itself finds down.

    A health endpoint that says ok without looking is worse than none. The suite pings the primary
    and the replica itself: the endpoint's `database` or `replica` reported `ok` while the suite
    cannot reach that server (a replica the suite finds down must not be reported ok) means the
    endpoint is not really checking that component. A component the endpoint reports not ok is
    `check_health_detailed_all_ok`'s finding.

    When it fails: First check the suite's own path: if the other database checks of this run also
    fail to connect while the API serves data, the suite's DSN or network is at fault, not the
    endpoint. Otherwise make `/health/detailed` run a real query (`SELECT 1`) on each component
    instead of reporting `ok` unconditionally.
    """
    path = expect["api.health_detailed_path"]
    report = health.detailed(api, path)
    assert report.problem is None, (
        f"GET {api.url(path)} (HTTP {report.http_status}): {report.problem}"
    )
    disagreements = []
    for name, server in (("database", db), ("replica", replica)):
        claimed = report.component_status(name)
        reachable, why = server.ping()
        if claimed == "ok" and not reachable:
            disagreements.append(
                f"it reports {name} ok but the suite finds {server.role} {server.where} down"
                f" ({why})"
            )
    assert not disagreements, (
        f"GET {api.url(path)} is not telling the truth: {'; '.join(disagreements)}; "
        "the health endpoint is not really checking that component"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Performance Tuning / API Performance / Response Time Optimization")
@pytest.mark.parametrize("path_key", ["api.health_path", "api.health_detailed_path"])
def check_response_time_header(api, expect, path_key, evidence):
    """`X-Response-Time` is present on the health endpoints, reads `<n>ms`, and claims no more than
    the measured round trip.

    One case per path: `api.health_path` (`/health`) and `api.health_detailed_path`
    (`/health/detailed`). The header is the guide's timing middleware's: without it slow responses
    go unlogged. Measured inside the server, it may exceed the round trip the client measured by no
    more than `api.response_time_tolerance_ms` (5 ms, for clock granularity); both figures go into
    the evidence.

    When it fails: Run `curl -sI URL` on the path named and check that the guide's timing middleware
    (Response Time Optimization) is registered first, before the routes, so it wraps every response;
    a value larger than the round trip means it is computed wrongly (unit or clock).
    """
    path = expect[path_key]
    reply = api.get(path)
    header = reply.headers.get("x-response-time")
    assert header is not None, (
        f"X-Response-Time header missing on GET {api.url(path)}; the guide's timing middleware "
        "(Response Time Optimization) is not installed, so slow responses go unlogged"
    )
    claimed_ms = health.response_time_ms(header)
    assert claimed_ms is not None, (
        f"X-Response-Time on GET {api.url(path)} is {header!r}, expected '<n>ms'"
    )
    measured_ms = reply.elapsed.total_seconds() * 1000
    evidence["x_response_time_ms"], evidence["measured_ms"] = claimed_ms, round(measured_ms, 1)
    tolerance = expect["api.response_time_tolerance_ms"]
    assert claimed_ms <= measured_ms + tolerance, (
        f"X-Response-Time on GET {api.url(path)} says {claimed_ms:.0f}ms but the whole round trip"
        f" took {measured_ms:.0f}ms; the header cannot exceed what the client measured"
    )
