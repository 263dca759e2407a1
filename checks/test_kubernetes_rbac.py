"""RBAC of the platform: its Roles grant what the guide allows, nothing wider, and no platform
service account holds cluster-wide power.

Guide: Security Best Practices / Access Control / RBAC Configuration (api-role: pods get/list).
"""

import pytest

from nbaverify.checking import parametrize_from
from nbaverify.clients.k8s import ref
from nbaverify.probes import kubernetes as kube

RBAC_CONFIGURATION = "Security Best Practices / Access Control / RBAC Configuration"
pytestmark = [pytest.mark.area("kubernetes"), pytest.mark.runbook(RBAC_CONFIGURATION)]


def pytest_generate_tests(metafunc):
    parametrize_from(metafunc, "expected_role", "kubernetes.rbac")


def platform_roles(k8s, namespaces):
    return [r for ns in namespaces for r in k8s.list("Role", ns)]


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
def check_role_grants_exactly(k8s, expected_role, evidence):
    ns, name = expected_role["namespace"], expected_role["name"]
    role = k8s.get("Role", name, ns)
    assert role is not None, f"no Role {ns}/{name} ({k8s.description})"
    granted = set().union(*(kube.grants(r) for r in role.get("rules", []) or [])) if role.get("rules") else set()
    allowed = set().union(*(kube.grants(r) for r in expected_role["rules"]))
    evidence["rules"] = [kube.rule_text(r) for r in role.get("rules", []) or []]
    extra = sorted(granted - allowed)
    lacking = sorted(allowed - granted)
    problems = ([f"grants more than expected: {', '.join(map(kube.grant_text, extra[:6]))}"] if extra else []) + \
               ([f"lacks {', '.join(map(kube.grant_text, lacking))}"] if lacking else [])
    wanted = "; ".join(kube.rule_text(r) for r in expected_role["rules"])
    assert not problems, f"{ref(role)}: {'; '.join(problems)} (expected {wanted})"


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
def check_no_wildcard_rules(k8s, expect, evidence):
    wild = []
    for role in platform_roles(k8s, expect["kubernetes.namespaces"]):
        for rule in role.get("rules", []) or []:
            fields = [f for f in ("apiGroups", "resources", "verbs") if "*" in (rule.get(f) or [])]
            if fields:
                wild.append(f"{ref(role)} has '*' in {'/'.join(fields)} ({kube.rule_text(rule)})")
    assert not wild, f"{'; '.join(wild)} (name the groups, resources and verbs the workload needs)"


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
def check_no_secret_access(k8s, expect, evidence):
    reading = []
    for role in platform_roles(k8s, expect["kubernetes.namespaces"]):
        for rule in role.get("rules", []) or []:
            if {"secrets", "*"} & set(rule.get("resources") or []) and "" in (rule.get("apiGroups") or [""]) + ["*"]:
                reading.append(f"{ref(role)} grants {kube.rule_text(rule)}")
    assert not reading, f"{'; '.join(reading)} (a platform Role must not read Secrets: mount the ones a pod needs)"


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
def check_no_cluster_admin_binding(k8s, expect, evidence):
    forbidden = set(expect["kubernetes.rbac_limits.forbidden_cluster_roles"])
    namespaces = set(expect["kubernetes.namespaces"])
    bindings = k8s.list("ClusterRoleBinding") + [b for ns in namespaces for b in k8s.list("RoleBinding", ns)]
    found = []
    for binding in bindings:
        role = binding.get("roleRef", {})
        if role.get("kind") != "ClusterRole" or role.get("name") not in forbidden:
            continue
        for subject in binding.get("subjects", []) or []:
            subject_ns = subject.get("namespace", binding["metadata"].get("namespace"))
            if subject.get("kind") == "ServiceAccount" and subject_ns in namespaces:
                found.append(f"{ref(binding)} binds ServiceAccount {subject.get('namespace')}/{subject['name']} "
                             f"to ClusterRole {role['name']}")
    assert not found, f"{'; '.join(found)} (platform service accounts get namespaced Roles, never {', '.join(sorted(forbidden))})"
