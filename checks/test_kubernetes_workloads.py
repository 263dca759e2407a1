"""Workloads as the cluster runs them: nodes, Deployments, containers, the Prometheus pods.

Guide: System Monitoring / Health Checks / Infrastructure Health (kubectl get nodes, kubectl get
pods --all-namespaces); Troubleshooting / Common Issues / Infrastructure Issues (pod crashes,
resource constraints). Status exists only on a live cluster: on manifests these skip.
"""

import datetime as dt

import pytest

from nbaverify import label_selectors
from nbaverify.checking import start_kubernetes
from nbaverify.clients.k8s import ref
from nbaverify.probes import counters
from nbaverify.probes import kubernetes as kube

pytestmark = [pytest.mark.area("kubernetes")]
# the cluster's client and its pod-bearing lists are read in the background from when the
# selection is known (nbaverify.plugins.early)
start_early = start_kubernetes

INFRA_HEALTH = "System Monitoring / Health Checks / Infrastructure Health"
INFRA_ISSUES = "Troubleshooting / Common Issues / Infrastructure Issues"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(INFRA_HEALTH, INFRA_ISSUES)
def check_nodes_ready(k8s, expect, evidence):
    """Every node is Ready, with no memory, disk or PID pressure, and its network available.

    As `kubectl get nodes` shows it: each node's `Ready` condition is `True`, and none of
    `kubernetes.pressure_conditions` (`MemoryPressure`, `DiskPressure`, `PIDPressure`,
    `NetworkUnavailable`) is. No node at all fails. Needs a live cluster (`kubernetes.source =
    "cluster"`): on manifests it skips.

    When it fails: Run the guide's `kubectl describe node NAME` for the node named: its conditions
    and events say why (kubelet down, memory or disk pressure). The guide's `kubectl drain` /
    `kubectl uncordon` is the operators' step once the cause is known.
    """
    k8s.require_live("node status")
    nodes = k8s.list("Node")
    assert nodes, f"{k8s.description}: no node at all (kubectl get nodes)"
    problems = []
    for node in nodes:
        conditions = {c["type"]: c for c in node.get("status", {}).get("conditions", [])}
        ready = conditions.get("Ready", {})
        if ready.get("status") != "True":
            why = ready.get("reason") or ready.get("status", "no Ready condition")
            problems.append(f"node {node['metadata']['name']} not Ready ({why})")
        for pressure in expect["kubernetes.pressure_conditions"]:
            if conditions.get(pressure, {}).get("status") == "True":
                problems.append(f"node {node['metadata']['name']} has {pressure}")
    evidence["nodes"] = [n["metadata"]["name"] for n in nodes]
    assert not problems, (
        f"{'; '.join(problems)} (expected every node Ready with no pressure; kubectl describe node)"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(INFRA_HEALTH)
def check_deployments_available(k8s, expect, evidence):
    """Every Deployment and StatefulSet has its desired replicas available, and every DaemonSet its
    pods on every node it is scheduled to.

    In `kubernetes.namespaces` (`nba-stats`, `monitoring`), from the counts the controllers write in
    status: `availableReplicas` against `spec.replicas` (a StatefulSet's `readyReplicas` where it
    reports no `availableReplicas`), a DaemonSet's `numberAvailable` against
    `desiredNumberScheduled`. Skipped when none is found. Needs a live cluster (`kubernetes.source =
    "cluster"`): on manifests it skips.

    When it fails: Run `kubectl rollout status` and `kubectl describe` on the workload named, then
    the guide's `kubectl describe pod` on its unavailable pods: their events say why (image pull,
    scheduling, failing readiness). Rolling back (`kubectl rollout undo`) is the operators' call.
    """
    k8s.require_live("a workload's available replicas")
    problems, read = [], 0
    for ns in expect["kubernetes.namespaces"]:
        for kind, wanted_of, have_of in (
            (
                "Deployment",
                lambda s, st: s.get("replicas", 1),
                lambda st: st.get("availableReplicas"),
            ),
            (
                "StatefulSet",
                lambda s, st: s.get("replicas", 1),
                lambda st: st.get("availableReplicas", st.get("readyReplicas")),
            ),
            (
                "DaemonSet",
                lambda s, st: st.get("desiredNumberScheduled", 0),
                lambda st: st.get("numberAvailable"),
            ),
        ):
            for workload in k8s.list(kind, ns):
                spec, status = workload.get("spec") or {}, workload.get("status") or {}
                wanted, available = wanted_of(spec, status), have_of(status) or 0
                evidence[ref(workload)] = f"{available}/{wanted}"
                read += 1
                if available < wanted:
                    problems.append(
                        f"{ref(workload)} has {available} of {wanted} replicas available"
                    )
    if not read:
        pytest.skip(
            f"no Deployment, StatefulSet or DaemonSet found in {k8s.description} "
            f"(namespaces {', '.join(expect['kubernetes.namespaces'])})"
        )
    assert not problems, f"{'; '.join(problems)} (kubectl rollout status; kubectl describe)"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(
    INFRA_ISSUES, "System Monitoring / Metrics Collection / Infrastructure Metrics", INFRA_HEALTH
)
def check_containers_healthy(k8s, expect, history, evidence):
    """No container is in CrashLoopBackOff, restarted past the limit lately, or was OOMKilled within
    the window.

    Over the pods of `kubernetes.namespaces`, each pod and container named. `restartCount` and the
    last state only grow old, they never clear: restarts are judged by their change since the
    previous run, and more than `kubernetes.max_restarts` (3) fails; on a first run, a container's
    total counts only when its last restart is within `kubernetes.restart_window_h` (24 h). An
    OOMKilled last state counts only within that window, so an old incident does not fail today's
    run. Needs a live cluster (`kubernetes.source = "cluster"`): on manifests it skips.

    When it fails: For each pod named run the guide's `kubectl describe pod POD -n NAMESPACE` (last
    state, exit code, events) and `kubectl logs POD -c CONTAINER --previous` for the crash;
    OOMKilled needs a higher memory limit or a leak fixed. Restarts already counted do not fail the
    next run.
    """
    k8s.require_live("container status")
    limit, window_s = (
        expect["kubernetes.max_restarts"],
        expect["kubernetes.restart_window_h"] * 3600,
    )
    now = dt.datetime.now(dt.UTC)
    seen = {}
    for ns in expect["kubernetes.namespaces"]:
        for pod in k8s.list("Pod", ns):
            for status in pod.get("status", {}).get("containerStatuses") or []:
                seen[f"{ref(pod, status['name'])}#{pod['metadata'].get('uid', '')}"] = (
                    ref(pod, status["name"]),
                    status,
                )
    change = counters.since_last_run(
        history,
        f"restarts:{k8s.description}",
        {key: {"restarts": status.get("restartCount", 0)} for key, (_, status) in seen.items()},
    )
    evidence["window"] = change.describe() if change else counters.first_run_note()
    problems = []
    for key, (where, status) in seen.items():
        waiting = (status.get("state") or {}).get("waiting") or {}
        last = kube.last_termination(status, now)
        recent = last is not None and (last[1] is None or last[1] <= window_s)
        when = "" if last is None or last[1] is None else f" {counters.duration_words(last[1])} ago"
        total = status.get("restartCount", 0)
        if waiting.get("reason") == "CrashLoopBackOff":
            problems.append(f"{where} is in CrashLoopBackOff ({total} restarts)")
        elif change is not None and change.deltas[key]["restarts"] > limit:
            problems.append(
                f"{where} restarted {change.deltas[key]['restarts']:g} times {change.describe()}"
                f" (limit {limit})"
            )
        elif change is None and total > limit and recent:
            problems.append(
                f"{where} restarted {total} times, the last{when or ' at an unreported time'}"
                f" (limit {limit})"
            )
        if last is not None and last[0] == "OOMKilled" and recent:
            problems.append(
                f"{where} was OOMKilled{when} (last state; memory limit too low or a leak)"
            )
    evidence["problems"] = problems
    assert not problems, f"{'; '.join(problems)} (kubectl describe pod; kubectl logs --previous)"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("System Monitoring / Monitoring Tools / Prometheus Setup")
def check_prometheus_pods_running(k8s, expect, evidence):
    """A ready pod runs behind the guide's `svc/prometheus-server` in the `monitoring` namespace.

    The pods are found by the Service's own selector, whatever labels the team uses; without that
    Service, by `app=prometheus-server` (`kubernetes.monitoring_app`) or
    `app.kubernetes.io/name=prometheus`, in `kubernetes.monitoring_namespace`. A pod counts when it
    is Running and every container of it is ready. Needs a live cluster (`kubernetes.source =
    "cluster"`): on manifests it skips.

    When it fails: Run the guide's `kubectl get pods -n monitoring`, then `kubectl describe pod` and
    `kubectl logs` on the Prometheus pod (a full volume, a bad configuration, OOM). A Prometheus
    elsewhere or labelled otherwise is named by `kubernetes.monitoring_namespace` and
    `monitoring_app` in the profile's `[expectations]`.
    """
    k8s.require_live("pod status")
    ns, app = expect["kubernetes.monitoring_namespace"], expect["kubernetes.monitoring_app"]
    service = k8s.get("Service", app, ns)
    selector = (service or {}).get("spec", {}).get("selector") or {}
    if selector:
        chosen, how = [selector], f"svc/{app}'s selector {selector}"
    else:
        chosen, how = (
            [
                {"app": app},
                {"app.kubernetes.io/name": "prometheus"},
            ],
            f"app={app} or app.kubernetes.io/name=prometheus",
        )
    pods = [
        p
        for p in k8s.list("Pod", ns)
        if any(
            label_selectors.selector_matches({"matchLabels": c}, p["metadata"].get("labels"))
            for c in chosen
        )
    ]
    running = [
        p
        for p in pods
        if p.get("status", {}).get("phase") == "Running"
        and all(s.get("ready") for s in p.get("status", {}).get("containerStatuses") or [{}])
    ]
    evidence["pods"] = {p["metadata"]["name"]: p.get("status", {}).get("phase") for p in pods}
    seen = ", ".join(f"{name} {phase}" for name, phase in evidence["pods"].items()) or "none"
    assert running, (
        f"no ready {app} pod running in namespace {ns} (pods by {how}: {seen}); kubectl get pods -n"
        f" {ns}"
    )
