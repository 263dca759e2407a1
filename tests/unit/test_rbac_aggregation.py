"""Aggregated ClusterRoles resolved as the API server resolves them: an aggregate gathers the rules
of the roles its selectors match, aggregates of aggregates too, each rule once, with where it was
written; on a cluster of a thousand ClusterRoles as on one of ten."""

from __future__ import annotations

from nbaverify.clients.k8s import Source
from nbaverify.probes import rbac


class Roles(Source):
    def __init__(self, roles: list[dict]):
        self.roles = roles

    def list(self, kind, namespace=None):
        return self.roles if kind == "ClusterRole" else []


def role(name, labels=None, rules=(), gathers=None):
    made = {"kind": "ClusterRole", "metadata": {"name": name, "labels": labels or {}}}
    made["rules"] = [{"apiGroups": [""], "resources": [r], "verbs": ["get"]} for r in rules]
    if gathers:
        made["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": gathers}]}
    return made


def gathered(model: rbac.Rbac, name: str) -> list[tuple[str, str]]:
    return [(rule["resources"][0], origin) for rule, origin in model._rules[name]]


def test_aggregates_of_aggregates_gather_each_rule_once_with_its_origin():
    model = rbac.Rbac(
        Roles(
            [
                role("top", rules=["nodes"], gathers={"to-top": "true"}),
                role("middle", {"to-top": "true"}, gathers={"to-middle": "true"}),
                role("pods-reader", {"to-middle": "true"}, ["pods"]),
                # the same rule twice, once through each path: gathered once
                role("secrets-reader", {"to-middle": "true", "to-top": "true"}, ["secrets"]),
                role("unrelated", {"other": "true"}, ["configmaps"]),
            ]
        )
    )
    assert gathered(model, "middle") == [("pods", "pods-reader"), ("secrets", "secrets-reader")]
    # its own first, then as the passes find them: secrets straight away, pods once middle has them
    assert gathered(model, "top") == [
        ("nodes", "top"),
        ("secrets", "secrets-reader"),
        ("pods", "pods-reader"),
    ]
    assert gathered(model, "unrelated") == [("configmaps", "unrelated")]


def test_a_thousand_cluster_roles_are_gathered_whole():
    roles = [role(f"r{i}", {"agg": f"a{i % 3}"}, [f"res-{i}"]) for i in range(1000)]
    roles += [role(f"agg{a}", gathers={"agg": f"a{a}"}) for a in range(3)]
    model = rbac.Rbac(Roles(roles))
    assert [len(model._rules[f"agg{a}"]) for a in range(3)] == [334, 333, 333]
    assert gathered(model, "agg1")[0] == ("res-1", "r1")
