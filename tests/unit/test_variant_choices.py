"""The variants as data and what their choices do to the platform's files (offline)."""

from __future__ import annotations

import pytest
import yaml

from nbaverify.errors import ConfigError
from nbaverify.probes import alerting
from nbaverify.sandbox import variant_shapes as shapes
from nbaverify.sandbox import variants
from nbaverify.shipped import K8S_MANIFESTS, MONITORING

CONTACTS = {
    "devops": ["devops@nba-stat-projections.com"],
    "database": ["dba@nba-stat-projections.com"],
    "security": ["security@nba-stat-projections.com"],
}
POLICY = [
    ({"severity": "critical", "alertname": "HighErrorRate"}, {"on-call", "devops"}),
    (
        {"severity": "critical", "team": "database", "alertname": "X"},
        {"on-call", "database", "devops"},
    ),
    ({"severity": "warning", "team": "database", "alertname": "X"}, {"database"}),
    (
        {"severity": "critical", "team": "security", "alertname": "X"},
        {"on-call", "security", "devops"},
    ),
    ({"severity": "warning", "alertname": "HighLatencyP95"}, {"devops"}),
]


def test_variants_take_every_value_of_every_dimension_but_the_slowest():
    taken = {
        (d, v[d])
        for v in [variants.DEFAULT, *variants.VARIANTS.values()]
        for d in variants.DIMENSIONS
    }
    slow = {("group_wait", "30s"), ("group_interval", "1m"), ("scrape_interval", "15s")}
    every = {(d, value) for d, (_, values) in variants.DIMENSIONS.items() for value in values}
    assert every - taken == slow
    assert len(variants.VARIANTS) >= 6


def test_a_variant_is_named_or_drawn_from_a_seed():
    assert (
        variants.resolve("renamed") is variants.VARIANTS["renamed"]
        and variants.resolve(None) == variants.DEFAULT
    )
    assert variants.resolve("1234") == variants.resolve("1234") and variants.resolve("1234").choices
    with pytest.raises(
        ConfigError, match=r"--variant: nope: unknown variant; `nbaverify sandbox variants`"
    ):
        variants.resolve("nope")
    assert variants.VARIANTS["proxied"].expects == [
        "checks/test_database_backups.py::check_wal_archiving_enabled"
    ]


@pytest.mark.parametrize(
    "choices",
    [
        {},
        {"route_shape": "nested"},
        {"receiver_names": "plain"},
        {"delivery": "email-only", "receiver_names": "plain", "route_shape": "nested"},
    ],
)
def test_every_alertmanager_shape_routes_the_escalation_policy_to_the_same_teams(choices):
    shipped = yaml.safe_load((MONITORING / "alertmanager" / "alertmanager.yml").read_text())
    config = shapes.alertmanager(shipped, variants.Variant("t", choices))
    teams = alerting.teams_of(config, CONTACTS, {})
    for labels, wanted in POLICY:
        routed = [r["receiver"] for r in alerting.route_timers(config, labels)]
        assert alerting.teams_reached(routed, teams) == wanted, (labels, routed)


def test_route_timers_are_inherited_and_read():
    config = shapes.alertmanager(
        yaml.safe_load((MONITORING / "alertmanager" / "alertmanager.yml").read_text()),
        variants.Variant("t", {"group_interval": "30s", "group_wait": "0s"}),
    )
    timers = alerting.route_timers(config, {"severity": "critical", "alertname": "NbaverifyDrill"})
    assert {t["receiver"] for t in timers} == {"oncall-pager", "devops"}
    assert {(t["group_wait"], t["group_interval"]) for t in timers} == {(0.0, 30.0)}
    assert alerting.seconds("1m30s") == 90 and alerting.seconds("0s") == 0


