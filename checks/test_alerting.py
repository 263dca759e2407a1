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

import datetime as dt
import time
import uuid

import pytest

from nbaverify.checking import parametrize_from
from nbaverify.eventually import eventually
from nbaverify.probes import alerting, counters

pytestmark = [pytest.mark.area("monitoring")]

ESCALATION = "Support Procedures / Escalation Path"
CONTACTS = "Support Procedures / Contact Information"
ALERTS = "System Monitoring / Monitoring Tools / Alert Configuration"
SETTLE_S = 1.5


def pytest_generate_tests(metafunc):
    parametrize_from(metafunc, "policy", "alerting.policy")


@pytest.fixture(scope="module")
def deployed(alertmanager_config):
    return alerting.load(alertmanager_config)


def _grown_since_last_run(history, key: str, name: str, readings: dict[str, float], started: float, evidence):
    """A process's own counters, judged by their growth since the previous run (its start is their epoch);
    None on the first run, which records the baseline and says so."""
    change = counters.since_last_run(history, key, {name: readings},
                                     epoch=dt.datetime.fromtimestamp(started, dt.UTC).isoformat())
    if change is None:
        evidence["note"] = counters.first_run_note()
        return None
    return change.deltas[name], change


@pytest.mark.gate
@pytest.mark.severity("critical")
@pytest.mark.runbook(ALERTS)
def check_alertmanager_config_valid(alertmanager_config):
    problem = alerting.check_config(alertmanager_config)
    assert problem is None, f"amtool check-config {alertmanager_config}: {problem}"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(ALERTS)
def check_alertmanager_ready(alertmanager):
    ready, detail = alertmanager.ready()
    assert ready, f"Alertmanager at {alertmanager.url} is not ready ({detail}): fired alerts reach nobody"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(ALERTS)
def check_alertmanager_peers_agree(alertmanager_cluster, expect, evidence):
    """A clustered Alertmanager ([alertmanager] peers): every instance gossips with all the others, has
    loaded the same configuration and holds the same silences (else both notify, or a silence misses one)."""
    if len(alertmanager_cluster) == 1:
        state = (alertmanager_cluster[0].status().get("cluster") or {}).get("status")
        if state in (None, "disabled"):
            pytest.skip("not clustered: the Alertmanager runs without gossip and [alertmanager] names no peers")

    def agree():
        views = [(am.url, am.status(), {s["id"] for s in alerting.active(am.silences())}) for am in alertmanager_cluster]
        evidence["instances"] = {url: {"cluster": (status.get("cluster") or {}).get("status"),
                                       "members": len((status.get("cluster") or {}).get("peers") or []),
                                       "silences": len(silences)} for url, status, silences in views}
        problems = alerting.cluster_disagreements(views)
        assert not problems, "; ".join(problems)

    eventually(agree, timeout=expect["alerting.cluster_settle_s"], interval=1.0)


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(ALERTS)
def check_prometheus_sends_to_alertmanager(prom, alertmanager, expect, evidence):
    def wired():  # a Prometheus that has just started finds its Alertmanagers within seconds, as its targets
        sends = prom.alertmanagers()
        evidence.update(sends)
        active = [url for url in sends["active"] if url.startswith(alertmanager.url)]
        assert active, (f"Prometheus at {prom.url} sends alerts to {sends['active'] or 'no Alertmanager'}, expected "
                        f"{alertmanager.url}: its alerting.alertmanagers configuration is missing or wrong")
        assert not sends["dropped"], f"Prometheus at {prom.url} dropped Alertmanager(s) {sends['dropped']}"

    eventually(wired, timeout=expect["monitoring.first_scrape_wait_s"], interval=1.0)


