"""Alerting and the escalation path: an alert that fires must reach the people the guide names.

The deployed Alertmanager configuration is valid; Prometheus sends to a ready Alertmanager; every
row of the escalation policy (expectations.alerting.policy) routes to exactly its receivers, in the
deployed file and in what the live Alertmanager has loaded; every alert rule reaches a real
receiver and every receiver is reachable; the receivers carry the guide's contacts; no
lower-severity alert can mute a critical one; no silence hides a critical alert for long, and every
silence says who and why.

Guide: Support Procedures / Escalation Path and Contact Information; System Monitoring /
Monitoring Tools / Alert Configuration.
"""

import contextlib
import datetime as dt
import time
import uuid

import pytest

from nbaverify.checking import parametrize_from, target_at_collection
from nbaverify.clients import factory
from nbaverify.errors import CheckError, NbaverifyError, TargetUnreachable
from nbaverify.eventually import eventually
from nbaverify.probes import alerting, counters, monitoring

pytestmark = [pytest.mark.area("monitoring")]

ESCALATION = "Support Procedures / Escalation Path"
CONTACTS = "Support Procedures / Contact Information"
ALERTS = "System Monitoring / Monitoring Tools / Alert Configuration"
SETTLE_S = 1.5


def pytest_generate_tests(metafunc):
    parametrize_from(metafunc, "policy", "alerting.policy")


def start_early(session: pytest.Session) -> None:
    """amtool works in the background from here (a process per question, some thirty a gate), beside
    the checks before these: the deployed file's validity and where each selected policy row and
    each alert of the profile's rule files go in it. Called by the plugin once collection is over
    (nbaverify.plugins.early); the checks ask the same questions and read these answers, or ask
    amtool themselves where the file or the labels differ (the rules Prometheus has loaded, or the
    configuration the live Alertmanager has)."""
    run_target = target_at_collection(session.config)
    config = factory.alertmanager_config(run_target)
    if config is None or alerting.amtool() is None:
        return
    names = {getattr(item, "originalname", None) for item in session.items}
    labels = [
        dict(item.callspec.params["policy"]["labels"])
        for item in session.items
        if getattr(item, "originalname", None) == "check_escalation_route"
    ]
    if "check_every_alert_reaches_a_receiver" in names:
        rules_dir = monitoring.resolve(run_target.expectations["monitoring.rules_dir"])
        with contextlib.suppress(OSError, ValueError):  # the check reads the live rules anyway
            labels += [
                {
                    "alertname": rule["alert"],
                    **{k: str(v) for k, v in rule.get("labels", {}).items()},
                }
                for rule in monitoring.alerting_rules(rules_dir)
            ]
    if labels or "check_alertmanager_config_valid" in names:
        alerting.start(config, labels)


@pytest.fixture(scope="module")
def deployed(alertmanager_config):
    return alerting.load(alertmanager_config)


def _grown_since_last_run(
    history, key: str, name: str, readings: dict[str, float], started: float, evidence
):
    """A process's own counters, judged by their growth since the previous run (its start is their
    epoch); None on the first run, which records the baseline and says so."""
    change = counters.since_last_run(
        history, key, {name: readings}, epoch=dt.datetime.fromtimestamp(started, dt.UTC).isoformat()
    )
    if change is None:
        evidence["note"] = counters.first_run_note()
        return None
    return change.deltas[name], change


@pytest.mark.gate
@pytest.mark.severity("critical")
@pytest.mark.runbook(ALERTS)
def check_alertmanager_config_valid(alertmanager_config):
    """`amtool check-config` accepts the deployed `alertmanager.yml`.

    The file is the profile's `[alertmanager] config_file` (relative to the profile); skipped when
    the profile names none, or when amtool is not installed.

    When it fails: Run `amtool check-config FILE` on the file the message names (the profile's
    `[alertmanager] config_file`) and fix what it reports before the next deploy: Alertmanager
    refuses to load an invalid file, so a reload keeps the old routes and a restart fails.
    """
    problem = alerting.check_config(alertmanager_config)
    assert problem is None, f"amtool check-config {alertmanager_config}: {problem}"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(ALERTS)
