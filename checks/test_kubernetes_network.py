"""NetworkPolicies: the api admits only the frontend, no policy admits everything, every platform
pod is isolated for ingress by some policy; read with the API's semantics
(nbaverify.probes.network_policy).

Guide: Security Best Practices / Access Control / Network Policies (api-network-policy).
"""

import pytest

from nbaverify import label_selectors
from nbaverify.checking import parametrize_from, run_allows, start_kubernetes
from nbaverify.clients.k8s import ref
from nbaverify.probes import network_policy as netpol
from nbaverify.probes import workloads as pods

NETWORK_POLICIES = "Security Best Practices / Access Control / Network Policies"
pytestmark = [pytest.mark.area("kubernetes"), pytest.mark.runbook(NETWORK_POLICIES)]
# the cluster's client and its pod-bearing lists are read in the background from when the
# selection is known (nbaverify.plugins.early)
start_early = start_kubernetes


def pytest_generate_tests(metafunc):
    parametrize_from(metafunc, "expected_policy", "kubernetes.network_policies")


def policies(k8s, namespaces):
    return [p for ns in namespaces for p in k8s.list("NetworkPolicy", ns)]


def protected_pods(k8s, expect, expected_policy) -> netpol.Pods:
    """The pods the expectation protects: its workload's (any kind), or a label set the team
    named."""
    ns = expected_policy["namespace"]
    if "workload" in expected_policy:
        workload = pods.find(k8s, [ns], expected_policy["workload"])
        assert workload is not None, (
            f"no workload {expected_policy['workload']} in namespace {ns} ({k8s.description}): "
            "nothing to protect, or the expectation names the wrong workload"
        )
        return netpol.Pods(workload.ref(), ns, workload.labels)
    return netpol.Pods(
        f"pods {expected_policy['selects']} in {ns}", ns, dict(expected_policy["selects"])
    )