@pytest.mark.gate
@pytest.mark.severity("critical")
@pytest.mark.runbook(ESCALATION)
def check_escalation_route(alertmanager_config, alertmanager, policy, evidence):
    labels, wanted = policy["labels"], list(policy["receivers"])
    shown = ", ".join(f"{k}={v}" for k, v in labels.items())
    deployed = alerting.routes(alertmanager_config, labels)
    loaded = alerting.routes_loaded(alertmanager.loaded_config(), labels)
    evidence.update(deployed=deployed, loaded=loaded, expected=wanted)
    assert deployed == wanted, (f"an alert {{{shown}}} is routed to {','.join(deployed)} by {alertmanager_config}, "
                                f"expected {','.join(wanted)} (escalation policy row '{policy['name']}')")
    assert loaded == wanted, (f"an alert {{{shown}}} is routed to {','.join(loaded)} by the configuration "
                              f"Alertmanager at {alertmanager.url} has loaded, expected {','.join(wanted)}: "
                              f"the running config differs from {alertmanager_config}")


@pytest.mark.gate
@pytest.mark.severity("warning")
@pytest.mark.runbook(ESCALATION)
def check_every_alert_reaches_a_receiver(prom, alertmanager_config, deployed, evidence):
    real = {name for name, receiver in alerting.receivers(deployed).items() if not alerting.is_null(receiver)}
    lost = {}
    for rule in prom.alerting_rules():
        labels = {"alertname": rule["name"], **rule.get("labels", {})}
        got = alerting.routes(alertmanager_config, labels)
        if not set(got) & real:
            lost[rule["name"]] = ",".join(got) or "no receiver"
    evidence["lost"] = lost
    assert not lost, (f"alert(s) Prometheus has loaded route to no receiver that delivers, in {alertmanager_config}: "
                      + "; ".join(f"{name} -> {got}" for name, got in sorted(lost.items())))


@pytest.mark.gate
@pytest.mark.severity("warning")
@pytest.mark.runbook(ESCALATION)
def check_every_receiver_is_routed(alertmanager_config, deployed):
    unused = sorted(set(alerting.receivers(deployed)) - alerting.routed_receivers(deployed))
    assert not unused, f"receiver(s) {', '.join(unused)} in {alertmanager_config} are named by no route: they never notify"


@pytest.mark.gate
@pytest.mark.severity("critical")
@pytest.mark.runbook(CONTACTS)
def check_receivers_carry_the_contacts(alertmanager_config, deployed, expect, evidence):
    receivers = alerting.receivers(deployed)
    problems = []
    for name, wanted in expect["alerting.contacts"].items():
        if name not in receivers:
            problems.append(f"receiver {name} is missing")
            continue
        have = alerting.addresses(receivers[name])
        evidence[name] = have
        problems += [f"receiver {name} does not notify {address} (it notifies {', '.join(have) or 'nobody'})"
                     for address in wanted if address not in have]
    problems += [f"placeholder address {p}" for p in alerting.placeholders(deployed)]
    assert not problems, f"{alertmanager_config}: " + "; ".join(problems)


@pytest.mark.gate
@pytest.mark.severity("critical")
@pytest.mark.runbook(ESCALATION)
def check_no_inhibition_mutes_critical(alertmanager_config, deployed, expect):
    muting = alerting.inhibitions_muting(deployed, expect["alerting.protected_severity"])
    assert not muting, f"{alertmanager_config}: " + "; ".join(muting)


@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(ESCALATION)
def check_no_long_silence_on_critical(alertmanager, prom, expect, evidence):
    silences = alertmanager.silences()
    evidence["active_silences"] = len(alerting.active(silences))
    found = alerting.long_silences(silences, prom.alerting_rules(), expect["alerting.protected_severity"],
                                   expect["alerting.max_critical_silence_h"])
    assert not found, f"Alertmanager at {alertmanager.url}: " + "; ".join(found)


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(ESCALATION)
def check_silences_explained(alertmanager):
    found = alerting.unexplained_silences(alertmanager.silences())
    assert not found, f"Alertmanager at {alertmanager.url}: " + "; ".join(found) + ": say who silenced it and why"