def check_alertmanager_ready(alertmanager):
    """The live Alertmanager answers `/-/ready`: fired alerts reach someone.

    The Alertmanager of the profile's `[alertmanager] url`; without that section the alerting checks
    skip with `not configured: alertmanager`.

    When it fails: Run `kubectl get pods -n monitoring` and read the Alertmanager pod's log
    (`kubectl logs POD -n monitoring`); the message quotes what `/-/ready` said. Check the profile's
    `[alertmanager] url` too: a port-forward that died looks the same.
    """
    ready, detail = alertmanager.ready()
    assert ready, (
        f"Alertmanager at {alertmanager.url} is not ready ({detail}): fired alerts reach nobody"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(ALERTS)
def check_alertmanager_peers_agree(alertmanager_cluster, expect, evidence):
    """Every instance of a clustered Alertmanager gossips, has loaded the same configuration and
    holds the same active silences.

    The instances are the profile's `[alertmanager] url` and `peers`, each read through its
    `/api/v2/status` and its silences: each must see its cluster `ready`, with as many members as
    instances named (where more than one is named), and hold the first instance's configuration and
    active silences. A split cluster notifies twice, and a silence set on one instance misses the
    other. Gossip is converging state: they are given `alerting.cluster_settle_s` (15 s) to agree.
    Skipped when not clustered: the profile names no peers and its one instance runs without gossip.

    When it fails: Compare each instance's `/api/v2/status` (`cluster.peers`, `config.original`) for
    the problem the message names. Another configuration means a deploy reached one instance: roll
    it out to all; a missing member points at its `--cluster.peer` flags or the gossip port (9094)
    between the pods.
    """
    if len(alertmanager_cluster) == 1:
        state = (alertmanager_cluster[0].status().get("cluster") or {}).get("status")
        if state in (None, "disabled"):
            pytest.skip(
                "not clustered: the Alertmanager runs without gossip and [alertmanager] names no"
                " peers"
            )

    def agree():
        views = [
            (am.url, am.status(), {s["id"] for s in alerting.active(am.silences())})
            for am in alertmanager_cluster
        ]
        evidence["instances"] = {
            url: {
                "cluster": (status.get("cluster") or {}).get("status"),
                "members": len((status.get("cluster") or {}).get("peers") or []),
                "silences": len(silences),
            }
            for url, status, silences in views
        }
        problems = alerting.cluster_disagreements(views)
        assert not problems, "; ".join(problems)

    eventually(agree, timeout=expect["alerting.cluster_settle_s"], interval=1.0)


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(ALERTS)
def check_prometheus_sends_to_alertmanager(prom, alertmanager_cluster, expect, evidence):
    """Prometheus has an active Alertmanager to send alerts to, and has not dropped the profile's by
    relabelling.

    Read from Prometheus's `/api/v1/alertmanagers`. Prometheus often knows them by addresses the
    suite cannot use (pod IPs from service discovery, where the profile has a port-forward), and
    relabelling drops the discovered endpoints that are not Alertmanager's, so neither a different
    address nor a dropped endpoint fails it; only the profile's own address dropped and not active
    does. That the alerts arrive is `check_watchdog_reaches_alertmanager`'s to prove. A Prometheus
    that has just started is given `monitoring.first_scrape_wait_s` (15 s) to find its
    Alertmanagers.

    When it fails: Read Prometheus's `/api/v1/alertmanagers` and the `alerting.alertmanagers`
    section of its configuration (`/api/v1/status/config`), and fix the service discovery or
    relabelling that drops the Alertmanager. `check_watchdog_reaches_alertmanager` says whether
    alerts still arrive meanwhile.
    """
    ours = [instance.url for instance in alertmanager_cluster]

    def wired():
        # a Prometheus that has just started finds its Alertmanagers within seconds, as its targets
        sends = prom.alertmanagers()
        evidence.update(sends)
        dropped_ours = [url for url in sends["dropped"] if url.startswith(tuple(ours))]
        active_ours = [url for url in sends["active"] if url.startswith(tuple(ours))]
        assert not dropped_ours or active_ours, (
            f"Prometheus at {prom.url} dropped the Alertmanager(s) {', '.join(dropped_ours)}"
            " (relabelling in alerting.alertmanagers) and sends to"
            f" {', '.join(sends['active']) or 'none'}"
        )
        assert sends["active"], (
            f"Prometheus at {prom.url} sends alerts to no Alertmanager, expected {ours[0]}: its "
            "alerting.alertmanagers configuration is missing or wrong"
        )
        evidence["addressed_as_in_the_profile"] = bool(active_ours)

    eventually(wired, timeout=expect["monitoring.first_scrape_wait_s"], interval=1.0)


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(ALERTS)
def check_prometheus_tells_every_instance(prom, alertmanager, expect, evidence):
    """Prometheus sends alerts to at least as many Alertmanagers as the cluster has members.

    An HA Alertmanager is told every alert by every Prometheus, as its documentation asks: an
    instance told alone waits its turn in the cluster before it notifies (15 s a place by default),
    and while it is down nobody is told. List every instance, not one or a load-balanced address.
    Judged by count (the members in the profile's Alertmanager's `/api/v2/status` against
    Prometheus's active Alertmanagers), since Prometheus addresses them its own way; a Prometheus
    that has just started is given `monitoring.first_scrape_wait_s` (15 s).

    A warning, as alerts still arrive.

    When it fails: Compare Prometheus's `/api/v1/alertmanagers` with the cluster's members in
    Alertmanager's `/api/v2/status`, and list every instance in `alerting.alertmanagers` (each pod,
    e.g. through a headless Service), not one address or a load balancer. Alerts still arrive
    meanwhile: fix it in the next change window.
    """
    members = len(alertmanager.status().get("cluster", {}).get("peers") or []) or 1

    def told():
        active = prom.alertmanagers()["active"]
        evidence.update(members=members, active=active)
        assert len(active) >= members, (
            f"Prometheus at {prom.url} sends alerts to {len(active)} Alertmanager(s)"
            f" ({', '.join(active) or 'none'}), but the cluster at {alertmanager.url} has {members}"
            " members: list every instance in alerting.alertmanagers, not one or a load-balanced"
            " address"
        )

    eventually(told, timeout=expect["monitoring.first_scrape_wait_s"], interval=1.0)


def _teams(expect, config: dict) -> dict[str, set[str]]:
    return alerting.teams_of(config, expect["alerting.contacts"], expect["alerting.receivers"])


def _wanted(expect, row: list[str]) -> tuple[set[str], set[str]]:
    """A policy row's entries: the teams it names (on-call and the teams of the contacts), and
    receivers by name."""
    known = {alerting.ON_CALL, *expect["alerting.contacts"], *expect["alerting.receivers"]}
    return {r for r in row if r in known}, {r for r in row if r not in known}


def _route_problem(
    routed: list[str], teams: dict[str, set[str]], want_teams: set[str], want_names: set[str]
) -> str:
    reached = alerting.teams_reached(routed, teams)
    missing = sorted(want_teams - reached) + sorted(want_names - set(routed))
    extra = sorted(reached - want_teams)
    return "; ".join(
        [f"{', '.join(missing)} not reached"] * bool(missing)
        + [f"{', '.join(extra)} reached too"] * bool(extra)
    )


@pytest.mark.gate
@pytest.mark.severity("critical")
@pytest.mark.runbook(ESCALATION)
def check_escalation_route(alertmanager_config, alertmanager, deployed, expect, policy, evidence):
    """An alert of each escalation-policy row reaches exactly that row's teams, in the deployed file
    and in the live Alertmanager.

    One case per row of `expectations.alerting.policy` (its labels, and its teams: `on-call`,
    `devops`, `database`, `security`, or receivers by name), routed with `amtool config routes test`
    over the deployed file and over the configuration the live Alertmanager has loaded. By default
    every critical alert reaches on-call and devops, one labelled `team="database"` the database
    team too and one labelled `team="security"` the security team too; a warning alert reaches
    devops, or only the database team where it is labelled `team="database"`.

    A receiver belongs to a team by what it notifies (the guide's contacts, `alerting.contacts`) or
    because `alerting.receivers` names it for that team; unless `alerting.receivers` names one for
    on-call, the on-call engineer's is any receiver that pages (PagerDuty, Opsgenie, VictorOps) or
    is named like on-call or pager. The route tree's shape and the receivers' names are the team's
    own. A team not reached, or one reached too, fails.

    When it fails: Reproduce it with `amtool config routes test --config.file=FILE` and the labels
    in the message, then fix the routes or receivers in the deployed file; if only the loaded
    configuration is wrong, Alertmanager was not reloaded with the file. A team whose policy differs
    changes its row of `alerting.policy` in its `[expectations]`.
    """
    labels = policy["labels"]
    want_teams, want_names = _wanted(expect, list(policy["receivers"]))
    shown = ", ".join(f"{k}={v}" for k, v in labels.items())
    expected = ", ".join(sorted(want_teams | want_names))
    teams = _teams(expect, deployed)
    loaded_text = alertmanager.loaded_config()
    loaded_config = alerting.parse(loaded_text)
    with alerting.config_file(loaded_text) as loaded_file:
        routed, loaded = alerting.routes_each(
            [(alertmanager_config, labels), (loaded_file, labels)]
        )
    evidence.update(
        deployed=alerting.describe_routed(routed, teams),
        expected=expected,
        loaded=alerting.describe_routed(loaded, _teams(expect, loaded_config)),
    )
    problem = _route_problem(routed, teams, want_teams, want_names)
    assert not problem, (
        f"an alert {{{shown}}} is routed to {alerting.describe_routed(routed, teams)} by "
        f"{alertmanager_config}: {problem} (escalation policy row '{policy['name']}': {expected})"
    )
    problem = _route_problem(loaded, _teams(expect, loaded_config), want_teams, want_names)
    assert not problem, (
        f"an alert {{{shown}}} is routed to {', '.join(loaded) or 'nobody'} by the configuration"
        f" Alertmanager at {alertmanager.url} has loaded: {problem}; the running config differs"
        f" from {alertmanager_config} (escalation policy row '{policy['name']}': {expected})"
    )


@pytest.mark.gate
@pytest.mark.severity("warning")
@pytest.mark.runbook(ESCALATION)
def check_every_alert_reaches_a_receiver(prom, alertmanager_config, deployed, evidence):
    """Every alert rule Prometheus has loaded routes, for its labels, to a receiver that delivers.

    Each rule's labels, with its `alertname`, are routed with `amtool config routes test` over the
    deployed configuration. A receiver without an integration (email, webhook, PagerDuty, Slack,
    Opsgenie and the like) delivers nothing.

    When it fails: Run `amtool config routes test --config.file=FILE alertname=NAME` with each named
    alert's labels to see where it ends, and route it to a receiver with an integration (email,
    webhook, PagerDuty), or give the catch-all route one. An alert nobody needs is better removed
    from the rules than routed to nothing.
    """
    real = {
        name
        for name, receiver in alerting.receivers(deployed).items()
        if not alerting.is_null(receiver)
    }
    lost = {}
    rules = prom.alerting_rules()
    queries = [
        (alertmanager_config, {"alertname": rule["name"], **rule.get("labels", {})})
        for rule in rules
    ]
    for rule, got in zip(rules, alerting.routes_each(queries), strict=True):
        if not set(got) & real:
            lost[rule["name"]] = ",".join(got) or "no receiver"
    evidence["lost"] = lost
    assert not lost, (
        "alert(s) Prometheus has loaded route to no receiver that delivers, in"
        f" {alertmanager_config}: "
        + "; ".join(f"{name} -> {got}" for name, got in sorted(lost.items()))
    )


@pytest.mark.gate
@pytest.mark.severity("warning")
@pytest.mark.runbook(ESCALATION)
def check_every_receiver_is_routed(alertmanager_config, deployed):
    """Every receiver of the deployed Alertmanager configuration is named by some route of its
    routing tree.

    A receiver no route names never notifies.

    When it fails: Read the routing tree (`amtool config routes show --config.file=FILE`) and name
    the receiver from the route meant to reach it, or remove it from the file if nobody needs it.
    """
    unused = sorted(set(alerting.receivers(deployed)) - alerting.routed_receivers(deployed))
    assert not unused, (
        f"receiver(s) {', '.join(unused)} in {alertmanager_config} are named by no route: they"
        " never notify"
    )


@pytest.mark.gate
@pytest.mark.severity("critical")
@pytest.mark.runbook(CONTACTS)
def check_receivers_carry_the_contacts(alertmanager_config, deployed, expect, evidence):
    """Some receiver notifies each of the guide's contact addresses, and none notifies a placeholder
    address.

    The contacts are `expectations.alerting.contacts` (devops@, dba@ and
    security@nba-stat-projections.com), looked for among the receivers' email recipients and webhook
    URLs, whatever the receivers are called. A placeholder is an address at example.com, .org or
    .net or at localhost, or one containing changeme, todo, placeholder or xxx. Where a contact is
    missing, the addresses the receivers do mail are listed.

    When it fails: Add the missing address to a receiver's `email_configs` (or its webhook), or
    replace the placeholder, in the file the message names, and run `amtool check-config` on it.
    Teams whose addresses differ from the guide's set `alerting.contacts` in the profile's
    `[expectations]`.
    """
    found = {
        name: alerting.addresses(receiver)
        for name, receiver in alerting.receivers(deployed).items()
    }
    evidence.update(found)
    notified = {address for have in found.values() for address in have}
    problems = [
        f"no receiver notifies {address} (the {team} team's contact)"
        for team, wanted in expect["alerting.contacts"].items()
        for address in wanted
        if address not in notified
    ]
    if problems:
        emails = sorted(a for a in notified if "@" in a and "://" not in a)
        problems.append(f"receivers mail {', '.join(emails) or 'nobody'}")
    problems += [f"placeholder address {p}" for p in alerting.placeholders(deployed)]
    assert not problems, f"{alertmanager_config}: " + "; ".join(problems)


@pytest.mark.gate
@pytest.mark.severity("critical")
@pytest.mark.runbook(ESCALATION)
def check_no_inhibition_mutes_critical(alertmanager_config, deployed, expect):
    """No `inhibit_rules` entry lets a warning or info alert mute a critical one.

    An entry whose target matchers accept the severity `alerting.protected_severity` (`critical`)
    and whose source matchers accept `warning` or `info` is named with its number and its source
    matchers.

    When it fails: Open the `inhibit_rules` entry the message numbers and change its matchers so a
    warning or info alert cannot mute a critical one: its `target_matchers` exclude
    `severity=critical`, or its `source_matchers` accept only critical. Run `amtool check-config` on
    the file before deploying it.
    """
    muting = alerting.inhibitions_muting(deployed, expect["alerting.protected_severity"])
    assert not muting, f"{alertmanager_config}: " + "; ".join(muting)


@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(ESCALATION)
def check_no_long_silence_on_critical(alertmanager, prom, expect, evidence):
    """No active silence covers a critical alert for longer than `alerting.max_critical_silence_h`
    (24 h).

    A silence covers an alert when its matchers fit the labels of a rule Prometheus has loaded with
    the severity `alerting.protected_severity` (`critical`); a matcher on a label the rule does not
    set (instance, job) is assumed to fit. Its length runs from its start to its end. Each is named
    with the alerts, how long, until when, and who set it; the count of active silences goes into
    the evidence.

    When it fails: Ask whoever set the silence (the message names them and its id) whether the
    critical alert is still known and handled; then shorten it to under
    `alerting.max_critical_silence_h` (24 h) or expire it (`amtool silence expire ID`). An alert
    that is noise needs its rule fixed, not a standing silence.
    """
    silences = alertmanager.silences()
    evidence["active_silences"] = len(alerting.active(silences))
    found = alerting.long_silences(
        silences,
        prom.alerting_rules(),
        expect["alerting.protected_severity"],
        expect["alerting.max_critical_silence_h"],
    )
    assert not found, f"Alertmanager at {alertmanager.url}: " + "; ".join(found)


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(ESCALATION)
def check_silences_explained(alertmanager):
    """Every active silence names its creator and says why in its comment.

    A silence with an empty `createdBy` or `comment` is named with its matchers.

    When it fails: Look the silence up by the id in the message (`amtool silence query`, or the
    Alertmanager UI) and have whoever set it re-create it with their name in `createdBy` and the
    reason in `comment`. A silence nobody claims is the on-call engineer's to keep or expire.
    """
    found = alerting.unexplained_silences(alertmanager.silences())
    assert not found, (
        f"Alertmanager at {alertmanager.url}: " + "; ".join(found) + ": say who silenced it and why"
    )


@pytest.fixture(scope="module")
def watchdog(prom, expect):
    """The loaded alert rule that always fires, or None."""
    return alerting.watchdog_rule(prom.alerting_rules(), expect["alerting.watchdog"])


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(ALERTS)
def check_watchdog_rule_present(prom, watchdog, expect, evidence):
    """An always-firing alert (a Watchdog, a dead man's switch) is loaded in Prometheus.

    Found by the expected name (`alerting.watchdog`, `Watchdog`), a common one (`DeadMansSwitch`,
    `AlwaysFiring`) or an expression `vector(1)`. Add one, and route it to a heartbeat receiver.

    A warning: a practice beyond the guide, said as absent when it is, with what that costs: without
    it an alerting pipeline that stopped delivering looks exactly like a quiet night.

    When it fails: Add an always-firing rule (`alert: Watchdog`, `expr: vector(1)`) to the rule
    files and route it to a heartbeat receiver (a dead man's switch). Yours under another name: set
    `alerting.watchdog` in the profile's `[expectations]`; a team that knowingly runs without one
    waives it with an owner and an expiry.
    """
    evidence["rule"] = watchdog.get("name") if watchdog else None
    assert watchdog is not None, (
        f"Prometheus at {prom.url} loads no always-firing alert (none named"
        f" {expect['alerting.watchdog']}, {', '.join(alerting.WATCHDOG_NAMES[1:])}, nor an"
        " expression vector(1)): if alerts stopped reaching Alertmanager nobody would notice; add"
        " one and route it to a heartbeat receiver"
    )


@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(ALERTS)
def check_watchdog_reaches_alertmanager(alertmanager, watchdog, expect):
    """The always-firing alert is active in Alertmanager: Prometheus's alerts arrive.

    Looked for by its name among Alertmanager's active alerts, neither silenced nor inhibited; a
    Prometheus that has just started is given `monitoring.first_scrape_wait_s` (15 s) for its first
    rule evaluation. Skipped, saying why, when Prometheus loads no always-firing rule
    (`check_watchdog_rule_present` says so).

    When it fails: Check whether a silence or inhibition holds it (`amtool silence query
    alertname=NAME`), then whether Prometheus sends at all:
    `check_prometheus_sends_to_alertmanager`, `prometheus_notifications_errors_total` and
    Prometheus's log (`kubectl logs` of its pod in `monitoring`). Until it arrives, assume no alert
    reaches anyone.
    """
    if watchdog is None:
        pytest.skip(
            "does not apply: Prometheus loads no always-firing alert (check_watchdog_rule_present)"
        )
    name = watchdog["name"]

    def active():  # a Prometheus that has just started sends it after its first rule evaluation
        assert alertmanager.alerts(alertname=name), (
            f"the always-firing {name} alert is loaded in Prometheus but not active in Alertmanager"
            f" at {alertmanager.url}: Prometheus's alerts are not arriving, or a silence or"
            " inhibition hides it"
        )

    eventually(active, timeout=expect["monitoring.first_scrape_wait_s"], interval=1.0)


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(ALERTS, ESCALATION)
def check_prometheus_notifications_sent(prom, alertmanager, history, evidence):
    """Prometheus had no error sending alerts to Alertmanager since the previous run.

    `prometheus_notifications_errors_total` from Prometheus's own `/metrics`, judged by its change
    since the previous run against the target; a restart of Prometheus starts a new count, and the
    first run records the baseline. The alerts sent and dropped go into the evidence. An alert
    Prometheus could not hand over reached nobody.

    A warning: a restart of Alertmanager costs a few errors; a dead pipeline fails
    `check_watchdog_reaches_alertmanager`.

    When it fails: Read Prometheus's log (`kubectl logs` of its pod in `monitoring`, `grep -i 'error
    sending alert'`) for the error and the Alertmanager it names, and check that Alertmanager is up
    and reachable from Prometheus. A few errors across an Alertmanager restart are expected: the
    next run passes if they stopped.
    """
    now = prom.notifications()
    judged = _grown_since_last_run(
        history,
        f"prometheus_notifications:{prom.url}",
        "prometheus",
        {"sent": now["sent"], "errors": now["errors"]},
        now["started"],
        evidence,
    )
    if judged is None:
        return
    grown, change = judged
    evidence.update(grown, dropped_total=now["dropped"], since=change.describe())
    assert grown["errors"] == 0, (
        f"Prometheus at {prom.url}: {grown['errors']:.0f} error(s) sending alerts to Alertmanager"
        f" {change.describe()} ({grown['sent']:.0f} alert(s) sent;"
        f" prometheus_notifications_errors_total): is {alertmanager.url} up and reachable from"
        " Prometheus?"
    )


@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(ESCALATION)
def check_notifications_delivered(alertmanager_cluster, history, evidence):
    """No notification failed since the previous run on any instance of the Alertmanager cluster.

    `alertmanager_notifications_failed_total` from each instance's `/metrics`, judged by its change
    since the previous run; a restart of an instance starts a new count, and the first run records
    the baseline. In a cluster the first instance in its order sends, and another only when it did
    not, so a receiver's refusals may be counted on any of them; a peer that does not answer is left
    to `check_alertmanager_peers_agree`. A failure means a receiver refuses or cannot be reached.

    When it fails: Read the log of the Alertmanager instance named (`kubectl logs POD -n
    monitoring`, 'Notify for alerts failed') for the receiver and its error;
    `alertmanager_notifications_failed_total` by `integration` says which kind. Fix that receiver's
    endpoint or credentials, then watch the counter stop growing.
    """
    failures = []
    for instance, now in _counters_of_each(alertmanager_cluster):
        judged = _grown_since_last_run(
            history,
            f"alertmanager_notifications:{instance.url}",
            "alertmanager",
            {"sent": now["sent"], "failed": now["failed"]},
            now["started"],
            evidence,
        )
        if judged is None:
            continue
        grown, change = judged
        evidence[instance.url] = {**grown, "since": change.describe()}
        if grown["failed"]:
            failures.append(
                f"Alertmanager at {instance.url}: {grown['failed']:.0f} notification(s) failed "
                f"{change.describe()} ({grown['sent']:.0f} sent)"
            )
    assert not failures, (
        f"{'; '.join(failures)}: a receiver refuses or cannot be reached "
        "(alertmanager_notifications_failed_total)"
    )


@pytest.mark.monthly
@pytest.mark.severity("critical")
@pytest.mark.safety("disruptive")
@pytest.mark.runbook(ESCALATION)
def check_alert_drill(alertmanager, alertmanager_cluster, delivery_record, expect, evidence):
    """A test alert reaches each receiver its route names within the route's own timers, and its
    resolution follows.

    A uniquely labelled alert (`alerting.drill.labels`, `alertname=NbaverifyDrill` and
    `severity=critical`, plus a unique `nbaverify_drill` label) is posted to every instance of the
    cluster, as Prometheus sends, and must be grouped by the live Alertmanager under its route's
    receivers (a silence or inhibition holding it fails). It fires for `alerting.drill.hold_s` (20
    s) once delivered, then is resolved.

    With a delivery record (`[alertmanager] deliveries`: JSON Lines or a JSON array, one
    notification each with `receiver` and `status`), each of those receivers must show the firing
    notification within its route's `group_wait` (or its `group_interval`, the longer, since a drill
    alert may join a group an earlier drill left) plus `alerting.drill.margin_s` (15 s), then, for
    each receiver with `send_resolved`, the resolution within its route's `group_interval` plus the
    margin. The timers are read from the configuration the live Alertmanager has loaded, and a
    message that gives up names the timer it waited for. Without a record only Alertmanager's own
    counters can be read, which add up every receiver and instance: no attempt may fail, and some
    notification must go out, in each phase.

    It notifies the people those receivers name: against production only with `--allow disruptive`.

    When it fails: Read the phase and receiver the message names: grouped under no receiver means a
    silence or inhibition holds the drill alert; no delivery means read the Alertmanager log
    ('Notify for alerts failed') and that receiver's integration. It pages real people: re-run it
    (`--allow disruptive`) only once fixed.
    """
    drill = expect["alerting.drill"]
    marker = uuid.uuid4().hex[:12]
    labels = {**drill["labels"], "nbaverify_drill": marker}
    alert = "the drill alert {" + ", ".join(f"{k}={v}" for k, v in labels.items()) + "}"
    waits = _waits(alertmanager, labels, drill["margin_s"])
    evidence["waits"] = {phase: why for phase, (_, why) in waits.items()}
    evidence["attributed_by"] = (
        delivery_record.where
        if delivery_record
        else (
            "Alertmanager's counters over every receiver ([alertmanager] deliveries names no"
            " record)"
        )
    )
    routed: list[str] = []
    resolved = False
    try:
        for phase, ends in (("firing", dt.timedelta(minutes=10)), ("resolved", dt.timedelta(0))):
            before = _notifications(alertmanager_cluster)
            _send_to_every_instance(alertmanager_cluster, labels, ends, evidence)
            resolved = phase == "resolved"
            if phase == "firing":
                routed = _routed(alertmanager, alert, marker)
                evidence["routed_to"] = routed
            if delivery_record is None:
                _counted(alertmanager_cluster, alert, phase, before, waits[phase], evidence)
            else:
                loaded = alerting.parse(alertmanager.loaded_config())
                expected = (
                    routed
                    if phase == "firing"
                    else [r for r in routed if alerting.sends_resolved(loaded, r)]
                )
                _recorded(
                    alertmanager_cluster,
                    delivery_record,
                    alert,
                    marker,
                    phase,
                    routed,
                    expected,
                    before,
                    waits[phase],
                    evidence,
                )
            if phase == "firing":
                # resolved sooner than the cluster's peer timeout, a later instance sends the firing
                # it still holds after the resolution, and the resolution itself can be lost (its
                # notification log no longer firing)
                time.sleep(drill["hold_s"])
    finally:
        if not resolved:
            # a drill that stopped while firing resolves its alert: never leave a page standing
            with contextlib.suppress(NbaverifyError):
                _send_to_every_instance(alertmanager_cluster, labels, dt.timedelta(0), {})


def _waits(alertmanager, labels: dict[str, str], margin_s: float) -> dict[str, tuple[float, str]]:
    """How long each phase may take, from the timers of the routes the alert takes in the loaded
    configuration. The firing notification is due after group_wait in a new group, or at the next
    flush, group_interval on, when the alert joins a group that has notified already (an earlier
    drill's group outlives its alerts a while, unseen by the API); the resolved one at the group's
    next flush."""
    routes = alerting.route_timers(alerting.parse(alertmanager.loaded_config()), labels)
    wait = max(r["group_wait"] for r in routes)
    interval = max(r["group_interval"] for r in routes)
    firing = max(wait, interval) + margin_s
    return {
        "firing": (
            firing,
            (
                f"{firing:g}s: its route's group_wait {wait:g}s, or its group_interval"
                f" {interval:g}s when the alert joins a group already notified, + {margin_s:g}s"
            ),
        ),
        "resolved": (
            interval + margin_s,
            f"{interval + margin_s:g}s: its route's group_interval {interval:g}s + {margin_s:g}s",
        ),
    }


def _counters_of_each(instances) -> list[tuple]:
    """(instance, its notification counters) of every instance that answers; the first must."""
    found = []
    for instance in instances:
        try:
            found.append((instance, instance.notifications()))
        except TargetUnreachable:
            if instance is instances[0]:
                raise  # a peer that is down is check_alertmanager_peers_agree's to report
    return found


def _notifications(instances) -> dict[str, float]:
    """The cluster's notification counters, every reachable instance's added up: whichever instance
    comes first in the cluster's order sends, the others only when it did not."""
    total: dict[str, float] = {}
    for _, counted in _counters_of_each(instances):
        for key in ("sent", "failed", "requests", "requests_failed"):
            total[key] = total.get(key, 0.0) + counted[key]
    return total


def _recorded(
    instances,
    record,
    alert: str,
    marker: str,
    phase: str,
    routed: list[str],
    expected: list[str],
    before: dict,
    wait: tuple[float, str],
    evidence,
) -> None:
    """The delivery record shows a notification of this phase, carrying the drill's marker, for
    every receiver."""
    alertmanager = instances[0]

    def delivered():
        try:
            entries = record.entries()
        except CheckError as exc:  # a file its writer has not made yet: it may be, within the wait
            raise AssertionError(str(exc)) from None
        got = alerting.delivered_to(entries, marker, phase)
        missing = [r for r in expected if r not in got]
        failed = _notifications(instances)["requests_failed"] - before["requests_failed"]
        assert not missing, (
            f"{alert} ({phase}) was routed to {', '.join(routed)} by Alertmanager at"
            f" {alertmanager.url}, but {record.where} shows no delivery to {', '.join(missing)}"
            f" within {wait[1]} (delivered to: {', '.join(sorted(got)) or 'none'}; {failed:.0f}"
            " notification attempt(s) failed at Alertmanager meanwhile, over every receiver and"
            " instance)"
        )
        evidence[phase] = sorted(got)

    eventually(delivered, timeout=wait[0], interval=1.0)


def _send_to_every_instance(
    instances, labels: dict[str, str], ends: dt.timedelta, evidence
) -> None:
    """Each instance is told, as Prometheus tells them all: the first in the cluster's order
    notifies at once, the others wait to hear it did (an instance told alone waits its turn, 15 s a
    place by default)."""
    now = dt.datetime.now(dt.UTC)
    for position, instance in enumerate(instances):
        try:
            instance.post_alert(
                labels,
                {"summary": "nbaverify alert drill: no action needed"},
                now.isoformat(),
                (now + ends).isoformat(),
            )
        except TargetUnreachable as exc:
            if position == 0:
                raise
            evidence.setdefault("peers_not_told", []).append(exc.where)


def _routed(alertmanager, alert: str, marker: str) -> list[str]:
    def grouped():
        found = alertmanager.routed_to(nbaverify_drill=marker)
        assert found, (
            f"{alert} sent to Alertmanager at {alertmanager.url} was grouped under no receiver: a"
            " silence or an inhibition holds it"
        )
        return sorted(found)

    return eventually(grouped, timeout=5.0, interval=0.5)


def _counted(
    instances, alert: str, phase: str, before: dict, wait: tuple[float, str], evidence
) -> None:
    """Without a delivery record: no attempt failed, and some notification went out, over every
    receiver."""
    alertmanager = instances[0]

    def sent():
        after = _notifications(instances)
        # every attempt, not only given-up ones
        failed = after["requests_failed"] - before["requests_failed"]
        assert failed == 0, (
            f"{alert} ({phase}) was out while {failed:.0f} notification attempt(s) failed at"
            f" Alertmanager at {alertmanager.url} (counted over every receiver and instance; a"
            " delivery record, [alertmanager] deliveries, would say whose)"
        )
        succeeded = (after["requests"] - after["requests_failed"]) - (
            before["requests"] - before["requests_failed"]
        )
        assert succeeded > 0, (
            f"{alert} ({phase}) was not notified by any instance of Alertmanager at"
            f" {alertmanager.url} within {wait[1]}"
        )
        evidence[phase] = f"{succeeded:.0f} notification(s) sent, over every receiver"

    eventually(sent, timeout=wait[0], interval=0.5)
    time.sleep(SETTLE_S)  # Alertmanager counts a failure just after the attempt it counted already
    sent()