def allowed_pods(k8s, expect, expected_policy) -> list[netpol.Pods]:
    """The pods that alone may connect: each allowed workload's (in any platform namespace), or a
    named label set."""
    found = []
    for allowed in expected_policy["allowed_from"]:
        if isinstance(allowed, str):
            workload = pods.find(k8s, expect["kubernetes.namespaces"], allowed)
            assert workload is not None, (
                f"no workload {allowed} in namespace(s)"
                f" {', '.join(expect['kubernetes.namespaces'])} ({k8s.description}), which"
                f" {expected_policy['name']} must admit"
            )
            found.append(netpol.Pods(workload.ref(), workload.namespace, workload.labels))
        else:
            found.append(
                netpol.Pods(f"pods {allowed}", expected_policy["namespace"], dict(allowed))
            )
    return found


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
def check_network_policy_as_expected(k8s, expect, expected_policy, evidence):
    """The api workload's pods are isolated for ingress, and the policies that isolate them admit
    only the frontend's pods.

    From `kubernetes.network_policies`: the guide's `api-network-policy`, the pods of workload `api`
    (any kind) in `nba-stats`, admitting those of workload `frontend` (found in any platform
    namespace); a team may name label sets instead. Judged by what the policies do, whatever their
    names and label keys: the union of the ingress rules of every policy that selects the pods and
    lists Ingress, read as the API reads them (`policyTypes`, empty selectors, `namespaceSelector`
    and `ipBlock` peers).

    Fails when nothing isolates the pods, when a rule has no `from`, when a peer lets in another
    workload's pods or sources beyond the platform's pods (an `ipBlock`, a `namespaceSelector` that
    selects everything), or when no isolating policy admits an allowed workload. Read from manifests
    or a live cluster.

    When it fails: Read the policies that select the api pods (`kubectl get networkpolicy -n
    nba-stats -o yaml`) against the problem the message names, and narrow their `ingress.from` to
    the frontend's pods (the guide's `api-network-policy`). Other clients allowed on purpose go into
    `allowed_from` of `kubernetes.network_policies` in `[expectations]`.
    """
    target = protected_pods(k8s, expect, expected_policy)
    allowed = allowed_pods(k8s, expect, expected_policy)
    namespaces = k8s.list("Namespace")
    everyone = [
        netpol.Pods(w.ref(), w.namespace, w.labels)
        for w in pods.workloads(k8s, expect["kubernetes.namespaces"])
    ]
    ingress = netpol.ingress_to(k8s.list("NetworkPolicy", target.namespace), target)
    evidence.update(isolated_by=[ref(p) for p in ingress.isolating], pods=target.labels)
    if not ingress.isolating:
        lacking = [
            f"{ref(p)} selects them but lists policyTypes {netpol.policy_types(p)}"
            for p in ingress.selecting_without_ingress
        ]
        raise AssertionError(
            f"no NetworkPolicy isolates ingress to {target.name} (pods {target.labels}; the guide's"
            f" {expected_policy['name']}){': ' + '; '.join(lacking) if lacking else ''}: every"
            " source may reach them"
        )
    problems = [
        f"{ref(policy)} ingress rule {number} has no 'from' (admits every source)"
        for policy, number in ingress.open_rules
    ]
    names = {p.name for p in allowed}
    reached: set[str] = set()
    for policy, peer in ingress.peers:
        policy_ns = policy["metadata"]["namespace"]
        admitted = [p.name for p in everyone if netpol.peer_admits(peer, policy_ns, p, namespaces)]
        admitted += [
            p.name
            for p in allowed
            if p.name not in admitted and netpol.peer_admits(peer, policy_ns, p, namespaces)
        ]
        reached |= set(admitted) & names
        extra = sorted(set(admitted) - names)
        unbounded = "ipBlock" in peer or (
            "namespaceSelector" in peer
            and label_selectors.selects_everything(peer["namespaceSelector"])
        )
        if extra or unbounded:
            what = (
                f"the pods of {', '.join(extra)}" if extra else "sources beyond the platform's pods"
            )
            problems.append(
                f"{ref(policy)} admits {netpol.describe_peer(peer)}, which lets in {what}"
            )
    for name in sorted(names - reached):
        problems.append(f"no isolating policy admits {name}: its pods cannot reach {target.name}")
    expected = " or ".join(sorted(names))
    assert not problems, (
        f"{'; '.join(problems)} (expected only the pods of {expected} to reach {target.name})"
    )


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(NETWORK_POLICIES, "Maintenance Schedule / Quarterly Tasks / Security audit")
def check_no_open_ingress(k8s, expect, evidence):
    """No NetworkPolicy's ingress admits everything: no rule without `from`, no `{}` selectors, no
    `0.0.0.0/0`.

    Over the policies of `kubernetes.namespaces`: a rule without `from` admits every source; a peer
    with `namespaceSelector: {}` (and any pod) every pod of every namespace; a lone `podSelector:
    {}` every pod of the namespace; an `ipBlock` of `0.0.0.0/0` or `::/0` everyone. Rules of a
    policy that does not list Ingress are ignored, as the API ignores them. Skipped when no
    NetworkPolicy is found. Read from manifests or a live cluster.

    When it fails: Open the policy named (`kubectl get networkpolicy NAME -n NAMESPACE -o yaml`) and
    replace the open rule with named peers: a `podSelector` or `namespaceSelector` with labels. An
    ingress public on purpose (an ingress controller's) is waived with `scope` = the policy, an
    owner and an expiry.
    """
    found = policies(k8s, expect["kubernetes.namespaces"])
    evidence["read"] = [ref(p) for p in found]
    if not found:
        pytest.skip(
            f"no NetworkPolicy found in {k8s.description} (namespaces"
            f" {', '.join(expect['kubernetes.namespaces'])})"
        )
    open_ = [f"{ref(p)}: {why}" for p in found for why in netpol.open_peers(p)]
    assert not open_, (
        f"{'; '.join(open_)} (name the peers: a podSelector or namespaceSelector with labels)"
    )


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("warning")
def check_every_workload_isolated(k8s, expect, evidence):
    """Every platform workload's pods are isolated for ingress by a NetworkPolicy of their namespace
    that selects them and lists Ingress.

    Over every Deployment, StatefulSet, DaemonSet, unowned ReplicaSet and ReplicationController,
    Job, CronJob and bare Pod of `kubernetes.namespaces` (what a read controller owns is judged
    through it); a policy that selects them without listing Ingress is named, as it isolates
    nothing. An object with no pod template is left to `check_objects_well_formed`. Read from
    manifests or a live cluster; skipped when it finds no such object, saying where it looked.

    A warning: a NetworkPolicy for every workload is a practice beyond the guide, which names only
    the api's.

    When it fails: Add a NetworkPolicy that selects the named workload's pods and lists `Ingress` in
    `policyTypes`, admitting only what must reach them. The guide names only the api's policy, so a
    team that isolates otherwise waives it with an owner and an expiry.
    """
    namespaces = expect["kubernetes.namespaces"]
    found = pods.workloads(k8s, namespaces)
    if not found:
        pytest.skip(pods.nothing_read(k8s, namespaces))
    by_ns = {ns: k8s.list("NetworkPolicy", ns) for ns in namespaces}
    bare = []
    for workload in found:
        if not workload.pod_spec:
            # no pod template: nothing runs (check_objects_well_formed says so)
            continue
        ingress = netpol.ingress_to(
            by_ns.get(workload.namespace, []),
            netpol.Pods(workload.ref(), workload.namespace, workload.labels),
        )
        if not ingress.isolating:
            why = "".join(
                f", {ref(p)} selects them with policyTypes {netpol.policy_types(p)} only"
                for p in ingress.selecting_without_ingress
            )
            bare.append(f"{workload.ref()} (pods {workload.labels}{why})")
    evidence["read"] = len(found)
    assert not bare, (
        f"no NetworkPolicy isolates ingress to {'; '.join(bare)}: every source may reach them"
    )


