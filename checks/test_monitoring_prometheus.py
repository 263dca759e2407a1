"""Prometheus, live: ready, every target scraped and fresh, the expected alerts loaded and quiet,
every series a rule or dashboard reads present, and the weekly service levels.

Guide: System Monitoring / Monitoring Tools / Prometheus Setup; Maintenance Schedule / Daily Tasks
(Monitor system health, Verify metrics collection) and Weekly Tasks (Review performance metrics).
"""

import datetime as dt
import math

import pytest

from nbaverify.checking import expectations_at_collection
from nbaverify.eventually import eventually
from nbaverify.probes import monitoring
from nbaverify.thresholds import duration_seconds

pytestmark = [pytest.mark.area("monitoring")]

SETUP = "System Monitoring / Monitoring Tools / Prometheus Setup"
VERIFY_METRICS = "Maintenance Schedule / Daily Tasks / Verify metrics collection"


def pytest_generate_tests(metafunc):
    if "job" in metafunc.fixturenames:  # the jobs a team names, else one case for every job Prometheus scrapes
        jobs = expectations_at_collection(metafunc.config)["monitoring.jobs"]
        metafunc.parametrize("job", jobs or [None], ids=jobs or ["every job"])


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(SETUP)
def check_prometheus_ready(prom):
    ready, detail = prom.ready()
    assert ready, f"Prometheus at {prom.url} is not ready ({detail}); kubectl get pods -n monitoring"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(VERIFY_METRICS)
def check_scrape_targets_up(prom, expect, job, evidence):
    """Every target of a job (of every job Prometheus scrapes, unless the expectations name some) is up and was
    scraped within freshness_intervals of its interval; a named job with no target at all is lost."""
    targets = [t for t in prom.targets() if job is None or t["labels"].get("job") == job]
    assert targets, (f"Prometheus at {prom.url} has no target for job '{job}': the scrape config lost it" if job
                     else f"Prometheus at {prom.url} scrapes nothing: it has no active target")
    now = dt.datetime.now(dt.UTC)
    problems = []
    for t in targets:
        where = f"job '{t['labels'].get('job')}': {t['scrapeUrl']}"
        if t["health"] != "up":
            problems.append(f"{where} is {t['health']}" + (f" ({t['lastError']})" if t["lastError"] else ""))
            continue
        age = (now - dt.datetime.fromisoformat(t["lastScrape"].replace("Z", "+00:00"))).total_seconds()
        limit = expect["monitoring.freshness_intervals"] * duration_seconds(t["scrapeInterval"])
        evidence[where] = round(age, 1)
        if age > limit:
            problems.append(f"{where} last scraped {age:.0f}s ago (limit {limit:g}s)")
    assert not problems, f"on {prom.url}: {'; '.join(problems)}"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("System Monitoring / Monitoring Tools / Alert Configuration")
def check_expected_alerts_loaded(prom, expect):
    """Each alert as the platform ships it is loaded with the same expression, `for` and severity."""
    loaded = {r["name"]: r for r in prom.alerting_rules()}
    problems = []
    for rule in monitoring.alerting_rules(monitoring.resolve(expect["monitoring.expected_rules_dir"])):
        name, got = rule["alert"], loaded.get(rule["alert"])
        if got is None:
            problems.append(f"{name} is not loaded")
            continue
        if " ".join(got["query"].split()) != " ".join(str(rule["expr"]).split()):
            problems.append(f"{name} evaluates '{got['query']}', expected '{' '.join(str(rule['expr']).split())}'")
        if got.get("duration", 0) != duration_seconds(rule.get("for", "0s")):
            problems.append(f"{name} has for {got.get('duration', 0):g}s, expected {rule.get('for', '0s')}")
        if got.get("labels", {}).get("severity") != rule.get("labels", {}).get("severity"):
            problems.append(f"{name} has severity {got.get('labels', {}).get('severity')!r}, "
                            f"expected {rule.get('labels', {}).get('severity')!r}")
    assert not problems, f"Prometheus at {prom.url}: {'; '.join(problems)}; reload the rule files (POST /-/reload)"


