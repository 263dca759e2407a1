"""The Kubernetes probes and the manifests source, offline: selectors, open peers, grants, literals,
YAML errors."""

import datetime as dt

import pytest

from nbaverify import label_selectors
from nbaverify.clients.k8s import ManifestSource, ref
from nbaverify.errors import CheckError, NotConfigured
from nbaverify.probes import credentials, rbac
from nbaverify.probes import kubernetes as kube
from nbaverify.probes import network_policy as netpol
from nbaverify.probes import workloads as pods
from nbaverify.shipped import CHECKOUT as PROJECT_ROOT


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ({"matchLabels": {"app": "api"}}, {"app": "api", "tier": "web"}, True),
        ({"matchLabels": {"app": "api"}}, {"app": "frontend"}, False),
        ({}, {"app": "anything"}, True),
        (
            {"matchExpressions": [{"key": "app", "operator": "In", "values": ["api", "web"]}]},
            {"app": "web"},
            True,
        ),
        (
            {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["api"]}]},
            {"app": "api"},
            False,
        ),
        (
            {"matchExpressions": [{"key": "canary", "operator": "DoesNotExist"}]},
            {"canary": "1"},
            False,
        ),
        ({"matchExpressions": [{"key": "app", "operator": "Exists"}]}, {}, False),
    ],
)
def test_label_selectors_match_as_kubernetes_does(selector, labels, matches):
    assert label_selectors.selector_matches(selector, labels) is matches


def test_open_peers_are_named_and_named_peers_are_not():
    policy = {
        "spec": {
            "ingress": [
                {"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}]},
                {"from": [{"namespaceSelector": {}}]},
                {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]},
                {"ports": [{"port": 80}]},
                {
                    "from": [
                        {"namespaceSelector": {"matchLabels": {"team": "web"}}, "podSelector": {}}
                    ]
                },
            ]
        }
    }
    assert netpol.open_peers(policy) == [
        "ingress rule 2 admits every pod of every namespace (namespaceSelector {})",
        "ingress rule 3 admits ipBlock 0.0.0.0/0",
        "ingress rule 4 has no 'from' (admits every source)",
    ]


def test_quantities_compare_by_value():
    assert kube.same_quantity("1", "1000m") and kube.same_quantity("1Gi", "1024Mi")
    assert not kube.same_quantity("2Gi", "1Gi") and not kube.same_quantity(None, "1")


def test_rules_allow_as_the_authorizer_matches():
    rule = {"apiGroups": ["", "apps"], "resources": ["pods", "*/exec"], "verbs": ["get", "create"]}
    assert rbac.allows(rule, "", "pods", "get") and rbac.allows(rule, "apps", "pods", "create")
    assert rbac.allows(rule, "", "pods/exec", "create") and not rbac.allows(
        rule, "", "secrets", "get"
    )
    assert rbac.allows(
        {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, "", "secrets", "list"
    )
    assert not rbac.allows(
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}, "", "pods/exec", "get"
    )


def test_only_literal_credentials_are_reported():
    workload = {
        "kind": "Deployment",
        "metadata": {"name": "api", "namespace": "nba-stats"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "api",
                            "env": [
                                {"name": "DB_PASSWORD", "value": "hunter2"},
                                {
                                    "name": "JWT_SECRET",
                                    "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}},
                                },
                                {"name": "NODE_ENV", "value": "production"},
                            ],
                        }
                    ]
                }
            }
        },
    }
    found = credentials.literals(
        pods.Workload(workload, pods.template_of(workload)[0]), "(?i)(secret|passw)"
    )
    assert found == ["nba-stats/Deployment/api container api env DB_PASSWORD is a literal value"]
    assert "hunter2" not in found[0]


def test_the_reference_manifests_hold_what_the_guide_sets():
    source = ManifestSource(PROJECT_ROOT / "fixtures" / "k8s", "nba-stats")
    api = source.get("Deployment", "api", "nba-stats")
    limits = api["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert limits == {
        "limits": {"cpu": "1", "memory": "1Gi"},
        "requests": {"cpu": "500m", "memory": "512Mi"},
    }
    assert (
        source.get("HorizontalPodAutoscaler", "api-hpa", "nba-stats")["spec"]["maxReplicas"] == 10
    )
    assert source.get("Role", "api-role", "nba-stats")["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}
    ]
    assert ref(api, "api") == "nba-stats/Deployment/api container api"
    with pytest.raises(NotConfigured, match=r'kubernetes\.source = "cluster"'):
        source.require_live("node status")


def test_a_broken_manifest_is_named_with_its_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("kind: Deployment\nmetadata:\n  name: [unclosed\n")
    with pytest.raises(CheckError, match=r"manifest .*bad\.yaml line \d+ is not valid YAML"):
        ManifestSource(tmp_path, "nba-stats").list("Deployment")
    with pytest.raises(CheckError, match="is not a directory of manifests"):
        ManifestSource(tmp_path / "missing", "nba-stats").list("Deployment")


# Rule: rotation dates are read from wherever the team keeps them, and an unreadable one is a
# finding
def secret(annotations=None, created=None):
    meta = {"name": "s", "namespace": "n", "annotations": annotations or {}}
    if created:
        meta["creationTimestamp"] = created
    return {"kind": "Secret", "metadata": meta}


@pytest.mark.parametrize(
    "key",
    [
        "nbaverify.io/rotated-at",
        "vault.example.com/last-rotated",
        "rotatedAt",
        "ops.example/rotation-date",
        "example.com/last_rotation",
    ],
)
def test_a_rotation_date_is_read_from_the_common_spellings(key):
    date = kube.rotation_date(
        secret({key: "2026-10-01T00:00:00Z"}, created="2024-01-01T00:00:00Z"),
        ["nbaverify.io/rotated-at"],
    )
    assert (
        date.when == dt.datetime(2026, 10, 1, tzinfo=dt.UTC) and date.source == f"annotation {key}"
    )


def test_the_configured_key_wins_over_another_spelling():
    date = kube.rotation_date(
        secret({"a/last-rotated": "2020-01-01", "team/rotated": "2026-11-01"}), ["team/rotated"]
    )
    assert date.when == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def test_without_an_annotation_a_live_secret_dates_from_its_creation():
    assert (
        kube.rotation_date(secret(created="2026-09-01T00:00:00Z"), ["k"]).source
        == "creationTimestamp"
    )


def test_an_unreadable_or_missing_date_is_said_so_with_the_keys_looked_for():
    bad = kube.rotation_date(
        secret({"nbaverify.io/rotated-at": "soon"}), ["nbaverify.io/rotated-at"]
    )
    assert bad.when is None and bad.problem.startswith(
        "annotation nbaverify.io/rotated-at is 'soon', not a date"
    )
    none = kube.rotation_date(secret(), ["nbaverify.io/rotated-at"])
    assert (
        none.when is None
        and "no annotation nbaverify.io/rotated-at or a common spelling" in none.problem
    )
