"""RBAC of the platform: its Roles grant what the guide allows, nothing wider, and no platform
service account holds cluster-wide power.

Guide: Security Best Practices / Access Control / RBAC Configuration (api-role: pods get/list).
"""

import pytest

from nbaverify.checking import parametrize_from, start_kubernetes
from nbaverify.clients.k8s import ref
from nbaverify.probes import rbac
from nbaverify.probes import workloads as pods

RBAC_CONFIGURATION = "Security Best Practices / Access Control / RBAC Configuration"
pytestmark = [pytest.mark.area("kubernetes"), pytest.mark.runbook(RBAC_CONFIGURATION)]
# the cluster's client and its pod-bearing lists are read in the background from when the
# selection is known (nbaverify.plugins.early)
start_early = start_kubernetes


def pytest_generate_tests(metafunc):
    parametrize_from(metafunc, "expected_role", "kubernetes.rbac")


def rbac_grants(rule: dict) -> set[tuple[str, str, str]]:
    """A rule as (group, resource, verb) triples, to compare with the expected rules."""
    return {
        (g, r, v)
        for g in rule.get("apiGroups", []) or [""]
        for r in rule.get("resources", []) or []
        for v in rule.get("verbs", []) or []
    }


def grant_text(grant: tuple[str, str, str]) -> str:
    """('', 'pods', 'get') -> 'pods/get'; ('apps', 'deployments', 'list') ->
    'apps:deployments/list'."""
    group, resource, verb = grant
    return f"{group + ':' if group else ''}{resource}/{verb}"


def platform_roles(k8s, namespaces):
    return [r for ns in namespaces for r in k8s.list("Role", ns)]


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
def check_role_grants_exactly(k8s, expected_role, evidence):
    """The guide's `api-role` grants exactly pods get and list: no more, no less.

    From `kubernetes.rbac` (Role `nba-stats/api-role`; rules `pods` `get`, `list` in the core
    group), compared as (group, resource, verb) triples; a missing Role fails. Read from manifests
    or a live cluster.

    When it fails: Compare `kubectl get role api-role -n nba-stats -o yaml` with the guide's rule
    (pods: get, list) and fix the Role's manifest. If the api truly needs more, change
    `kubernetes.rbac` in the profile's `[expectations]` after the security team reviews it.
    """
    ns, name = expected_role["namespace"], expected_role["name"]
    role = k8s.get("Role", name, ns)
    assert role is not None, f"no Role {ns}/{name} ({k8s.description})"
    granted = (
        set().union(*(rbac_grants(r) for r in role.get("rules", []) or []))
        if role.get("rules")
        else set()
    )
    allowed = set().union(*(rbac_grants(r) for r in expected_role["rules"]))
    evidence["rules"] = [rbac.rule_text(r) for r in role.get("rules", []) or []]
    extra = sorted(granted - allowed)
    lacking = sorted(allowed - granted)
    problems = (
        [f"grants more than expected: {', '.join(map(grant_text, extra[:6]))}"] if extra else []
    ) + ([f"lacks {', '.join(map(grant_text, lacking))}"] if lacking else [])
    wanted = "; ".join(rbac.rule_text(r) for r in expected_role["rules"])
    assert not problems, f"{ref(role)}: {'; '.join(problems)} (expected {wanted})"


def held(k8s, expect) -> list[rbac.Grant]:
    """Every rule the platform's service accounts hold, through every binding and group that reaches
    them."""
    namespaces = expect["kubernetes.namespaces"]
    return rbac.grants(
        rbac.Rbac(k8s), rbac.accounts(k8s, namespaces, pods.workloads(k8s, namespaces))
    )


