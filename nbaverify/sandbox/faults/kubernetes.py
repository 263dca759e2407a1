"""Kubernetes and host faults, as an operator or a failure would make them in a real cluster.

Spec faults edit the sandbox's *deployed* copy of the reference manifests (never fixtures/k8s),
which the sandbox then applies through the API server, so both sources see them: the manifests
source reads that directory, the cluster source the objects the server validated and the controllers
acted on. Status faults exist only in a live cluster: a Secret annotated, a node's status patched,
or a node or pod labelled for one of KWOK's stages (nbaverify/sandbox/kubernetes/kwok.yaml), which
writes the runtime state a kubelet would report. The next `up` applies the pristine manifests again
and clears what the faults did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import yaml

from nbaverify import procs
from nbaverify.sandbox.faults.model import Fault, Reach, Step
from nbaverify.sandbox.kubernetes.admin import Key
from nbaverify.sandbox.kubernetes.control_plane import MISSING_IMAGE
from nbaverify.sandbox.kubernetes.platform import ROTATED_AT

WORKLOADS = "checks/test_kubernetes_workloads.py"
RESOURCES = "checks/test_kubernetes_resources.py"
RBAC = "checks/test_kubernetes_rbac.py"
NETWORK = "checks/test_kubernetes_network.py"
CREDENTIALS = "checks/test_kubernetes_credentials.py"
HOSTS = "checks/test_hosts.py"
BOTH = ("cluster", "manifests")
# checks that need a live cluster even for a spec fault: they skip on the manifests source
LIVE_ONLY_CHECKS = (f"{NETWORK}::check_network_policy_enforced",)


def edit(filename: str, kind: str, name: str, change: Callable[[dict], dict | None]) -> Step:
    """A fault action: change (or, returning None, delete) one object of a deployed manifest
    file."""

    def act(sb: Reach) -> None:
        path = sb.layout.k8s_manifests / filename
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
        kept = []
        for doc in docs:
            if doc["kind"] == kind and doc["metadata"]["name"] == name:
                doc = change(doc)
            if doc is not None:
                kept.append(doc)
        path.write_text(yaml.safe_dump_all(kept, sort_keys=False))

    return act


def add(filename: str, obj: dict) -> Step:
    """A fault action: add an object to a deployed manifest file (made when the file is new)."""

    def act(sb: Reach) -> None:
        path = sb.layout.k8s_manifests / filename
        before = path.read_text().rstrip() + "\n---\n" if path.exists() else ""
        path.write_text(before + yaml.safe_dump(obj, sort_keys=False))

    return act


def container(doc: dict, name: str) -> dict:
    return next(c for c in doc["spec"]["template"]["spec"]["containers"] if c["name"] == name)


def changed(mutate: Callable[[dict], object]) -> Callable[[dict], dict]:
    def change(doc: dict) -> dict:
        mutate(doc)
        return doc

    return change


def _hpa_off(doc: dict) -> None:
    doc["spec"]["maxReplicas"] = 4
    doc["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] = 95


def _literal_secret(doc: dict) -> None:
    env = container(doc, "api")["env"]
    env[:] = [e for e in env if e["name"] != "JWT_SECRET"] + [
        {"name": "JWT_SECRET", "value": "change-me-in-git"}
    ]


RBAC_GROUP = "rbac.authorization.k8s.io"


def _cluster_role(
    name: str, rules: list[dict], labels: dict | None = None, aggregate: dict | None = None
) -> dict:
    role: dict = {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, **({"labels": labels} if labels else {})},
    }
    if aggregate:
        role["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": aggregate}]}
    role["rules"] = rules
    return role


def _binding(name: str, role: str, subject: dict, namespace: str | None = None) -> dict:
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": f"{RBAC_GROUP}/v1",
        "kind": kind,
        "metadata": meta,
        "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
        "subjects": [subject],
    }


AGGREGATE_TO_API = {"nba-stats.example.com/aggregate-to-api": "true"}
# a nightly report as a team adds one: pinned, limited, isolated; the fault writes a password into
# its env
NIGHTLY_REPORT = {
    "apiVersion": "batch/v1",
    "kind": "CronJob",
    "metadata": {"name": "nightly-report", "namespace": "nba-stats"},
    "spec": {
        "schedule": "0 4 * * *",
        "jobTemplate": {
            "spec": {
                "template": {
                    "metadata": {"labels": {"app": "nightly-report"}},
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "containers": [
                            {
                                "name": "report",
                                "image": "registry.example.com/nba-stats/report:1.2.0",
                                "env": [{"name": "DB_PASSWORD", "value": "report-password-in-git"}],
                                "resources": {
                                    "limits": {"cpu": "200m", "memory": "128Mi"},
                                    "requests": {"cpu": "100m", "memory": "64Mi"},
                                },
                            }
                        ],
                    },
                }
            }
        },
    },
}
NIGHTLY_REPORT_POLICY = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "NetworkPolicy",
    "metadata": {"name": "nightly-report-deny-ingress", "namespace": "nba-stats"},
    "spec": {"podSelector": {"matchLabels": {"app": "nightly-report"}}, "policyTypes": ["Ingress"]},
}
# a Job whose second container has no name: the API server refuses it, so only the manifests show it
UNNAMED_CONTAINER_JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "season-backfill", "namespace": "nba-stats"},
    "spec": {
        "template": {
            "metadata": {"labels": {"app": "nightly-report"}},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "backfill",
                        "image": "registry.example.com/nba-stats/backfill:3.1.0",
                        "resources": {
                            "limits": {"cpu": "200m", "memory": "128Mi"},
                            "requests": {"cpu": "100m", "memory": "64Mi"},
                        },
                    },
                    {
                        "image": "registry.example.com/nba-stats/backfill:3.1.0",
                        "resources": {
                            "limits": {"cpu": "200m", "memory": "128Mi"},
                            "requests": {"cpu": "100m", "memory": "64Mi"},
                        },
                    },
                ],
            },
        }
    },
}


def _added(filename: str, *objects: dict) -> Step:
    def act(sb: Reach) -> None:
        for obj in objects:
            add(filename, obj)(sb)

    return act


# status faults: what a failure does to a live cluster, through the API (KWOK's stages write the
# runtime states)


def _stamp(when: dt.datetime) -> str:
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _annotate_secret(name: str, value: Callable[[dt.datetime], str]) -> Step:
    def act(sb: Reach) -> None:
        with sb.kube.platform.admin() as admin:
            admin.patch(
                Key("v1", "Secret", "nba-stats", name),
                {"metadata": {"annotations": {ROTATED_AT: value(dt.datetime.now(dt.UTC))}}},
            )

    return act


def _simulate_pod(app: str, number: int, state: str, shown: Callable[[dict], bool]) -> Step:
    """Label the app's number-th pod (by name) for a KWOK stage, and wait until its status shows the
    state."""

    def act(sb: Reach) -> None:
        def pick(pods: list[dict]) -> list[dict]:
            mine = sorted(
                (p for p in pods if (p["metadata"].get("labels") or {}).get("app") == app),
                key=lambda p: p["metadata"]["name"],
            )
            return mine[number : number + 1]

        def done(pod: dict) -> bool:
            return any(shown(s) for s in (pod.get("status") or {}).get("containerStatuses") or [])

        sb.kube.platform.simulate("Pod", "nba-stats", pick, state, until=done)

    return act


def _node_not_ready(name: str) -> Step:
    def act(sb: Reach) -> None:
        sb.kube.platform.simulate(
            "Node",
            None,
            lambda nodes: [n for n in nodes if n["metadata"]["name"] == name],
            "not-ready",
            until=lambda node: any(
                c["type"] == "Ready" and c["status"] == "False"
                for c in (node.get("status") or {}).get("conditions") or []
            ),
        )

    return act


def _node_status(name: str, change: dict) -> Step:
    def act(sb: Reach) -> None:
        with sb.kube.platform.admin() as admin:
            admin.patch(Key("v1", "Node", None, name), {"status": change}, subresource="status")

    return act


# a rollout that replaces every pod at once (a team in a hurry): the old pods go before the new ones
# are ready
ALL_AT_ONCE = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "100%", "maxSurge": 0}}


def _unpullable(doc: dict) -> None:
    doc["spec"]["strategy"] = ALL_AT_ONCE
    container(doc, "api")["image"] = MISSING_IMAGE


def _unschedulable(doc: dict) -> None:
    doc["spec"]["strategy"] = ALL_AT_ONCE
    container(doc, "prometheus-server")["resources"] = {
        "limits": {"cpu": "1", "memory": "64Gi"},
        "requests": {"cpu": "250m", "memory": "64Gi"},
    }


def _stop_node_exporter(sb: Reach) -> None:
    pid = procs.read_pid(sb.layout.pid_file("node-exporter"), "node-exporter")
    if pid:
        procs.stop_pid(pid)


FAULTS: tuple[Fault, ...] = (
    Fault(
        name="no_resource_limits",
        area="kubernetes",
        sources=BOTH,
        breaks="the frontend container is deployed without resource limits",
        caught_by=(f"{RESOURCES}::check_requests_and_limits_set",),
        expect=r"nba-stats/Deployment/frontend container frontend has no limits for cpu/memory",
        apply=edit(
            "frontend.yaml",
            "Deployment",
            "frontend",
            changed(lambda d: container(d, "frontend")["resources"].pop("limits")),
        ),
    ),
    Fault(
        name="wrong_resource_limits",
        area="kubernetes",
        sources=BOTH,
        breaks="the api container's limits are raised to 2 CPUs and 2Gi (the guide sets 1 and 1Gi)",
        caught_by=(f"{RESOURCES}::check_resources_as_expected",),
        expect=(
            r"nba-stats/Deployment/api container api: limits\.cpu 2 \(expected 1\); limits\.memory"
            r" 2Gi \(expected 1Gi\)"
        ),
        apply=edit(
            "api.yaml",
            "Deployment",
            "api",
            changed(
                lambda d: container(d, "api")["resources"].update(
                    limits={"cpu": "2", "memory": "2Gi"}
                )
            ),
        ),
    ),
    Fault(
        name="no_probes",
        area="kubernetes",
        sources=BOTH,
        breaks="the api container loses its readiness and liveness probes",
        caught_by=(f"{RESOURCES}::check_probes_present",),
        expect=r"nba-stats/Deployment/api container api has no readinessProbe or livenessProbe",
        apply=edit(
            "api.yaml",
            "Deployment",
            "api",
            changed(
                lambda d: [container(d, "api").pop(p) for p in ("readinessProbe", "livenessProbe")]
            ),
        ),
    ),
    Fault(
        name="image_latest_tag",
        area="kubernetes",
        sources=BOTH,
        breaks="the frontend is deployed from the floating :latest tag",
        caught_by=(f"{RESOURCES}::check_images_pinned",),
        expect=(
            r"nba-stats/Deployment/frontend container frontend runs"
            r" registry\.example\.com/nba-stats/frontend:latest \(pin"
        ),
        apply=edit(
            "frontend.yaml",
            "Deployment",
            "frontend",
            changed(
                lambda d: container(d, "frontend").update(
                    image="registry.example.com/nba-stats/frontend:latest"
                )
            ),
        ),
    ),
    Fault(
        name="hpa_misconfigured",
        area="kubernetes",
        sources=BOTH,
        breaks="api-hpa scales to 4 replicas at most, at 95% CPU (the guide: 10, at 80%)",
        caught_by=(f"{RESOURCES}::check_hpa_as_expected",),
        expect=(
            r"nba-stats/HorizontalPodAutoscaler/api-hpa: maxReplicas 4 \(expected 10\); "
            r"cpu averageUtilization 95 \(expected 80\)"
        ),
        apply=edit("hpa.yaml", "HorizontalPodAutoscaler", "api-hpa", changed(_hpa_off)),
    ),
    Fault(
        name="hpa_missing",
        area="kubernetes",
        sources=BOTH,
        breaks="api-hpa is not deployed: the api cannot scale",
        caught_by=(f"{RESOURCES}::check_hpa_as_expected",),
        expect=r"no HorizontalPodAutoscaler nba-stats/api-hpa",
        apply=edit("hpa.yaml", "HorizontalPodAutoscaler", "api-hpa", lambda d: None),
    ),
    Fault(
        name="rbac_wildcard",
        area="kubernetes",
        sources=BOTH,
        breaks="api-role grants every verb on pods ('*')",
        caught_by=(f"{RBAC}::check_no_wildcard_rules", f"{RBAC}::check_role_grants_exactly"),
        expect=r"nba-stats/Role/api-role( has '\*' in verbs|: grants more than expected: pods/\*)",
        apply=edit(
            "rbac.yaml", "Role", "api-role", changed(lambda d: d["rules"][0].update(verbs=["*"]))
        ),
    ),
    Fault(
        name="rbac_secrets_access",
        area="kubernetes",
        sources=BOTH,
        breaks="api-role also grants get/list on secrets",
        caught_by=(f"{RBAC}::check_no_secret_access", f"{RBAC}::check_role_grants_exactly"),
        expect=r"nba-stats/Role/api-role.*secrets",
        apply=edit(
            "rbac.yaml",
            "Role",
            "api-role",
            changed(
                lambda d: d["rules"].append(
                    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}
                )
            ),
        ),
    ),
    Fault(
        name="cluster_admin_binding",
        area="kubernetes",
        sources=BOTH,
        breaks="a ClusterRoleBinding makes the api service account cluster-admin",
        caught_by=(f"{RBAC}::check_no_cluster_admin_binding",),
        expect=(
            r"ClusterRoleBinding/api-admin binds ServiceAccount nba-stats/api to ClusterRole"
            r" cluster-admin"
        ),
        apply=add(
            "rbac.yaml",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": "api-admin"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "cluster-admin",
                },
                "subjects": [{"kind": "ServiceAccount", "name": "api", "namespace": "nba-stats"}],
            },
        ),
    ),
    Fault(
        name="networkpolicy_missing",
        area="kubernetes",
        sources=BOTH,
        breaks="api-network-policy is not deployed: anything in the cluster reaches the api",
        caught_by=(
            f"{NETWORK}::check_network_policy_as_expected",
            f"{NETWORK}::check_every_workload_isolated",
            f"{NETWORK}::check_network_policy_enforced",
        ),
        expect=(
            r"no NetworkPolicy isolates ingress to nba-stats/Deployment/api "
            r"|reached http://api\.nba-stats\.svc:80/health: ingress to api is not enforced"
        ),
        apply=edit("networkpolicies.yaml", "NetworkPolicy", "api-network-policy", lambda d: None),
    ),
    Fault(
        name="networkpolicy_open",
        area="kubernetes",
        sources=BOTH,
        breaks="api-network-policy admits every pod of the namespace and 0.0.0.0/0",
        caught_by=(
            f"{NETWORK}::check_network_policy_as_expected",
            f"{NETWORK}::check_no_open_ingress",
            f"{NETWORK}::check_network_policy_enforced",
        ),
        expect=(
            r"nba-stats/NetworkPolicy/api-network-policy:? .*(admits podSelector \{\}"
            r" \(everything\)|admits ipBlock "
            r"0\.0\.0\.0/0|admits every pod of the namespace)|ingress to api is not enforced"
        ),
        apply=edit(
            "networkpolicies.yaml",
            "NetworkPolicy",
            "api-network-policy",
            changed(
                lambda d: d["spec"]["ingress"].append(
                    {"from": [{"podSelector": {}}, {"ipBlock": {"cidr": "0.0.0.0/0"}}]}
                )
            ),
        ),
    ),
    Fault(
        name="secret_in_env",
        area="kubernetes",
        sources=BOTH,
        breaks="the api's JWT_SECRET is written into the manifest as a literal env value",
        caught_by=(f"{CREDENTIALS}::check_no_credential_literals_in_env",),
        expect=r"nba-stats/Deployment/api container api env JWT_SECRET is a literal value",
        apply=edit("api.yaml", "Deployment", "api", changed(_literal_secret)),
    ),
    Fault(
        name="cronjob_literal_secret",
        area="kubernetes",
        sources=BOTH,
        breaks="a CronJob added beside the Deployments writes DB_PASSWORD into its env",
        caught_by=(f"{CREDENTIALS}::check_no_credential_literals_in_env",),
        expect=(
            r"nba-stats/CronJob/nightly-report container report env DB_PASSWORD is a literal value"
        ),
        apply=_added("batch.yaml", NIGHTLY_REPORT, NIGHTLY_REPORT_POLICY),
    ),
    Fault(
        name="networkpolicy_egress_only",
        area="kubernetes",
        sources=BOTH,
        breaks=(
            "api-network-policy lists policyTypes [Egress] only: its ingress rules are ignored, the"
            " api is open"
        ),
        caught_by=(
            f"{NETWORK}::check_network_policy_as_expected",
            f"{NETWORK}::check_every_workload_isolated",
        ),
        expect=(
            r"no NetworkPolicy isolates ingress to nba-stats/Deployment/api \(pods \{'app':"
            r" 'api'\}[;,] .*"
            r"nba-stats/NetworkPolicy/api-network-policy selects them (but lists|with) policyTypes"
            r" \['Egress'\]"
        ),
        apply=edit(
            "networkpolicies.yaml",
            "NetworkPolicy",
            "api-network-policy",
            changed(
                lambda d: d["spec"].update(
                    policyTypes=["Egress"], egress=[{"to": [{"podSelector": {}}]}]
                )
            ),
        ),
    ),
    Fault(
        name="rbac_secrets_by_aggregation",
        area="kubernetes",
        sources=BOTH,
        breaks="a ClusterRole aggregated into one the api's account holds may watch secrets",
        caught_by=(f"{RBAC}::check_no_secret_access",),
        expect=(
            r"nba-stats/ServiceAccount/api can watch secrets through ClusterRole/api-extras"
            r" \(aggregated from "
            r"ClusterRole/config-reader\), bound by ClusterRoleBinding/api-extras"
        ),
        apply=_added(
            "rbac.yaml",
            _cluster_role("api-extras", [], aggregate=AGGREGATE_TO_API),
            _cluster_role(
                "config-reader",
                [{"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["watch"]}],
                labels=AGGREGATE_TO_API,
            ),
            _binding(
                "api-extras",
                "api-extras",
                {"kind": "ServiceAccount", "name": "api", "namespace": "nba-stats"},
            ),
        ),
    ),
    Fault(
        name="rbac_group_exec",
        area="kubernetes",
        sources=BOTH,
        breaks=(
            "every service account of nba-stats, as the group system:serviceaccounts:nba-stats, may"
            " exec into pods"
        ),
        caught_by=(f"{RBAC}::check_no_exec_access",),
        expect=(
            r"nba-stats/ServiceAccount/api can create pods/exec through ClusterRole/pod-shell,"
            r" bound by "
            r"ClusterRoleBinding/nba-stats-shell through group system:serviceaccounts:nba-stats"
        ),
        apply=_added(
            "rbac.yaml",
            _cluster_role(
                "pod-shell", [{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]
            ),
            _binding(
                "nba-stats-shell",
                "pod-shell",
                {
                    "apiGroup": RBAC_GROUP,
                    "kind": "Group",
                    "name": "system:serviceaccounts:nba-stats",
                },
            ),
        ),
    ),
    Fault(
        name="authenticated_can_edit",
        area="kubernetes",
        sources=BOTH,
        breaks=(
            "the group system:authenticated (every account, every user) is bound to the edit"
            " ClusterRole"
        ),
        caught_by=(f"{RBAC}::check_no_cluster_admin_binding",),
        expect=(
            r"ClusterRoleBinding/everyone-edits binds group system:authenticated to ClusterRole"
            r" edit, reaching \d+ "
            r"platform service account\(s\)"
        ),
        apply=add(
            "rbac.yaml",
            _binding(
                "everyone-edits",
                "edit",
                {"apiGroup": RBAC_GROUP, "kind": "Group", "name": "system:authenticated"},
            ),
        ),
    ),
    Fault(
        name="hpa_target_missing",
        area="kubernetes",
        sources=BOTH,
        breaks="api-hpa scales Deployment api-v2, which does not exist: nothing scales",
        caught_by=(
            f"{RESOURCES}::check_hpa_as_expected",
            f"{RESOURCES}::check_every_hpa_has_its_target",
        ),
        expect=r"nba-stats/HorizontalPodAutoscaler/api-hpa:? targets Deployment/api-v2",
        apply=edit(
            "hpa.yaml",
            "HorizontalPodAutoscaler",
            "api-hpa",
            changed(lambda d: d["spec"]["scaleTargetRef"].update(name="api-v2")),
        ),
    ),
    Fault(
        name="manifest_container_unnamed",
        area="kubernetes",
        sources=("manifests",),
        breaks=(
            "a Job in the manifests has a container without a name (the API server refuses it: a"
            " deploy that fails)"
        ),
        caught_by=(f"{RESOURCES}::check_objects_well_formed",),
        expect=(
            r"nba-stats/Job/season-backfill \(\S+batch\.yaml line \d+\): containers #2 has no name"
        ),
        apply=_added("batch.yaml", UNNAMED_CONTAINER_JOB, NIGHTLY_REPORT_POLICY),
    ),
    Fault(
        name="stale_credentials",
        area="kubernetes",
        sources=("cluster",),
        requires="kubernetes",
        breaks="the Secret api-secrets was last rotated 200 days ago (rotation age 90)",
        caught_by=(f"{CREDENTIALS}::check_credentials_rotated",),
        expect=r"nba-stats/Secret/api-secrets last rotated 200 days ago",
        apply=_annotate_secret("api-secrets", lambda now: _stamp(now - dt.timedelta(days=200))),
    ),
    Fault(
        name="rotation_date_unreadable",
        area="kubernetes",
        sources=("cluster",),
        requires="kubernetes",
        breaks=(
            "the Secret api-secrets's rotation annotation says 'after the season opener', not a"
            " date"
        ),
        caught_by=(f"{CREDENTIALS}::check_credentials_rotated",),
        expect=(
            r"nba-stats/Secret/api-secrets: its rotation date cannot be read \(annotation"
            r" nbaverify\.io/rotated-at is "
            r"'after the season opener', not a date"
        ),
        apply=_annotate_secret("api-secrets", lambda now: "after the season opener"),
    ),
    Fault(
        name="crashloop_pod",
        area="kubernetes",
        sources=("cluster",),
        requires="kubernetes",
        breaks="one api pod's container is in CrashLoopBackOff after 12 restarts",
        caught_by=(
            f"{WORKLOADS}::check_containers_healthy",
            "checks/test_logs.py::check_log_window_covered",
        ),
        expect=(
            r"nba-stats/Pod/api-\S+ container api is in CrashLoopBackOff \(12 restarts\)"
            r"|nba-stats/Pod/api-\S+ container api restarted 12 times; the kubelet keeps only the"
            r" previous "
            r"container's log: the window's lines before [\d: -]+Z are lost"
        ),
        apply=_simulate_pod(
            "api",
            0,
            "crash-loop",
            lambda s: (s.get("state", {}).get("waiting") or {}).get("reason") == "CrashLoopBackOff",
        ),
    ),
    Fault(
        name="kubelet_outdated",
        area="kubernetes",
        sources=("cluster",),
        requires="kubernetes",
        breaks=(
            "node nba-worker2 still runs kubelet v1.31.14, whose release cycle ended on 2025-11-11"
        ),
        caught_by=("checks/test_patch_currency.py::check_kubernetes_supported",),
        expect=(
            r"Node/nba-worker2 \(kubelet\) runs kubernetes v1\.31\.14, whose cycle 1\.31 reached"
            r" its end of life "
            r"on 2025-11-11: no more security fixes"
        ),
        apply=_node_status("nba-worker2", {"nodeInfo": {"kubeletVersion": "v1.31.14"}}),
    ),
    Fault(
        name="oomkilled",
        area="kubernetes",
        sources=("cluster",),
        requires="kubernetes",
        breaks="a frontend container was last killed for running out of memory",
        caught_by=(f"{WORKLOADS}::check_containers_healthy",),
        expect=r"nba-stats/Pod/frontend-\S+ container frontend was OOMKilled",
        apply=_simulate_pod(
            "frontend",
            1,
            "oom-killed",
            lambda s: (
                ((s.get("lastState") or {}).get("terminated") or {}).get("reason") == "OOMKilled"
            ),
        ),
    ),
    Fault(
        name="node_not_ready",
        area="kubernetes",
        sources=("cluster",),
        requires="kubernetes",
        breaks="node nba-worker2 is NotReady under memory pressure",
        caught_by=(f"{WORKLOADS}::check_nodes_ready",),
        expect=(
            r"node nba-worker2 not Ready \(KubeletNotReady\); node nba-worker2 has MemoryPressure"
        ),
        apply=_node_not_ready("nba-worker2"),
    ),
    Fault(
        name="deployment_unavailable",
        area="kubernetes",
        sources=("cluster",),
        requires="kubernetes",
        breaks=(
            "the api is rolled out all at once (maxUnavailable 100%) to an image no registry"
            " serves: no replica is available (pods stuck in ImagePullBackOff)"
        ),
        caught_by=(f"{WORKLOADS}::check_deployments_available",),
        expect=r"nba-stats/Deployment/api has 0 of 3 replicas available",
        apply=edit("api.yaml", "Deployment", "api", changed(_unpullable)),
    ),
    Fault(
        name="monitoring_down",
        area="kubernetes",
        sources=("cluster",),
        requires="kubernetes",
        breaks=(
            "prometheus-server is rolled out all at once asking 64Gi of memory: no node has it, its"
            " pod is Pending"
        ),
        caught_by=(f"{WORKLOADS}::check_prometheus_pods_running",),
        expect=(
            r"no ready prometheus-server pod running in namespace monitoring \(pods by .*:"
            r" prometheus-server-\S+ Pending\)"
        ),
        apply=edit("monitoring.yaml", "Deployment", "prometheus-server", changed(_unschedulable)),
    ),
    Fault(
        name="host_port_closed",
        area="hosts",
        requires="prometheus",
        breaks=(
            "the node exporter stops: a port the host must listen on is closed, a process it must"
            " run is gone"
        ),
        caught_by=(f"{HOSTS}::check_ports_listening", f"{HOSTS}::check_processes_running"),
        expect=(
            r"(local://|ssh://\S+): (nothing listening on TCP port \d+"
            r"|no process '--web\.listen-address=127\.0\.0\.1:\d+' running)"
        ),
        apply=_stop_node_exporter,
    ),  # the next up's heal starts it again,
)
