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
@pytest.mark.severity("critical")
@pytest.mark.runbook(RESPONSE_TIME)
def check_p95_latency(api, expect, sample, evidence):
    replies, _, _ = sample
    limit = expect["api.performance.max_p95_ms"]
    slow = []
    for path, answers in replies.items():
        times = sorted(r.elapsed.total_seconds() * 1000 for r in answers)
        p95 = statistics.quantiles(times, n=20, method="inclusive")[-1] if len(times) > 1 else times[0]
        evidence[path] = {"p95_ms": round(p95, 1), "max_ms": round(times[-1], 1), "n": len(times)}
        if p95 > limit:
            slow.append(f"{path} p95 {p95:.0f}ms over {len(times)} requests")
    assert not slow, f"{api.base_url}: {'; '.join(slow)} (limit {limit}ms, the guide's slow-response line)"


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
def check_cache_control(api, expect, sample):
    replies, _, _ = sample
    max_age, swr = expect["api.performance.cache_max_age"], expect["api.performance.cache_stale_while_revalidate"]
    wrong = []
    for path in expect["api.performance.cached_endpoints"]:
        header = replies[path][0].headers.get("cache-control", "") if path in replies else ""
        if f"max-age={max_age}" not in header or f"stale-while-revalidate={swr}" not in header:
            wrong.append(f"{path}: {header or 'no Cache-Control'!r}")
    assert not wrong, (
        f"stats endpoints on {api.base_url} lack the guide's cache settings (max-age={max_age}, "
        f"stale-while-revalidate={swr}): {'; '.join(wrong)}")


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
