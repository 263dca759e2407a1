"""Who can do what, through every path RBAC has: Roles and ClusterRoles, RoleBindings that reference
either, ClusterRoleBindings, aggregated ClusterRoles (`aggregationRule`: the union of the rules of
every ClusterRole its selectors match, as the aggregation controller writes it), and subjects
reached as a ServiceAccount, as the user `system:serviceaccount:<ns>:<name>`, or through the groups
every service account is in (`system:serviceaccounts`, `system:serviceaccounts:<ns>`,
`system:authenticated`).

Rules match as the API server's authorizer matches them: `*` in a field matches everything, and a
resource `*/<sub>` matches that subresource of every resource. Pure functions over manifest-shaped
dicts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from nbaverify.clients.k8s import Source, ref
from nbaverify.label_selectors import selector_matches


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _key(rule: dict, origin: str) -> tuple[str, str]:
    """A rule and where it was written, as a set can hold it (equal rules, equal keys)."""
    return json.dumps(rule, sort_keys=True, default=str), origin


def _list(value) -> list:
    return value if isinstance(value, list) else []


def _strings(value) -> list[str]:
    return [v for v in _list(value) if isinstance(v, str)]


@dataclass(frozen=True)
class Account:
    """A service account of the platform."""

    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/ServiceAccount/{self.name}"


def rule_text(rule: dict) -> str:
    text = (
        f"apiGroups={_strings(rule.get('apiGroups'))} resources={_strings(rule.get('resources'))} "
        f"verbs={_strings(rule.get('verbs'))}"
    )
    names = _strings(rule.get("resourceNames"))
    return text + (f" resourceNames={names}" if names else "")


def allows(rule: dict, group: str, resource: str, verb: str) -> bool:
    """Does one rule grant `verb` on `resource` ("pods", "pods/exec") of API group `group`?"""
    groups, resources, verbs = (
        _strings(rule.get("apiGroups")),
        _strings(rule.get("resources")),
        _strings(rule.get("verbs")),
    )
    if not ("*" in verbs or verb in verbs) or not ("*" in groups or group in groups):
        return False
    sub = resource.partition("/")[2]
    return any(r in ("*", resource) or (sub and r == f"*/{sub}") for r in resources)


class Rbac:
    """The RBAC objects of a source, with aggregated ClusterRoles resolved."""

    def __init__(self, source: Source):
        self.source = source
        self.cluster_roles = {o["metadata"]["name"]: o for o in source.list("ClusterRole")}
        self.roles = {
            (o["metadata"].get("namespace"), o["metadata"]["name"]): o for o in source.list("Role")
        }
        self.bindings = source.list("ClusterRoleBinding") + source.list("RoleBinding")
        self._rules = self._aggregate()

    def _aggregate(self) -> dict[str, list[tuple[dict, str]]]:
        """Each ClusterRole's rules, each with the ClusterRole it comes from; an aggregated one
        gathers the rules of every ClusterRole its selectors match, again and again until nothing
        changes (aggregates of aggregates).
        """
        rules = {
            name: [(r, name) for r in _list(role.get("rules")) if isinstance(r, dict)]
            for name, role in self.cluster_roles.items()
        }
        # a cluster holds hundreds of ClusterRoles and a handful of aggregated ones: only those
        # gather, each matched against every role once, and a rule already gathered is found by
        # its key, not by comparing it with every rule gathered so far
        gathers = {}
        for name, role in self.cluster_roles.items():
            selectors = [
                s
                for s in _list(_dict(role.get("aggregationRule")).get("clusterRoleSelectors"))
                if isinstance(s, dict)
            ]
            if selectors:
                gathers[name] = [
                    other
                    for other, found in self.cluster_roles.items()
                    if other != name
                    and any(
                        selector_matches(s, _dict(found["metadata"].get("labels")))
                        for s in selectors
                    )
                ]
        held = {name: {_key(rule, origin) for rule, origin in rules[name]} for name in gathers}
        for _ in range(len(gathers) + 1):
            changed = False
            for name, sources in gathers.items():
                for other in sources:
                    for rule, origin in rules[other]:
                        key = _key(rule, origin)
                        if key not in held[name]:
                            held[name].add(key)
                            rules[name].append((rule, origin))
                            changed = True
            if not changed:
                break
        return rules

    def role_rules(
        self, role_ref: dict, binding_namespace: str | None
    ) -> tuple[str, list[tuple[dict, str]]]:
        """(how the role is named, its rules each with where the rule was written) for a binding's
        roleRef."""
        kind, name = role_ref.get("kind"), role_ref.get("name", "")
        if kind == "ClusterRole":
            return f"ClusterRole/{name}", [
                (r, f"ClusterRole/{o}") for r, o in self._rules.get(name, [])
            ]
        role = self.roles.get((binding_namespace, name))
        where = f"{binding_namespace}/Role/{name}"
        return where, [(r, where) for r in _list((role or {}).get("rules")) if isinstance(r, dict)]

    def holders(self, binding: dict, accounts: Iterable[Account]) -> list[tuple[Account, str]]:
        """The accounts a binding reaches, each with how (as itself, as a user, through a group)."""
        namespace = binding["metadata"].get("namespace")
        found = []
        for subject in (s for s in _list(binding.get("subjects")) if isinstance(s, dict)):
            kind, name = subject.get("kind"), subject.get("name", "")
            for account in accounts:
                how = None
                if (
                    kind == "ServiceAccount"
                    and name == account.name
                    and (subject.get("namespace") or namespace) == account.namespace
                ):
                    how = "as itself"
                elif (
                    kind == "User"
                    and name == f"system:serviceaccount:{account.namespace}:{account.name}"
                ):
                    how = f"as user {name}"
                elif kind == "Group" and name in (
                    "system:serviceaccounts",
                    f"system:serviceaccounts:{account.namespace}",
                    "system:authenticated",
                ):
                    how = f"through group {name}"
                if how and (account, how) not in found:
                    found.append((account, how))
        return found


@dataclass(frozen=True, eq=False)  # identity: a rule is a dict
class Grant:
    """A rule an account holds: the rule, the role that carries it, where it was written, the
    binding, how."""

    account: Account
    rule: dict
    role: str  # the role the binding names (ClusterRole/x, ns/Role/y)
    # where the rule is written: the role itself, or a ClusterRole aggregated into it
    written_in: str
    binding: str
    how: str  # as itself, as user ..., through group ...
    scope: str  # the namespace it holds in, or "every namespace"

    def path(self) -> str:
        via = f" (aggregated from {self.written_in})" if self.written_in != self.role else ""
        how = "" if self.how == "as itself" else f" {self.how}"
        return f"{self.role}{via}, bound by {self.binding}{how}, in {self.scope}"


def grants(rbac: Rbac, accounts: list[Account]) -> list[Grant]:
    """Every rule every account holds, through every binding that reaches it."""
    found = []
    for binding in rbac.bindings:
        namespace = binding["metadata"].get("namespace")
        role, rules = rbac.role_rules(_dict(binding.get("roleRef")), namespace)
        scope = namespace or "every namespace"
        for account, how in rbac.holders(binding, accounts):
            found += [
                Grant(account, rule, role, written_in, ref(binding), how, scope)
                for rule, written_in in rules
            ]
    return found


def accounts(source: Source, namespaces: list[str], workloads: Iterable = ()) -> list[Account]:
    """The platform's service accounts: those of its namespaces, `default` in each (pods run as it
    when they name none), and any a workload names."""
    found = {
        Account(ns, o["metadata"]["name"])
        for ns in namespaces
        for o in source.list("ServiceAccount", ns)
    }
    found |= {Account(ns, "default") for ns in namespaces}
    for workload in workloads:
        name = workload.pod_spec.get("serviceAccountName") or workload.pod_spec.get(
            "serviceAccount"
        )
        if isinstance(name, str) and name:
            found.add(Account(workload.namespace, name))
    return sorted(found, key=lambda a: (a.namespace, a.name))


def can(
    held: list[Grant], group: str, resource: str, verbs: Iterable[str]
) -> dict[Grant, list[str]]:
    """The grants that allow any of `verbs` on the resource, each with the verbs it allows."""
    found: dict[Grant, list[str]] = {}
    for grant in held:
        allowed = [v for v in verbs if allows(grant.rule, group, resource, v)]
        if allowed:
            found[grant] = allowed
    return found


def service_account_user(account: Account) -> tuple[str, list[str]]:
    """The user and groups the API server authenticates a service account's token as."""
    return (
        f"system:serviceaccount:{account.namespace}:{account.name}",
        [
            "system:serviceaccounts",
            f"system:serviceaccounts:{account.namespace}",
            "system:authenticated",
        ],
    )


def authorizer_allows(
    source: Source, accounts: list[Account], resource: str, verbs: Iterable[str], group: str = ""
) -> dict[Account, list[str]]:
    """What the API server's own authorizer says each account may do to the resource, in its
    namespace and cluster-wide ("verb in namespace"); empty where the source cannot ask (manifests,
    or no right to ask).
    """
    found: dict[Account, list[str]] = {}
    for account in accounts:
        user, groups = service_account_user(account)
        for namespace in (account.namespace, ""):
            for verb in verbs:
                if source.can(user, groups, verb, resource, namespace, group):
                    found.setdefault(account, []).append(
                        f"{verb} in {namespace or 'every namespace'}"
                    )
    return found
