"""NetworkPolicies: the api admits only the frontend, no policy admits everything, every platform
pod is selected by some policy.

Guide: Security Best Practices / Access Control / Network Policies (api-network-policy).
"""

import pytest

from nbaverify.checking import parametrize_from, run_allows
from nbaverify.clients.k8s import ref
from nbaverify.probes import kubernetes as kube

NETWORK_POLICIES = "Security Best Practices / Access Control / Network Policies"
pytestmark = [pytest.mark.area("kubernetes"), pytest.mark.runbook(NETWORK_POLICIES)]


def pytest_generate_tests(metafunc):
    parametrize_from(metafunc, "expected_policy", "kubernetes.network_policies")


def policies(k8s, namespaces):
    return [p for ns in namespaces for p in k8s.list("NetworkPolicy", ns)]


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
def check_network_policy_as_expected(k8s, expected_policy, evidence):
    ns, name = expected_policy["namespace"], expected_policy["name"]
    policy = k8s.get("NetworkPolicy", name, ns)
    assert policy is not None, (f"no NetworkPolicy {ns}/{name} ({k8s.description}): pods labelled "
                                f"{expected_policy['selects']} accept traffic from anywhere")
    spec = policy.get("spec", {})
    evidence["spec"] = spec
    problems = []
    selector = spec.get("podSelector")
    if not kube.selector_matches(selector, expected_policy["selects"]) or kube.selects_everything(selector):
        problems.append(f"podSelector {spec.get('podSelector')} does not select exactly {expected_policy['selects']}")
    peers = [peer for rule in spec.get("ingress") or [] for peer in rule.get("from") or [{}]]
    allowed = expected_policy["allowed_from"]
    for peer in peers:
        labels_ok = "podSelector" in peer and any(
            (peer["podSelector"].get("matchLabels") or {}) == want and not peer["podSelector"].get("matchExpressions")
            for want in allowed)
        if not labels_ok or "namespaceSelector" in peer or "ipBlock" in peer:
            problems.append(f"admits {peer or 'every source'} (expected only pods labelled {' or '.join(map(str, allowed))})")
    if not peers:
        ingress_type = "Ingress" in (spec.get("policyTypes") or ["Ingress"])
        problems.append("admits no ingress at all" if ingress_type else "has no ingress rules")
    assert not problems, f"{ref(policy)}: {'; '.join(problems)}"


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
def check_no_open_ingress(k8s, expect, evidence):
    open_ = [f"{ref(p)}: {why}" for p in policies(k8s, expect["kubernetes.namespaces"]) for why in kube.open_peers(p)]
    assert not open_, f"{'; '.join(open_)} (name the peers: a podSelector or namespaceSelector with labels)"


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("warning")
def check_every_workload_isolated(k8s, expect, evidence):
    """Every platform workload's pods are selected by some NetworkPolicy of their namespace."""
    namespaces = expect["kubernetes.namespaces"]
    by_ns = {ns: k8s.list("NetworkPolicy", ns) for ns in namespaces}
    bare = []
    for workload in kube.workloads(k8s, namespaces):
        labels = workload.get("spec", {}).get("template", {}).get("metadata", {}).get("labels") or {}
        if not any(kube.selector_matches(p.get("spec", {}).get("podSelector"), labels)
                   for p in by_ns[workload["metadata"]["namespace"]]):
            bare.append(f"{ref(workload)} (pods {labels})")
    assert not bare, f"no NetworkPolicy selects {'; '.join(bare)}: every source may reach them"


@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.safety("disruptive")
def check_network_policy_enforced(k8s, expect, expected_policy, evidence, pytestconfig):
    """Real traffic, not just specs: a pod without an allowed label is refused, one with it admitted.

    Opt-in on every target (it creates two throwaway pods, labelled app.kubernetes.io/managed-by=
    nbaverify, and deletes them): it runs only with --allow disruptive.
    """
    k8s.require_live("enforcement (it takes a running pod)")
    if not run_allows(pytestconfig, "disruptive"):
        pytest.skip("opt-in: it creates two probe pods in the cluster; run with --allow disruptive")
    ns, service = expected_policy["namespace"], expected_policy["service"]
    url = f"http://{service}.{ns}.svc:{expected_policy['port']}{expected_policy['path']}"
    command = ["wget", "-q", "-T", "5", "-O", "/dev/null", url]
    image, timeout = expect["kubernetes.probe.image"], expect["kubernetes.probe.timeout_s"]
    stranger = k8s.run_probe(ns, {"app": "nbaverify-probe"}, image, command, timeout)
    allowed = k8s.run_probe(ns, dict(expected_policy["allowed_from"][0]), image, command, timeout)
    evidence.update(url=url, without_label=stranger, with_allowed_label=allowed)
    assert stranger == "Failed", (f"a pod labelled app=nbaverify-probe in {ns} reached {url}: "
                                  f"{ns}/NetworkPolicy/{expected_policy['name']} is not enforced (missing, open, or the "
                                  "CNI ignores NetworkPolicy)")
    assert allowed == "Succeeded", (f"a pod labelled {expected_policy['allowed_from'][0]} in {ns} could not reach {url}: "
                                    "the policy or the Service blocks the traffic it must admit")
