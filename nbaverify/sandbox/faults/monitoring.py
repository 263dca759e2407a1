"""Monitoring faults: Prometheus, its targets, the deployed rules and dashboards, the metrics."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import yaml

from nbaverify import procs
from nbaverify.sandbox import local_http
from nbaverify.sandbox.faults.model import Fault, Reach, Step

RULES = "checks/test_monitoring_rules.py"
PROMETHEUS = "checks/test_monitoring_prometheus.py"
DASHBOARDS = "checks/test_monitoring_dashboards.py"
ALERTING = "checks/test_alerting.py"
DRILL = (
    r"the drill alert \{alertname=NbaverifyDrill, severity=critical, nbaverify_drill=[0-9a-f]{12}\}"
)
HIGH_ERROR_TEST = "HighErrorRate fires after 5 minutes of 5xx above 0.1/s"


def _rules_edit(change: Callable[[list[dict]], None]) -> Step:
    """Change the deployed rule file (not the platform's own) and reload Prometheus."""

    def step(sb: Reach) -> None:
        path = sb.prometheus.rules_dir / "nba-stats-alerts.yml"
        doc = yaml.safe_load(path.read_text())
        change(doc["groups"][0]["rules"])
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        sb.prometheus.reload()

    return step


def _stop_prometheus(sb: Reach) -> None:
    sb.prometheus.stop_server()


def _drop_high_error_rate(rules: list[dict]) -> None:
    rules[:] = [r for r in rules if r.get("alert") != "HighErrorRate"]


def _never_fire(rules: list[dict]) -> None:
    for rule in rules:
        if rule.get("alert") == "HighErrorRate":
            rule["expr"] = 'rate(http_requests_total{status=~"5.."}[5m]) > 1e+12'


def _target_down(sb: Reach) -> None:
    with_port = procs.free_port()
    sb.prometheus.write_config(api_target=f"127.0.0.1:{with_port}")
    sb.prometheus.reload()
    sb.prometheus.wait_for('up{job="nba-api"} == 0', "Prometheus to find the nba-api target down")


def _error_burst(sb: Reach) -> None:
    """60 failing requests in two scrapes' time: enough for rate(...[5m]) > 0.1 and a pending
    alert."""
    token = sb.mint_token()
    with httpx.Client(base_url=sb.api_url, verify=sb.tls_context(), timeout=5) as client:
        for burst in range(2):
            for _ in range(30):
                client.get("/api/players", headers={"authorization": f"Bearer {token}"})
            if burst == 0:
                sb.prometheus.wait_for(
                    'http_requests_total{status="500"}', "Prometheus to scrape the first errors"
                )
                time.sleep(2.5)  # a second scrape, so rate() sees an increase
    sb.prometheus.wait_for(
        'ALERTS{alertname="HighErrorRate"}', "HighErrorRate to turn pending", timeout=30
    )


def _slow_traffic(sb: Reach) -> None:
    """A fresh history, then 40 data requests at 1.2 s each (slow_api): the review window's p95 is
    theirs."""
    sb.prometheus.reset()
    sb.prometheus.wait_scraped()
    headers = {"authorization": f"Bearer {sb.mint_token()}"}
    with (
        httpx.Client(base_url=sb.api_url, verify=sb.tls_context(), timeout=10) as client,
        ThreadPoolExecutor(20) as pool,
    ):
        # rate() sees no increase in a series whose first sample already holds it: let Prometheus
        # see the route's histogram series once (a freshly started API creates it with its first
        # request) before the 40
        client.get("/api/players/1", headers=headers)
        sb.prometheus.wait_for(
            'http_request_duration_seconds_count{route=~"/api/players/[^/]+"}',
            "Prometheus to scrape the player route's latency series",
        )
        list(pool.map(lambda n: client.get(f"/api/players/{n}", headers=headers), range(1, 41)))
    sb.prometheus.wait_for(
        f"{P95_5M} > 1", "Prometheus to see the slow requests in the p95", timeout=30
    )


P95_5M = "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m])))"


def _metrics_gone(sb: Reach) -> None:
    procs.wait_until(
        lambda: not sb.prometheus.query("cache_hits_total"),
        30,
        "Prometheus to see cache_hits_total disappear",
        interval=0.25,
    )


def _break_dashboard(sb: Reach) -> None:
    path = sb.prometheus.dashboards_dir / "cache-performance.json"
    doc = json.loads(path.read_text())
    for panel in doc["panels"]:
        if panel["title"] == "Hit ratio":
            for target in panel["targets"]:
                target["expr"] = target["expr"].replace("cache_hits_total", "cache_hit_total")
    path.write_text(json.dumps(doc, indent=2))


def _remove_dashboard(sb: Reach) -> None:
    (sb.prometheus.dashboards_dir / "database-health.json").unlink()


def _invalid_rule_file(sb: Reach) -> None:
    """A deployed rule file that does not parse; Prometheus refuses the reload and keeps its old
    rules."""
    (sb.prometheus.rules_dir / "nba-stats-broken.yml").write_text(
        "groups:\n- name: broken\n  rules:\n  - alert: Broken\n    expr:"
        " rate(http_requests_total[5m] >\n"
    )


def _untested_alert(sb: Reach) -> None:
    (sb.prometheus.rules_dir / "nba-stats-extra.yml").write_text(
        "groups:\n- name: nba-stats-extra\n  rules:\n  - alert: CacheColdStart\n    expr:"
        " sum(rate(cache_misses_total[5m])) > 100\n    for: 10m\n    labels:\n      severity:"
        " warning\n"
    )
    sb.prometheus.reload()


def _stop_alertmanager(sb: Reach) -> None:
    """Stopped, and Prometheus has since failed to hand it an alert (the Watchdog is resent every
    few seconds)."""
    # heavy: prometheus_client (~11 ms on every sandbox command and service process); two faults
    # read a counter
    from nbaverify.exposition import counter_value

    def errors() -> float:
        return counter_value(
            local_http.client().get(f"{sb.prometheus.url}/metrics").text,
            "prometheus_notifications_errors",
        )

    before = errors()
    sb.alertmanager.stop_server()
    procs.wait_until(
        lambda: errors() > before,
        40,
        "Prometheus to count an error sending to Alertmanager",
        interval=0.5,
    )


def _split_cluster(sb: Reach) -> None:
    """The second instance restarted without its --cluster.peer flags: a cluster of its own."""
    sb.alertmanager.stop_peer()
    sb.alertmanager.start_peer(gossip=False)


def _prometheus_tells(instances: int) -> Step:
    """Prometheus's alerting.alertmanagers rewritten to name the first `instances` of the cluster
    (0: none)."""

    def step(sb: Reach) -> None:
        sb.prometheus.write_config(alerting={0: "none", 1: "first"}[instances])
        sb.prometheus.reload()
        procs.wait_until(
            lambda: (
                len(
                    local_http.client()
                    .get(f"{sb.prometheus.url}/api/v1/alertmanagers")
                    .json()["data"]["activeAlertmanagers"]
                )
                == instances
            ),
            30,
            "Prometheus to take up its new Alertmanagers",
            interval=0.25,
        )

    return step


def _alerting_edit(change: Callable[[dict], None], peer_only: bool = False) -> Step:
    """Change the deployed Alertmanager configuration (a bad deploy) and have Alertmanager load
    it."""

    def step(sb: Reach) -> None:
        sb.alertmanager.edit_config(change, peer_only=peer_only)

    return step


def _drop_database_route(config: dict) -> None:
    config["route"]["routes"] = [
        r for r in config["route"]["routes"] if r.get("receiver") != "database-team"
    ]


def _devops_not_paged(config: dict) -> None:
    """The last route (every critical alert to DevOps) is gone; earlier routes `continue` into
    nothing."""
    config["route"]["routes"] = config["route"]["routes"][:-1]


def _rule_file_renamed(sb: Reach) -> None:
    """The deploy ships the rules under another file name: Prometheus loads them (rule_files is a
    glob), but the platform's promtool tests name the file they test."""
    found = sb.prometheus.rules_dir / "nba-stats-alerts.yml"
    found.rename(found.with_name("alerts.yml"))
    sb.prometheus.reload()


def _dashboards_stale_names(sb: Reach) -> None:
    """Each deployed dashboard's first panel reads a metric under a name its exporter dropped a
    release ago."""
    for path in sorted(sb.prometheus.dashboards_dir.glob("*.json")):
        doc = json.loads(path.read_text())
        target = next(p for p in doc["panels"] if p.get("targets"))["targets"][0]
        for name, stale in STALE_NAMES.items():
            target["expr"] = re.sub(rf"\b{name}\b", stale, target["expr"])
        path.write_text(json.dumps(doc, indent=2))


# the metrics the dashboards' first panels read, each under a name nobody exports
STALE_NAMES = {
    "http_request_duration_seconds_bucket": "http_request_duration_seconds_v1_bucket",
    "cache_hits_total": "cache_hits_v1_total",
    "pg_up": "pg_up_v1",
    "node_cpu_seconds_total": "node_cpu_seconds_v1_total",
    "http_requests_total": "http_requests_v1_total",
}


def _stale_dba_address(config: dict) -> None:
    receiver = next(r for r in config["receivers"] if r["name"] == "database-team")
    receiver["email_configs"][0]["to"] = "dba-old@nba-stat-projections.com"


def _undefined_receiver(config: dict) -> None:
    config["route"]["routes"].insert(0, {"receiver": "dba-pager", "matchers": ['team="database"']})


def _null_route(config: dict) -> None:
    config["receivers"].append({"name": "blackhole"})
    config["route"]["routes"].insert(
        0, {"receiver": "blackhole", "matchers": ['alertname="HighLatencyP95"']}
    )


def _edit_deployed_only(change: Callable[[dict], None]) -> Step:
    """A deploy that wrote a configuration the running Alertmanager refused (it keeps its last good
    one)."""

    def step(sb: Reach) -> None:
        config = yaml.safe_load(sb.alertmanager.config_file.read_text())
        change(config)
        sb.alertmanager.config_file.write_text(yaml.safe_dump(config, sort_keys=False))

    return step


def _silence_high_error_rate(sb: Reach) -> None:
    sb.alertmanager.silence(
        [{"name": "alertname", "value": "HighErrorRate", "isRegex": False, "isEqual": True}],
        hours=7 * 24,
    )


def _notifications_fail(sb: Reach) -> None:
    """The sink refuses (control.json): wait for Alertmanager to count a failed notification (the
    watchdog's)."""
    # heavy: prometheus_client, as in _stop_alertmanager
    from nbaverify.exposition import counter_value

    def failed() -> float:
        return counter_value(
            local_http.client().get(f"{sb.alertmanager.url}/metrics").text,
            "alertmanager_notifications_failed",
        )

    before = failed()
    procs.wait_until(
        lambda: failed() > before, 40, "Alertmanager to count a failed notification", interval=0.5
    )


def _silence_watchdog(sb: Reach) -> None:
    sb.alertmanager.silence(
        [{"name": "alertname", "value": "Watchdog", "isRegex": False, "isEqual": True}],
        hours=2,
        created_by="ops",
        comment="noisy",
    )


def _inhibit_critical(config: dict) -> None:
    config["inhibit_rules"].append(
        {
            "source_matchers": ['severity="warning"'],
            "target_matchers": ['severity="critical"'],
            "equal": ["job"],
        }
    )


FAULTS: tuple[Fault, ...] = (
    Fault(
        name="dashboard_missing",
        area="monitoring",
        requires="prometheus",
        breaks="the Database Health dashboard is left out of the deployed dashboards",
        caught_by=(f"{DASHBOARDS}::check_expected_dashboards_exist",),
        expect=r"dashboard\(s\) Database Health not in \S+/grafana/dashboards \(found: ",
        apply=_remove_dashboard,
    ),
    Fault(
        name="prometheus_down",
        area="monitoring",
        requires="prometheus",
        breaks="the Prometheus server is stopped: no metrics, no alerts",
        caught_by=(f"{PROMETHEUS}::check_prometheus_ready",),
        expect=r"Prometheus at http://\S+ is not ready",
        apply=_stop_prometheus,
    ),
    Fault(
        name="scrape_target_down",
        area="monitoring",
        requires="prometheus",
        breaks="the nba-api scrape job points at a port nothing listens on: its target is down",
        caught_by=(f"{PROMETHEUS}::check_scrape_targets_up[every job]",),
        expect=r"job 'nba-api': \S+ is down",
        apply=_target_down,
    ),
    Fault(
        name="alert_rule_missing",
        area="monitoring",
        requires="prometheus",
        breaks=(
            "the deployed rule file lost HighErrorRate (the guide's alert): Prometheus no longer"
            " evaluates it"
        ),
        caught_by=(f"{PROMETHEUS}::check_expected_alerts_loaded",),
        expect=r"HighErrorRate is not loaded",
        apply=_rules_edit(_drop_high_error_rate),
    ),
    Fault(
        name="alert_rule_broken",
        area="monitoring",
        requires="prometheus",
        breaks="the deployed HighErrorRate compares with 1e+12: it can never fire",
        caught_by=(
            f"{RULES}::check_rule_test[{HIGH_ERROR_TEST}]",
            f"{PROMETHEUS}::check_expected_alerts_loaded",
        ),
        expect=r"HighErrorRate",
        apply=_rules_edit(_never_fire),
    ),
    Fault(
        name="alert_firing",
        area="monitoring",
        requires="prometheus",
        breaks=(
            "the API answers 500 to every data request; the errors drive HighErrorRate to pending"
        ),
        caught_by=(
            f"{PROMETHEUS}::check_no_critical_alerts_active",
            f"{PROMETHEUS}::check_slo_error_ratio",
        ),
        expect=(
            r"HighErrorRate (pending|firing)"
            r"|API error ratio \(5xx but 501\) over \S+ is \d+\.\d+%"
        ),
        api_flags=("error_burst",),
        apply=_error_burst,
    ),
    Fault(
        name="slow_api_sustained",
        area="monitoring",
        requires="prometheus",
        breaks=(
            "every data request takes 1.2 s, and enough of them arrive that the review window's p95"
            " is past 1 s"
        ),
        caught_by=(f"{PROMETHEUS}::check_slo_p95_latency",),
        expect=r"API p95 latency over 5m is \d{4,}ms \(limit 1000ms\)",
        api_flags=("slow_api",),
        apply=_slow_traffic,
    ),
    Fault(
        name="metrics_missing",
        area="monitoring",
        requires="prometheus",
        breaks=(
            "the API stops exposing cache_hits_total and cache_misses_total (a family vanished in a"
            " deploy)"
        ),
        caught_by=(f"{PROMETHEUS}::check_queried_series_exist",),
        expect=r"cache_hits_total \(read by dashboard 'Cache Performance'",
        apply=_metrics_gone,
    ),
    Fault(
        name="dashboard_broken_query",
        area="monitoring",
        requires="prometheus",
        breaks=(
            "the deployed Cache Performance dashboard's hit-ratio panel queries a misspelt metric"
        ),
        caught_by=(
            f"{DASHBOARDS}::check_dashboard_queries[Cache Performance]",
            f"{PROMETHEUS}::check_queried_series_exist",
        ),
        expect=r"Hit ratio|cache_hit_total",
        apply=_break_dashboard,
    ),
    Fault(
        name="alert_rule_invalid",
        area="monitoring",
        requires="prometheus",
        breaks=(
            "a deployed rule file has a PromQL syntax error (Prometheus would refuse to reload it)"
        ),
        caught_by=(f"{RULES}::check_rules_valid",),
        expect=r"promtool check rules rejects .*nba-stats-broken\.yml",
        apply=_invalid_rule_file,
    ),
    Fault(
        name="alert_untested",
        area="monitoring",
        requires="prometheus",
        breaks="an alert CacheColdStart was deployed with no promtool unit test",
        caught_by=(f"{RULES}::check_every_alert_has_a_test",),
        expect=r"alert\(s\) without a promtool unit test: CacheColdStart",
        apply=_untested_alert,
    ),
    Fault(
        name="alertmanager_down",
        area="monitoring",
        requires="alertmanager",
        baseline="healthy",
        breaks="Alertmanager is stopped: Prometheus fires alerts and nobody is notified",
        caught_by=(
            f"{ALERTING}::check_alertmanager_ready",
            f"{ALERTING}::check_prometheus_notifications_sent",
        ),
        expect=(
            r"Alertmanager at http://127\.0\.0\.1:\d+ is not ready \(.*refused.*\): fired alerts"
            r" reach nobody"
            r"|Prometheus at http://127\.0\.0\.1:\d+: \d+ error\(s\) sending alerts to Alertmanager"
            r" since"
        ),
        apply=_stop_alertmanager,
    ),
    Fault(
        name="alertmanager_peer_split",
        area="monitoring",
        requires="alertmanager",
        breaks=(
            "the second Alertmanager was restarted without its cluster flags: two clusters of one,"
            " each notifying on its own, a silence set on one unknown to the other"
        ),
        caught_by=(f"{ALERTING}::check_alertmanager_peers_agree",),
        expect=(
            r"http://127\.0\.0\.1:\d+ runs without gossip \(cluster disabled\): it shares no"
            r" silences"
        ),
        apply=_split_cluster,
    ),
    Fault(
        name="alertmanager_peer_config_drift",
        area="monitoring",
        requires="alertmanager",
        breaks=(
            "a deploy reached one Alertmanager of the cluster: the second still routes by the old"
            " configuration (no Database team route)"
        ),
        caught_by=(f"{ALERTING}::check_alertmanager_peers_agree",),
        expect=(
            r"http://127\.0\.0\.1:\d+ has loaded another configuration than"
            r" http://127\.0\.0\.1:\d+ "
            r"\(a deploy reached one instance\)"
        ),
        apply=_alerting_edit(_drop_database_route, peer_only=True),
    ),
    Fault(
        name="prometheus_not_wired",
        area="monitoring",
        requires="alertmanager",
        breaks="Prometheus lost its alerting.alertmanagers configuration: its alerts go nowhere",
        caught_by=(f"{ALERTING}::check_prometheus_sends_to_alertmanager",),
        expect=r"sends alerts to no Alertmanager, expected http://127\.0\.0\.1:\d+",
        apply=_prometheus_tells(0),
    ),
    Fault(
        name="prometheus_tells_one_instance",
        area="monitoring",
        requires="alertmanager",
        breaks=(
            "Prometheus names only the first Alertmanager of the cluster: its alerts wait on the"
            " second, and reach nobody while the first is down"
        ),
        caught_by=(f"{ALERTING}::check_prometheus_tells_every_instance",),
        expect=(
            r"Prometheus at http://127\.0\.0\.1:\d+ sends alerts to 1 Alertmanager\(s\)"
            r" \(http://localhost:\d+"
            r"/api/v2/alerts\), but the cluster at http://127\.0\.0\.1:\d+ has 2 members"
        ),
        apply=_prometheus_tells(1),
    ),
    Fault(
        name="alert_route_missing",
        area="monitoring",
        requires="alertmanager",
        breaks="the route for team=database is gone: database alerts never reach the Database team",
        caught_by=(
            f"{ALERTING}::check_escalation_route[critical database alert]",
            f"{ALERTING}::check_escalation_route[warning database alert]",
            f"{ALERTING}::check_every_receiver_is_routed",
        ),
        expect=(
            r"an alert \{.*team=database.*\} is routed to .* by \S*alertmanager\.yml: database not"
            r" reached[ ;]"
            r"|receiver\(s\) database-team in .*alertmanager\.yml are named by no route"
        ),
        apply=_alerting_edit(_drop_database_route),
    ),
    Fault(
        name="alert_receiver_wrong",
        area="monitoring",
        requires="alertmanager",
        breaks="the Database team's receiver mails a stale address (dba-old@)",
        caught_by=(f"{ALERTING}::check_receivers_carry_the_contacts",),
        expect=(
            r"no receiver notifies dba@nba-stat-projections\.com \(the database team's contact\);"
            r" receivers mail "
            r".*dba-old@"
        ),
        apply=_alerting_edit(_stale_dba_address),
    ),
    Fault(
        name="devops_not_paged",
        area="monitoring",
        requires="alertmanager",
        breaks=(
            "the route that sends every critical alert to DevOps is gone: critical alerts page"
            " on-call and the team only"
        ),
        caught_by=tuple(
            f"{ALERTING}::check_escalation_route[{row}]"
            for row in ("critical api alert", "critical database alert", "critical security alert")
        ),
        expect=(
            r"an alert \{severity=critical.*\} is routed to .* by \S+alertmanager\.yml: devops not"
            r" reached"
        ),
        apply=_alerting_edit(_devops_not_paged),
    ),
    Fault(
        name="rule_file_renamed",
        area="monitoring",
        requires="prometheus",
        breaks=(
            "the deploy ships the alert rules as alerts.yml: Prometheus loads them, every promtool"
            " test of the platform names nba-stats-alerts.yml and fails"
        ),
        caught_by=(f"{RULES}::check_rule_test",),
        expect=(
            r"promtool test '.+' \(nba-stats-alerts\.test\.yml\) fails on the rules in \S+: its"
            r" rule file\(s\) "
            r"nba-stats-alerts\.yml are not among the rules"
        ),
        apply=_rule_file_renamed,
    ),
    Fault(
        name="dashboards_stale_names",
        area="monitoring",
        requires="prometheus",
        breaks=(
            "each dashboard's first panel reads a metric by a name its exporter dropped (a _v1"
            " suffix): a blank panel"
        ),
        caught_by=(f"{DASHBOARDS}::check_dashboard_queries",),
        expect=r"dashboard '.+' against \S+: '.+' reads \S+_v1\S*, which no target exports",
        apply=_dashboards_stale_names,
    ),
    Fault(
        name="critical_inhibited",
        area="monitoring",
        requires="alertmanager",
        breaks=(
            "an inhibition rule mutes every critical alert while a warning of the same job fires"
        ),
        caught_by=(f"{ALERTING}::check_no_inhibition_mutes_critical",),
        expect=(
            r"inhibit_rules\[1\] \(source severity='warning'\) lets a warning alert mute critical"
            r" ones"
        ),
        apply=_alerting_edit(_inhibit_critical),
    ),
    Fault(
        name="alertmanager_config_invalid",
        area="monitoring",
        requires="alertmanager",
        breaks=(
            "the deployed alertmanager.yml routes to a receiver it does not define (Alertmanager"
            " refuses to load it)"
        ),
        caught_by=(f"{ALERTING}::check_alertmanager_config_valid",),
        expect=r"amtool check-config .*alertmanager\.yml: .*undefined receiver \"dba-pager\"",
        apply=_edit_deployed_only(_undefined_receiver),
    ),
    Fault(
        name="alert_dropped",
        area="monitoring",
        requires="alertmanager",
        breaks=(
            "HighLatencyP95 is routed to a receiver with no integration: it fires and nobody is"
            " told"
        ),
        caught_by=(
            f"{ALERTING}::check_every_alert_reaches_a_receiver",
            f"{ALERTING}::check_escalation_route[warning platform alert]",
        ),
        expect=(
            r"route to no receiver that delivers, in .*alertmanager\.yml: HighLatencyP95 ->"
            r" blackhole"
            r"|an alert \{severity=warning, alertname=HighLatencyP95\} is routed to blackhole \(no"
            r" team\) by \S+: "
            r"devops not reached"
        ),
        apply=_alerting_edit(_null_route),
    ),
    Fault(
        name="critical_silenced",
        area="monitoring",
        requires="alertmanager",
        breaks="a week-long silence on HighErrorRate, by nobody, with no comment",
        caught_by=(
            f"{ALERTING}::check_no_long_silence_on_critical",
            f"{ALERTING}::check_silences_explained",
        ),
        expect=(
            r"silence [0-9a-f-]+ covers critical alert\(s\) HighErrorRate for 168h .*longer"
            r" than 24h"
            r"|silence [0-9a-f-]+ \(alertname=HighErrorRate\) has no creator and no comment"
        ),
        apply=_silence_high_error_rate,
    ),
    Fault(
        name="alert_not_delivered",
        area="monitoring",
        requires="alertmanager",
        baseline="healthy",
        breaks=(
            "the receivers refuse every notification (webhook 503, SMTP 554): alerts fire and reach"
            " nobody"
        ),
        caught_by=(f"{ALERTING}::check_notifications_delivered", f"{ALERTING}::check_alert_drill"),
        expect=(
            r"Alertmanager at http://127\.0\.0\.1:\d+: \d+ notification\(s\) failed since the"
            r" previous run"
            rf"|{DRILL} \(firing\) was routed to devops, oncall-pager by Alertmanager at"
            r" http://127\.0\.0\.1:\d+, "
            r"but http://127\.0\.0\.1:\d+/deliveries shows no delivery to devops, oncall-pager"
            r" within [\d.]+s: its "
            r"route's group_wait [\d.]+s, or its group_interval [\d.]+s when the alert joins a"
            r" group already "
            r"notified, \+ [\d.]+s \(delivered to: none; "
            r"[1-9]\d* notification attempt\(s\) failed at Alertmanager meanwhile"
        ),
        apply=_notifications_fail,
    ),
    Fault(
        name="alert_swallowed",
        area="monitoring",
        requires="alertmanager",
        breaks=(
            "the on-call pager's endpoint answers 200 and drops the page: Alertmanager counts it"
            " sent, nobody is paged"
        ),
        caught_by=(f"{ALERTING}::check_alert_drill",),
        expect=(
            rf"{DRILL} \(firing\) was routed to devops, oncall-pager by Alertmanager at"
            r" http://127\.0\.0\.1:\d+, "
            r"but http://127\.0\.0\.1:\d+/deliveries shows no delivery to oncall-pager within"
            r" [\d.]+s: its route's "
            r"group_wait [\d.]+s, or its group_interval [\d.]+s when the alert joins a group"
            r" already notified, "
            r"\+ [\d.]+s \(delivered to: devops; 0 notification attempt\(s\) failed"
        ),
    ),
    Fault(
        name="watchdog_rule_missing",
        area="monitoring",
        requires="prometheus",
        breaks=(
            "the deployed rules lose the always-firing Watchdog: a dead alerting pipeline would"
            " look like a quiet night"
        ),
        caught_by=(f"{ALERTING}::check_watchdog_rule_present",),
        expect=(
            r"Prometheus at http://127\.0\.0\.1:\d+ loads no always-firing alert \(none named"
            r" Watchdog"
        ),
        apply=_rules_edit(
            lambda rules: rules.__setitem__(
                slice(None), [r for r in rules if r.get("alert") != "Watchdog"]
            )
        ),
    ),
    Fault(
        name="watchdog_silenced",
        area="monitoring",
        requires="alertmanager",
        breaks=(
            "someone silenced the always-firing Watchdog: a dead alerting pipeline would go"
            " unnoticed"
        ),
        caught_by=(f"{ALERTING}::check_watchdog_reaches_alertmanager",),
        expect=(
            r"the always-firing Watchdog alert is loaded in Prometheus but not active in"
            r" Alertmanager at http://127\.0\.0\.1:\d+"
        ),
        apply=_silence_watchdog,
    ),
)