@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.safety("disruptive")
def check_network_policy_enforced(k8s, expect, expected_policy, evidence, pytestconfig):
    """Real traffic obeys the api's policy: a pod without an allowed label is refused, one with the
    frontend's labels admitted.

    Two throwaway pods (`kubernetes.probe.image`, `busybox:1.36`; each within
    `kubernetes.probe.timeout_s`, 60 s) fetch `http://api.nba-stats.svc:80/health` (the
    expectation's `service`, `port` and `path`) with wget: one labelled `app=nbaverify-probe` in the
    api's namespace must fail, one with the allowed workload's pod labels in its namespace must
    succeed. A stranger that gets through means the policy is missing or open, or the CNI ignores
    NetworkPolicy.

    Both pods are labelled `app.kubernetes.io/managed-by=nbaverify` and deleted afterwards, whatever
    happens. Opt-in on every target: it runs only with `--allow disruptive`. Needs a live cluster
    (`kubernetes.source = "cluster"`): on manifests it skips.

    When it fails: If the stranger got through, run `check_network_policy_as_expected` first; if the
    policy is right, the CNI does not enforce NetworkPolicy (`kubectl get pods -n kube-system` shows
    which runs). If the allowed pod failed, check the Service's endpoints (`kubectl get endpoints
    api -n nba-stats`) and the policy's `from`.
    """
    k8s.require_live("enforcement (it takes a running pod)")
    if not run_allows(pytestconfig, "disruptive"):
        pytest.skip("opt-in: it creates two probe pods in the cluster; run with --allow disruptive")
    ns, service = expected_policy["namespace"], expected_policy["service"]
    url = f"http://{service}.{ns}.svc:{expected_policy['port']}{expected_policy['path']}"
    command = ["wget", "-q", "-T", "5", "-O", "/dev/null", url]
    image, timeout = expect["kubernetes.probe.image"], expect["kubernetes.probe.timeout_s"]
    stranger = k8s.run_probe(ns, {"app": "nbaverify-probe"}, image, command, timeout)
    admitted = allowed_pods(k8s, expect, expected_policy)[0]
    allowed = k8s.run_probe(admitted.namespace, admitted.labels, image, command, timeout)
    evidence.update(url=url, without_label=stranger, with_allowed_label=allowed)
    assert stranger == "Failed", (
        f"a pod labelled app=nbaverify-probe in {ns} reached {url}: ingress to {service} is "
        f"not enforced (the guide's {expected_policy['name']} is missing or open, or the CNI "
        "ignores NetworkPolicy)"
    )
    assert allowed == "Succeeded", (
        f"a pod labelled {admitted.labels} in {admitted.namespace} could not reach {url}: "
        "the policy or the Service blocks the traffic it must admit"
    )
