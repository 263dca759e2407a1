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
from nbaverify.expectation_values import duration_seconds
from nbaverify.probes import monitoring

pytestmark = [pytest.mark.area("monitoring")]

SETUP = "System Monitoring / Monitoring Tools / Prometheus Setup"
VERIFY_METRICS = "Maintenance Schedule / Daily Tasks / Verify metrics collection"
# the labels every alert has: a firing alert is described by its others
NAMING = ("alertname", "severity")


def pytest_generate_tests(metafunc):
    if "job" in metafunc.fixturenames:
        # the jobs a team names, else one case for every job Prometheus scrapes
        jobs = expectations_at_collection(metafunc.config)["monitoring.jobs"]
        metafunc.parametrize("job", jobs or [None], ids=jobs or ["every job"])


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(SETUP)
def check_prometheus_ready(prom):
    """Prometheus answers `/-/ready`.

    The Prometheus of the profile's `[prometheus] url`; without that section the monitoring checks
    skip with `not configured: prometheus`.

    When it fails: Run the guide's `kubectl get pods -n monitoring` and read the Prometheus pod's
    log: replaying its WAL after a restart (wait), or a crash loop, full volume or bad configuration
    (fix). Check the profile's `[prometheus] url` too, e.g. a dead `kubectl port-forward
    svc/prometheus-server 9090:9090 -n monitoring`.
    """
    ready, detail = prom.ready()
    assert ready, (
        f"Prometheus at {prom.url} is not ready ({detail}); kubectl get pods -n monitoring"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(VERIFY_METRICS, SETUP)
def check_scrape_targets_up(prom, expect, job, evidence):
    """Every target of every job Prometheus scrapes is up and was scraped within 3 x its scrape
    interval.

    The freshness limit is `monitoring.freshness_intervals` (3) times each target's own interval.
    One case for every job Prometheus scrapes; where `monitoring.jobs` names jobs, one case per
    named job instead, and a named job with no target fails (the scrape config lost it). A
    Prometheus with no active target at all fails. A Prometheus that has just started is given
    `monitoring.first_scrape_wait_s` (15 s), once per run, for every target's first scrape.

    When it fails: Open Prometheus's `/targets` for the job named: `lastError` says why (refused,
    timeout, 401). Check the target's pod and its `/metrics` with `curl`; a job with no target lost
    it in the scrape configuration or its service discovery.
    """
    targets = [t for t in prom.targets() if job is None or t["labels"].get("job") == job]
    assert targets, (
        f"Prometheus at {prom.url} has no target for job '{job}': the scrape config lost it"
        if job
        else f"Prometheus at {prom.url} scrapes nothing: it has no active target"
    )
    now = dt.datetime.now(dt.UTC)
    problems = []
    for t in targets:
        where = f"job '{t['labels'].get('job')}': {t['scrapeUrl']}"
        if t["health"] != "up":
            problems.append(
                f"{where} is {t['health']}" + (f" ({t['lastError']})" if t["lastError"] else "")
            )
            continue
        age = (
            now - dt.datetime.fromisoformat(t["lastScrape"].replace("Z", "+00:00"))
        ).total_seconds()
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
    """Each alert the platform ships is loaded in Prometheus with the same expression, `for` and
    severity.

    The shipped rules are those of `monitoring.expected_rules_dir`; expressions are compared with
    their whitespace folded. A missing or different rule means the rule files were not reloaded
    (`POST /-/reload`).

    When it fails: Compare Prometheus's loaded rules (`/api/v1/rules`) with the files of
    `monitoring.expected_rules_dir`, and check the rules' ConfigMap was updated and mounted; then
    reload as the message says (`POST /-/reload`, which needs `--web.enable-lifecycle`). A rule
    changed on purpose is changed in the shipped rules too.
    """
    loaded = {r["name"]: r for r in prom.alerting_rules()}
    problems = []
    for rule in monitoring.alerting_rules(
        monitoring.resolve(expect["monitoring.expected_rules_dir"])
    ):
        name, got = rule["alert"], loaded.get(rule["alert"])
        if got is None:
            problems.append(f"{name} is not loaded")
            continue
        if " ".join(got["query"].split()) != " ".join(str(rule["expr"]).split()):
            problems.append(
                f"{name} evaluates '{got['query']}', expected"
                f" '{' '.join(str(rule['expr']).split())}'"
            )
        if got.get("duration", 0) != duration_seconds(rule.get("for", "0s")):
            problems.append(
                f"{name} has for {got.get('duration', 0):g}s, expected {rule.get('for', '0s')}"
            )
        if got.get("labels", {}).get("severity") != rule.get("labels", {}).get("severity"):
            problems.append(
                f"{name} has severity {got.get('labels', {}).get('severity')!r}, "
                f"expected {rule.get('labels', {}).get('severity')!r}"
            )
    assert not problems, (
        f"Prometheus at {prom.url}: {'; '.join(problems)}; reload the rule files (POST /-/reload)"
    )


@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(
    "Maintenance Schedule / Daily Tasks / Monitor system health",
    "Troubleshooting / Common Issues / API Issues",
)
def check_no_critical_alerts_active(prom):
    """No alert labelled `severity=critical` is pending or firing in Prometheus.

    The first three are named with when they became active and their other labels.

    When it fails: Handle the alert itself: open it in Prometheus (`/alerts`) or Alertmanager and
    follow its runbook and the guide's Troubleshooting for its area. Waive it, with an owner and a
    short expiry, only while a known incident is being worked on.
    """
    active = [
        a
        for a in prom.alerts()
        if a["labels"].get("severity") == "critical" and a["state"] in ("pending", "firing")
    ]
    described = "; ".join(
        f"{a['labels']['alertname']} {a['state']} since {a.get('activeAt', '?')[:19]} "
        f"({', '.join(f'{k}={v}' for k, v in sorted(a['labels'].items()) if k not in NAMING)})"
        for a in active[:3]
    )
    assert not active, f"{len(active)} critical alert(s) active in {prom.url}: {described}"


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(
    VERIFY_METRICS, "System Monitoring / Metrics Collection / Infrastructure Metrics"
)
def check_queried_series_exist(prom, expect, evidence):
    """Every metric an alert rule or a dashboard panel reads is exported by some target Prometheus
    scrapes.

    pint-style: a rule or panel that reads a metric no target exports is a silent blind spot. The
    metrics are read from the expressions of `monitoring.rules_dir` and the panels of
    `monitoring.dashboards_dir`. A metric is exported when it has series, or when a target declares
    it (its `# TYPE`, in Prometheus's metadata) without having counted anything yet: a labelled
    counter has no series before its first increment. Metrics of `monitoring.absent_ok` are not
    asked for. Each missing metric is named with what reads it.

    When it fails: For each metric named, query `count(METRIC)` in Prometheus and compare with the
    exporter's `/metrics`: a renamed metric means updating the rule or panel, an unscraped exporter
    a scrape job. A metric this platform knowingly lacks goes into `monitoring.absent_ok`, with why,
    in the profile's `[expectations]`.
    """
    readers: dict[str, set[str]] = {}
    for rule in monitoring.alerting_rules(monitoring.resolve(expect["monitoring.rules_dir"])):
        for name in monitoring.metric_names(str(rule["expr"])):
            readers.setdefault(name, set()).add(f"alert {rule['alert']}")
    for title, panels in monitoring.dashboards(
        monitoring.resolve(expect["monitoring.dashboards_dir"])
    ).items():
        for panel in panels:
            for name in monitoring.metric_names(panel.expr):
                readers.setdefault(name, set()).add(f"dashboard '{title}' panel '{panel.title}'")
    absent_ok = set(expect["monitoring.absent_ok"])
    evidence["absent_ok"] = sorted(absent_ok & set(readers))
    missing, uncounted = {}, []
    for name, who in sorted(readers.items()):
        if name in absent_ok or prom.query(f"count({name})"):
            continue
        if prom.declared(name):
            # exported, nothing counted yet (a labelled counter before its first increment)
            uncounted.append(name)
        else:
            missing[name] = who
    evidence["declared_without_series"] = uncounted
    described = "; ".join(
        f"{name} (read by {', '.join(sorted(who))})" for name, who in missing.items()
    )
    assert not missing, (
        f"no target of {prom.url} exports: {described} (no series, no # TYPE); is the exporter "
        "scraped, or the name wrong?"
    )


def measured(prom, query: str, nothing: str, expect) -> float:
    """The query's value once the window holds traffic: a fresh history (NaN, or nothing) fills at
    the next scrapes."""

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
    """The API's 5xx share of requests over the review window is at most
    `monitoring.slo_max_error_ratio` (1 %).

    The rate of `http_requests_total` with a `5..` status other than 501 against all of it, over
    `monitoring.slo_window` (7d), Prometheus's own window. A 501 (Not Implemented) refuses a method
    the server does not know: it is the answer `check_trace_refused` accepts for its TRACE (Koa's),
    and on a quiet staging platform those few probes alone failed this check. With no traffic in
    the window it waits `monitoring.first_scrape_wait_s` (15 s) for a fresh history to fill, then
    fails saying there is nothing to review.

    When it fails: Break it down: `sum by (route, status)
    (rate(http_requests_total{status=~'5..'}[7d]))` in Prometheus, then the API log for those
    routes. 'Nothing to review' means no request was counted: is the API scraped
    (`check_scrape_targets_up`)? Another service level: `monitoring.slo_max_error_ratio` in
    `[expectations]`.
    """
    window, limit = expect["monitoring.slo_window"], expect["monitoring.slo_max_error_ratio"]
    ratio = measured(
        prom,
        f'(sum(rate(http_requests_total{{status=~"5..",status!="501"}}[{window}])) or vector(0))'
        f" / sum(rate(http_requests_total[{window}]))",
        f"no API traffic in {prom.url} over {window} (http_requests_total): nothing to review",
        expect,
    )
    evidence["error_ratio"] = ratio
    assert ratio <= limit, (
        f"API error ratio (5xx but 501) over {window} is {ratio:.2%} (limit {limit:.2%}) in"
        f" {prom.url}"
    )


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook("Maintenance Schedule / Weekly Tasks / Review performance metrics")
def check_slo_p95_latency(prom, expect, evidence):
    """The API's p95 latency over the review window is at most `monitoring.slo_max_p95_s` (1 s).

    `histogram_quantile(0.95, ...)` over the rate of the `http_request_duration_seconds` buckets,
    over `monitoring.slo_window` (7d), Prometheus's own window. With no traffic in the window it
    waits `monitoring.first_scrape_wait_s` (15 s) for a fresh history to fill, then fails saying
    there is nothing to review.

    When it fails: Break it down by route: `histogram_quantile(0.95, sum by (le, route)
    (rate(http_request_duration_seconds_bucket[7d])))`, then look at the slowest routes' queries and
    pods (`check_plan_time`, `check_cpu_not_throttled`). Another service level is set as
    `monitoring.slo_max_p95_s` in the profile's `[expectations]`.
    """
    window, limit = expect["monitoring.slo_window"], expect["monitoring.slo_max_p95_s"]
    p95 = measured(
        prom,
        "histogram_quantile(0.95, sum by (le)"
        f" (rate(http_request_duration_seconds_bucket[{window}])))",
        f"no API requests in {prom.url} over {window} (http_request_duration_seconds_bucket)",
        expect,
    )
    evidence["p95_s"] = p95
    assert p95 <= limit, (
        f"API p95 latency over {window} is {p95 * 1000:.0f}ms (limit {limit * 1000:.0f}ms) in"
        f" {prom.url}"
    )