@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(ALERTS)
def check_watchdog_reaches_alertmanager(alertmanager, expect):
    name = expect["alerting.watchdog"]

    def active():  # a Prometheus that has just started sends it after its first rule evaluation
        assert alertmanager.alerts(alertname=name), (
            f"the always-firing {name} alert is not active in Alertmanager at {alertmanager.url}: Prometheus's "
            "alerts are not reaching it (or a silence or inhibition hides it)")

    eventually(active, timeout=expect["monitoring.first_scrape_wait_s"], interval=1.0)


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(ALERTS)
def check_prometheus_notifications_sent(prom, alertmanager, history, evidence):
    """Errors sending alerts to Alertmanager since the previous run: an alert Prometheus could not hand over
    reached nobody. A warning: a restart of Alertmanager costs a few; a dead pipeline fails the watchdog check."""
    now = prom.notifications()
    judged = _grown_since_last_run(history, f"prometheus_notifications:{prom.url}", "prometheus",
                                   {"sent": now["sent"], "errors": now["errors"]}, now["started"], evidence)
    if judged is None:
        return
    grown, change = judged
    evidence.update(grown, dropped_total=now["dropped"], since=change.describe())
    assert grown["errors"] == 0, (
        f"Prometheus at {prom.url}: {grown['errors']:.0f} error(s) sending alerts to Alertmanager {change.describe()} "
        f"({grown['sent']:.0f} alert(s) sent; prometheus_notifications_errors_total): is {alertmanager.url} up and "
        "reachable from Prometheus?")


@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(ESCALATION)
def check_notifications_delivered(alertmanager, history, evidence):
    now = alertmanager.notifications()
    judged = _grown_since_last_run(history, f"alertmanager_notifications:{alertmanager.url}", "alertmanager",
                                   {"sent": now["sent"], "failed": now["failed"]}, now["started"], evidence)
    if judged is None:
        return
    grown, change = judged
    evidence.update(grown, since=change.describe())
    assert grown["failed"] == 0, (
        f"Alertmanager at {alertmanager.url}: {grown['failed']:.0f} notification(s) failed {change.describe()} "
        f"({grown['sent']:.0f} sent): a receiver refuses or cannot be reached (alertmanager_notifications_failed_total)")


@pytest.mark.monthly
@pytest.mark.severity("critical")
@pytest.mark.safety("disruptive")
@pytest.mark.runbook(ESCALATION)
def check_alert_drill(alertmanager, expect, evidence):
    """A uniquely labelled test alert through Alertmanager, delivered to its route's receivers, then resolved.
    It notifies the people those receivers name: against production only with --allow disruptive."""
    drill = expect["alerting.drill"]
    labels = {**drill["labels"], "nbaverify_drill": uuid.uuid4().hex[:12]}
    shown = ", ".join(f"{k}={v}" for k, v in labels.items())
    within = drill["deliver_within_s"]
    for phase, ends in (("firing", dt.timedelta(minutes=10)), ("resolved", dt.timedelta(0))):
        before = alertmanager.notifications()
        now = dt.datetime.now(dt.UTC)
        alertmanager.post_alert(labels, {"summary": "nbaverify alert drill: no action needed"},
                                now.isoformat(), (now + ends).isoformat())

        def delivered(before=before, phase=phase):
            after = alertmanager.notifications()
            failed = after["requests_failed"] - before["requests_failed"]  # every attempt, not only given-up ones
            assert failed == 0, (f"the drill alert {{{shown}}} ({phase}) was not delivered by Alertmanager at "
                                 f"{alertmanager.url}: {failed:.0f} notification attempt(s) failed")
            succeeded = (after["requests"] - after["requests_failed"]) - (before["requests"] - before["requests_failed"])
            assert succeeded > 0, (f"the drill alert {{{shown}}} ({phase}) was not notified by Alertmanager at "
                                   f"{alertmanager.url} within {within:g}s")
            evidence[phase] = succeeded

        eventually(delivered, timeout=within, interval=0.5)
        time.sleep(SETTLE_S)  # Alertmanager counts a failure just after the attempt it counted already
        delivered()
