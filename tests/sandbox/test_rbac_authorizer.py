"""The suite's RBAC model against the real authorizer: every RBAC case of the Kubernetes corpus,
applied to the sandbox's API server, read back through the cluster source as the verifier, and each
answer of the suite's model (who can do what, where) compared with the API server's own
SubjectAccessReview. What the model says is what Kubernetes says, through every path: aggregation,
RoleBindings to ClusterRoles, users and groups."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import yaml

from nbaverify import procs
from nbaverify.clients.k8s import ClusterSource
from nbaverify.probes import rbac
from nbaverify.sandbox.kubernetes.admin import Key

CORPUS = Path(__file__).parent.parent / "data" / "k8s-corpus"
RBAC_KINDS = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
ACCOUNTS = [
    rbac.Account("nba-stats", "api"),
    rbac.Account("nba-stats", "default"),
    rbac.Account("monitoring", "default"),
]
QUESTIONS = [
    ("", "secrets", ("get", "list", "watch")),
    ("", "pods/exec", ("create", "get")),
    ("", "pods", ("get", "list", "delete")),
    ("apps", "deployments", ("get", "patch")),
]


def rbac_objects(case: str) -> list[dict]:
    return [
        o
        for o in yaml.safe_load_all((CORPUS / f"{case}.yaml").read_text())
        if isinstance(o, dict) and o.get("kind") in RBAC_KINDS
    ]


CASES = [
    c for c in sorted(tomllib.loads((CORPUS / "verdicts.toml").read_text())) if rbac_objects(c)
]


def predicted(
    held: list[rbac.Grant],
    account: rbac.Account,
    group: str,
    resource: str,
    verb: str,
    namespace: str,
) -> bool:
    """The model's answer for a request without a name (resourceNames rules do not grant it)."""
    return any(
        g.account == account
        and rbac.allows(g.rule, group, resource, verb)
        and not g.rule.get("resourceNames")
        and (g.scope == "every namespace" or g.scope == namespace)
        for g in held
    )


@pytest.mark.parametrize("case", CASES)
def test_the_model_answers_as_the_authorizer(sandbox, case):
    sandbox.up([])
    if reason := sandbox.kube.unavailable():
        pytest.skip(f"needs the sandbox's Kubernetes: {reason}")
    objects = rbac_objects(case)
    with sandbox.kube.platform.admin() as admin:
        for obj in objects:
            obj.setdefault("metadata", {})
            if obj["kind"] in ("Role", "RoleBinding"):
                obj["metadata"].setdefault("namespace", "nba-stats")
            assert admin.apply(obj) is None
        try:
            aggregated = [o["metadata"]["name"] for o in objects if o.get("aggregationRule")]
            procs.wait_until(
                lambda: all(
                    (admin.get(f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{n}") or {}).get(
                        "rules"
                    )
                    for n in aggregated
                ),
                20,
                "the aggregation controller",
            )
            source = ClusterSource("nbaverify-sandbox", str(sandbox.layout.kubeconfig_file), 5.0)
            held = rbac.grants(rbac.Rbac(source), ACCOUNTS)
            disagree = []
            for account in ACCOUNTS:
                user, groups = rbac.service_account_user(account)
                for group, resource, verbs in QUESTIONS:
                    for namespace in ("nba-stats", "monitoring", ""):
                        for verb in verbs:
                            said = source.can(user, groups, verb, resource, namespace, group)
                            model = predicted(held, account, group, resource, verb, namespace)
                            if said is not model:
                                disagree.append(
                                    f"{account} {verb} {group}/{resource} in {namespace or '*'}: "
                                    f"authorizer {said}, model {model}"
                                )
            assert not disagree, "\n".join(disagree)
        finally:
            for obj in objects:
                admin.delete(Key.of(obj))
