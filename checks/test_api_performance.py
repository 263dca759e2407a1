"""API performance over a small sample: p95 under the guide's slow line, X-Response-Time truthful,
no errors, the stats endpoints cacheable as configured and served from the cache.

Guide: Performance Tuning / API Performance (Response Time Optimization, Cache Configuration);
System Monitoring / Metrics Collection / Application Metrics. Every sampled request counts against
the suite's request budget (expectations api.request_budget).
"""

import statistics

import pytest

from nbaverify.probes import health
from nbaverify.probes.metrics import counter_value

pytestmark = [pytest.mark.area("api")]

RESPONSE_TIME = "Performance Tuning / API Performance / Response Time Optimization"
CACHE = "Performance Tuning / API Performance / Cache Configuration"


@pytest.fixture(scope="module")
def sample(api, expect):
    """One sample shared by the checks below: per endpoint, `samples` requests with a valid token."""
    metrics_path = expect["api.metrics.path"]
    before = api.get(metrics_path)
    token, replies = api.token(), {}
    for path in expect["api.performance.endpoints"]:
        replies[path] = [api.get(path, token=token) for _ in range(expect["api.performance.samples"])]
    after = api.get(metrics_path)
    return replies, before, after


@pytest.mark.gate
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESPONSE_TIME)
def check_p95_latency(api, expect, sample, evidence):
    """The guide logs responses over 1000 ms as slow (a warn line): a warning, not a stopped deploy."""
    replies, _, _ = sample
    limit = expect["api.performance.max_p95_ms"]
    slow = []
    for path, answers in replies.items():
        times = sorted(r.elapsed.total_seconds() * 1000 for r in answers)
        p95 = statistics.quantiles(times, n=20, method="inclusive")[-1] if len(times) > 1 else times[0]
        evidence[path] = {"p95_ms": round(p95, 1), "max_ms": round(times[-1], 1), "n": len(times)}
        if p95 > limit:
            slow.append(f"{path} p95 {p95:.0f}ms over {len(times)} requests")
    assert not slow, (f"{api.base_url}: {'; '.join(slow)} (limit {limit}ms, the guide's slow-response line); users wait, "
                      "and the guide's timing middleware logs each as 'Slow response'")


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESPONSE_TIME)
def check_response_time_header_truthful(api, expect, sample):
    replies, _, _ = sample
    tolerance = expect["api.response_time_tolerance_ms"]
    wrong = []
    for path, answers in replies.items():
        for reply in answers:
            claimed = health.response_time_ms(reply.headers.get("x-response-time"))
            measured = reply.elapsed.total_seconds() * 1000
            if claimed is None or claimed > measured + tolerance:
                wrong.append(f"{path}: header {reply.headers.get('x-response-time')!r}, round trip {measured:.0f}ms")
                break
    assert not wrong, f"X-Response-Time on {api.base_url} is missing or exceeds the round trip: {'; '.join(wrong)}"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("System Monitoring / Metrics Collection / Application Metrics")
def check_error_rate(api, expect, sample, evidence):
    replies, _, _ = sample
    answers = [r for rs in replies.values() for r in rs]
    errors = [f"{r.request.url.path} {r.status_code}" for r in answers if r.status_code >= 500]
    ratio = len(errors) / len(answers)
    evidence.update(errors=len(errors), requests=len(answers))
    limit = expect["api.performance.max_error_ratio"]
    assert ratio <= limit, (
        f"{len(errors)} of {len(answers)} sampled requests to {api.base_url} failed ({ratio:.0%}, limit {limit:.0%}): "
        f"{', '.join(sorted(set(errors))[:3])}")


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(CACHE)
def check_cache_control(api, expect, sample, evidence):
    """Where the stats endpoints send Cache-Control, it must not forbid what the API's own cache does.

    The guide's cacheConfig (maxAge, staleWhileRevalidate, revalidateOnFocus, dedupingInterval) is a
    client-side data-fetching (SWR) configuration, not a response header: no header is demanded. A
    header that says no-store, no-cache or max-age=0 on a response the API serves from its cache
    tells every client to refetch what the server holds ready.
    """
    replies, _, _ = sample
    wrong = []
    for path in expect["api.performance.cached_endpoints"]:
        header = replies[path][0].headers.get("cache-control") if path in replies else None
        evidence[path] = header or "no Cache-Control (the guide asks for none)"
        forbids = cache_reuse_forbidden(header or "")
        if forbids:
            wrong.append(f"{path} says Cache-Control: {header!r} ({forbids})")
    assert not wrong, (
        f"stats endpoints on {api.base_url} tell clients not to reuse what the API caches: {'; '.join(wrong)}; "
        "send max-age (the guide's maxAge 3600) or no Cache-Control at all")


def cache_reuse_forbidden(header: str) -> str | None:
    directives = {d.split("=")[0].strip().lower(): d.partition("=")[2].strip() for d in header.split(",") if d.strip()}
    if "no-store" in directives:
        return "no-store: nothing may be kept"
    if "no-cache" in directives:
        return "no-cache: every use must be revalidated"
    if directives.get("max-age") == "0" and "stale-while-revalidate" not in directives:
        return "max-age=0: stale at once"
    return None


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(CACHE)
def check_cache_hit_ratio(api, expect, sample, evidence):
    _, before, after = sample
    path = expect["api.metrics.path"]
    if after.status_code != 200:
        pytest.fail(f"cannot read the cache counters: GET {api.url(path)} returned {after.status_code}")
    hits = counter_value(after.text, "cache_hits") - counter_value(before.text, "cache_hits")
    misses = counter_value(after.text, "cache_misses") - counter_value(before.text, "cache_misses")
    lookups = hits + misses
    ratio = hits / lookups if lookups else 0.0
    evidence.update(hits=hits, misses=misses)
    limit = expect["api.performance.min_cache_hit_ratio"]
    assert ratio >= limit, (
        f"cache hit ratio over the warm sample on {api.base_url} is {ratio:.0%} ({hits:g} hits, {misses:g} misses "
        f"from {expect['api.metrics.path']}), want at least {limit:.0%}: is the response cache on?")