@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("Maintenance Schedule / Daily Tasks / Monitor system health")
def check_no_critical_alerts_active(prom):
    active = [a for a in prom.alerts()
              if a["labels"].get("severity") == "critical" and a["state"] in ("pending", "firing")]
    described = "; ".join(
        f"{a['labels']['alertname']} {a['state']} since {a.get('activeAt', '?')[:19]} "
        f"({', '.join(f'{k}={v}' for k, v in sorted(a['labels'].items()) if k not in ('alertname', 'severity'))})"
        for a in active[:3])
    assert not active, f"{len(active)} critical alert(s) active in {prom.url}: {described}"


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(VERIFY_METRICS)
def check_queried_series_exist(prom, expect, evidence):
    """pint-style: a rule or panel that reads a metric no target exports is a silent blind spot. A metric a target
    declares (# TYPE) but has not counted yet is exported, not missing."""
    readers: dict[str, set[str]] = {}
    for rule in monitoring.alerting_rules(monitoring.resolve(expect["monitoring.rules_dir"])):
        for name in monitoring.metric_names(str(rule["expr"])):
            readers.setdefault(name, set()).add(f"alert {rule['alert']}")
    for title, panels in monitoring.dashboards(monitoring.resolve(expect["monitoring.dashboards_dir"])).items():
        for panel in panels:
            for name in monitoring.metric_names(panel.expr):
                readers.setdefault(name, set()).add(f"dashboard '{title}' panel '{panel.title}'")
    absent_ok = set(expect["monitoring.absent_ok"])
    evidence["absent_ok"] = sorted(absent_ok & set(readers))
    missing, uncounted = {}, []
    for name, who in sorted(readers.items()):
        if name in absent_ok or prom.query(f"count({name})"):
            continue
        if prom.declared(name):  # exported, nothing counted yet (a labelled counter before its first increment)
            uncounted.append(name)
        else:
            missing[name] = who
    evidence["declared_without_series"] = uncounted
    described = "; ".join(f"{name} (read by {', '.join(sorted(who))})" for name, who in missing.items())
    assert not missing, (f"no target of {prom.url} exports: {described} (no series, no # TYPE); is the exporter "
                         "scraped, or the name wrong?")


def measured(prom, query: str, nothing: str, expect) -> float:
    """The query's value once the window holds traffic: a fresh history (NaN, or nothing) fills at the next scrapes."""

    def value() -> float:
        result = prom.query(query)
        number = float(result[0]["value"][1]) if result else math.nan
        assert not math.isnan(number), nothing
        return number

    return eventually(value, timeout=expect["monitoring.first_scrape_wait_s"], interval=1.0)


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook("Maintenance Schedule / Weekly Tasks / Review performance metrics")
def check_slo_error_ratio(prom, expect, evidence):
    window, limit = expect["monitoring.slo_window"], expect["monitoring.slo_max_error_ratio"]
    ratio = measured(prom, f'(sum(rate(http_requests_total{{status=~"5.."}}[{window}])) or vector(0)) '
                           f"/ sum(rate(http_requests_total[{window}]))",
                     f"no API traffic in {prom.url} over {window} (http_requests_total): nothing to review", expect)
    evidence["error_ratio"] = ratio
    assert ratio <= limit, f"API error ratio over {window} is {ratio:.2%} (limit {limit:.2%}) in {prom.url}"


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook("Maintenance Schedule / Weekly Tasks / Review performance metrics")
def check_slo_p95_latency(prom, expect, evidence):
    window, limit = expect["monitoring.slo_window"], expect["monitoring.slo_max_p95_s"]
    p95 = measured(prom, f"histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[{window}])))",
                   f"no API requests in {prom.url} over {window} (http_request_duration_seconds_bucket)", expect)
    evidence["p95_s"] = p95
    assert p95 <= limit, f"API p95 latency over {window} is {p95 * 1000:.0f}ms (limit {limit * 1000:.0f}ms) in {prom.url}"