def test_the_kubernetes_shapes_keep_every_workload_isolated_and_relabelled():
    from nbaverify.probes import network_policy as netpol

    objects = [
        o
        for p in sorted(K8S_MANIFESTS.glob("*.yaml"))
        for o in yaml.safe_load_all(p.read_text())
        if o
    ]
    variant = variants.Variant(
        "t",
        {
            "labels": "app.kubernetes.io/name",
            "network_policies": "default-deny",
            "namespaces": "split",
            "batch_workloads": "all",
        },
    )
    shaped = shapes.manifests(objects, variant)
    assert not any("app" in (o["metadata"].get("labels") or {}) for o in shaped)
    policies = [o for o in shaped if o["kind"] == "NetworkPolicy"]
    for obj in shaped:
        template = (
            (obj.get("spec") or {}).get("template")
            or (obj.get("spec") or {}).get("jobTemplate", {}).get("spec", {}).get("template")
            or (obj if obj["kind"] == "Pod" else None)
        )
        if obj["kind"] in ("Deployment", "StatefulSet", "Job", "CronJob", "Pod") and template:
            pods = netpol.Pods(
                obj["metadata"]["name"],
                obj["metadata"]["namespace"],
                template["metadata"]["labels"],
            )
            assert netpol.ingress_to(policies, pods).isolating, obj["metadata"]["name"]


def test_the_rule_shapes_rename_and_leave_out_the_watchdog():
    files = {p.name: yaml.safe_load(p.read_text()) for p in (MONITORING / "rules").glob("*.yml")}
    shaped = shapes.rule_files(
        files,
        variants.Variant(
            "t", {"rule_names": "renamed", "watchdog": "off", "recording_rules": "some"}
        ),
    )
    assert set(shaped) == {"platform-alerts.yml", "platform-recording.yml"}
    alerts = [r["alert"] for g in shaped["platform-alerts.yml"]["groups"] for r in g["rules"]]
    assert "Watchdog" not in alerts and "HighErrorRate" in alerts
    tests = yaml.safe_load(next((MONITORING / "tests").glob("*.yml")).read_text())
    shaped_tests = shapes.rule_tests(
        tests, variants.Variant("t", {"rule_names": "renamed", "watchdog": "off"})
    )
    assert shaped_tests["rule_files"] == ["../rules/platform-alerts.yml"]
    assert not any(
        c.get("alertname") == "Watchdog"
        for t in shaped_tests["tests"]
        for c in t.get("alert_rule_test", [])
    )


def test_a_fault_made_on_a_variant_is_refused_elsewhere_before_anything_starts(tmp_path):
    from nbaverify.sandbox.faults import CATALOGUE
    from nbaverify.sandbox.layout import Layout
    from nbaverify.sandbox.manager import Sandbox

    made_on = {name: fault.variant for name, fault in CATALOGUE.items() if fault.variant}
    assert set(made_on.values()) <= set(variants.VARIANTS) and "jwt_key_confusion" in made_on
    assert variants.drawn(3).has(variants.DEFAULT) and not variants.DEFAULT.has(
        variants.VARIANTS["key-pair"]
    )
    sandbox = Sandbox(Layout(tmp_path / "sandbox", 27000))
    with pytest.raises(
        ConfigError,
        match=r"jwt_key_confusion: can be made only where the sandbox jwt_alg=RS256 "
        r"\(add --variant key-pair\)",
    ):
        sandbox.up(["jwt_key_confusion"], api="python", variant="default")
    assert not (tmp_path / "sandbox").exists()


def test_the_sandbox_profile_s_variables_may_span_lines(tmp_path, monkeypatch):
    from nbaverify import config

    (tmp_path / "target.toml").write_text("")
    (tmp_path / "target.env").write_text(
        "# comment\nexport A='one'\nexport KEY='-----BEGIN-----\nabc\n-----END-----\n'\n"
        "export B='two'\n"
    )
    monkeypatch.setattr(config, "sandbox_profile", lambda: tmp_path / "target.toml")
    assert config._sandbox_environ() == {
        "A": "one",
        "KEY": "-----BEGIN-----\nabc\n-----END-----\n",
        "B": "two",
    }