def dangerous(
    k8s, expect, evidence, group: str, resource: str, verbs: tuple[str, ...]
) -> list[str]:
    """The platform's Roles that grant any of `verbs` on the resource, every account that holds such
    a rule through a role that is not one of those (a ClusterRole, aggregated or bound through a
    group), and, on a live cluster, every account the API server's own authorizer says may (a
    SubjectAccessReview), when no rule the suite reads explains it: another authorizer, or a path
    RBAC objects alone do not show."""
    namespaces = expect["kubernetes.namespaces"]
    accounts = rbac.accounts(k8s, namespaces, pods.workloads(k8s, namespaces))
    held = rbac.grants(rbac.Rbac(k8s), accounts)
    found, named = [], set()
    for role in platform_roles(k8s, namespaces):
        for rule in role.get("rules", []) or []:
            if isinstance(rule, dict) and any(rbac.allows(rule, group, resource, v) for v in verbs):
                found.append(f"{ref(role)} grants {rbac.rule_text(rule)}")
                named.add(ref(role))
    allowing = rbac.can(held, group, resource, verbs)
    for grant, allowed in allowing.items():
        if grant.role not in named:
            found.append(
                f"{grant.account} can {','.join(allowed)} {resource} through {grant.path()} "
                f"({rbac.rule_text(grant.rule)})"
            )
    explained = {grant.account for grant in allowing}
    said = rbac.authorizer_allows(k8s, accounts, resource, verbs, group)
    for account, allowed in said.items():
        if account not in explained:
            found.append(
                f"{account} can {', '.join(allowed)} {resource}, says the API server's authorizer "
                "(SubjectAccessReview), through no Role or binding the suite can read"
            )
    evidence.update(found=found, authorizer={str(a): v for a, v in said.items()})
    return list(dict.fromkeys(found))


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
def check_no_wildcard_rules(k8s, expect, evidence):
    """No platform Role, and no role a platform service account holds, has `*` in its apiGroups,
    resources or verbs.

    Every path is read: the platform's own Roles, ClusterRoles bound in a namespace or cluster-wide,
    ClusterRoles aggregated into one an account holds, bindings to its user or a group it is in.
    Name the groups, resources and verbs the workload needs. Read from manifests or a live cluster.

    When it fails: Open the Role or binding path the message names (`kubectl get role,clusterrole
    NAME -o yaml`) and replace each `*` with the groups, resources and verbs the workload uses;
    `kubectl auth can-i --list --as=system:serviceaccount:NAMESPACE:ACCOUNT` shows what it holds.
    """
    wild, named = [], set()
    for role in platform_roles(k8s, expect["kubernetes.namespaces"]):
        named.add(ref(role))
        for rule in role.get("rules", []) or []:
            fields = [f for f in ("apiGroups", "resources", "verbs") if "*" in (rule.get(f) or [])]
            if fields:
                wild.append(f"{ref(role)} has '*' in {'/'.join(fields)} ({rbac.rule_text(rule)})")
    for grant in held(k8s, expect):
        fields = [
            f for f in ("apiGroups", "resources", "verbs") if "*" in (grant.rule.get(f) or [])
        ]
        if fields and grant.role not in named:
            wild.append(
                f"{grant.account} holds '*' in {'/'.join(fields)} through {grant.path()} "
                f"({rbac.rule_text(grant.rule)})"
            )
    evidence["wildcards"] = wild
    assert not wild, (
        f"{'; '.join(dict.fromkeys(wild))}"
        " (name the groups, resources and verbs the workload needs)"
    )


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
def check_no_secret_access(k8s, expect, evidence):
    """No platform service account can read Secrets (get, list or watch) through any path.

    Every path is read: the platform's own Roles, ClusterRoles bound in a namespace or cluster-wide,
    ClusterRoles aggregated into one an account holds, bindings to its user or a group it is in; on
    a live cluster also the API server's own authorizer (a SubjectAccessReview) where no rule the
    suite reads explains it. The platform's service accounts are those of `kubernetes.namespaces`
    and their workloads. A platform Role that grants it is named even where nothing binds it. Mount
    the Secrets a pod needs instead. Read from manifests or a live cluster.

    When it fails: Follow the path the message names (the Role, or the binding and ClusterRole) and
    remove `secrets` get, list and watch from it; confirm with `kubectl auth can-i get secrets -n
    NAMESPACE --as=system:serviceaccount:NAMESPACE:ACCOUNT`. Mount the Secrets a pod needs instead.
    """
    reading = dangerous(k8s, expect, evidence, "", "secrets", ("get", "list", "watch"))
    assert not reading, (
        f"{'; '.join(reading)} (a platform Role must not read Secrets: mount the ones a pod needs)"
    )


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
def check_no_exec_access(k8s, expect, evidence):
    """No platform service account can exec into pods (`create` or `get` on `pods/exec`) through any
    path.

    Whoever holds it runs commands in every pod it reaches and reads their mounted secrets: exec is
    an operator's right, never a workload's. Every path is read: the platform's own Roles,
    ClusterRoles bound in a namespace or cluster-wide, ClusterRoles aggregated into one an account
    holds, bindings to its user or a group it is in; on a live cluster also the API server's own
    authorizer (a SubjectAccessReview) where no rule the suite reads explains it. The platform's
    service accounts are those of `kubernetes.namespaces` and their workloads. A platform Role that
    grants it is named even where nothing binds it. Read from manifests or a live cluster.

    When it fails: Follow the path the message names (the Role, or the binding and ClusterRole) and
    remove `pods/exec` from it; confirm with `kubectl auth can-i create pods/exec -n NAMESPACE
    --as=system:serviceaccount:NAMESPACE:ACCOUNT`. Operators exec with their own accounts.
    """
    execing = dangerous(k8s, expect, evidence, "", "pods/exec", ("create", "get"))
    assert not execing, f"{'; '.join(execing)} (exec is an operator's right, never a workload's)"


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(RBAC_CONFIGURATION, "Maintenance Schedule / Quarterly Tasks / Security audit")
def check_no_cluster_admin_binding(k8s, expect, evidence):
    """No binding, anywhere, reaches a platform service account with ClusterRole `cluster-admin`,
    `admin` or `edit`.

    The roles are `kubernetes.rbac_limits.forbidden_cluster_roles`. A binding reaches an account by
    its name, as its user, or through a group it is in (every service account's, say). Platform
    service accounts get namespaced Roles instead. Read from manifests or a live cluster.

    When it fails: Read the binding the message names (`kubectl get clusterrolebinding,rolebinding
    -A -o wide`), find who made it and why, and replace it with a namespaced Role granting what the
    workload needs; a binding to a group reaches every account in it. Tell the security team.
    """
    forbidden = set(expect["kubernetes.rbac_limits.forbidden_cluster_roles"])
    namespaces = expect["kubernetes.namespaces"]
    model = rbac.Rbac(k8s)
    accounts = rbac.accounts(k8s, namespaces, pods.workloads(k8s, namespaces))
    found = []
    for binding in model.bindings:
        role = binding.get("roleRef") or {}
        if role.get("kind") != "ClusterRole" or role.get("name") not in forbidden:
            continue
        reached = model.holders(binding, accounts)
        direct = sorted({f"{a.namespace}/{a.name}" for a, how in reached if how == "as itself"})
        found += [
            f"{ref(binding)} binds ServiceAccount {name} to ClusterRole {role['name']}"
            for name in direct
        ]
        for how in sorted({how for _, how in reached if how != "as itself"}):
            who = sorted({str(a) for a, h in reached if h == how})
            found.append(
                f"{ref(binding)} binds {how.removeprefix('through ').removeprefix('as ')} to"
                f" ClusterRole {role['name']}, reaching {len(who)} platform service account(s)"
                f" ({', '.join(who[:3])})"
            )
    evidence["found"] = found
    assert not found, (
        f"{'; '.join(found)} (platform service accounts get namespaced Roles, never"
        f" {', '.join(sorted(forbidden))})"
    )
