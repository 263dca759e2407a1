"""The double's cluster state: the deployed manifests, given the status a healthy cluster would report,
then bent by the status faults switched on in the control file."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

from nbaverify.clients.k8s import ManifestSource

NODES = ("nba-control-plane", "nba-worker", "nba-worker2")
SECRETS = {"api-secrets": ["JWT_SECRET"], "db-credentials": ["DATABASE_URL"]}
ROTATED_AT = "nbaverify.io/rotated-at"
# another team's spelling, as a vault operator writes it: the check must read it as well
OTHER_SPELLING = {"db-credentials": "vault.example.com/last-rotated"}
SYSTEM_CLUSTER_ROLES = ("cluster-admin", "admin", "edit", "view")
KUBERNETES_VERSION = "v1.36.4"  # a supported release (fixtures/releases): the double's server and kubelets
API_DEPLOYMENT = "api"  # its pods' logs are the sandbox API's (nbaverify.sandbox.kube.pod_logs)
TENANT_PODS = 50  # pods a tenant runs at --scale N > 1 (its frontend scaled out): 100x holds about 5,000
BUSIER = "frontend"


def _stamp(when: dt.datetime) -> str:
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def build(manifests: Path, faults: frozenset[str], now: dt.datetime | None = None,
          api_started: dt.datetime | None = None, scale: int = 1) -> list[dict]:
    """api_started: the sandbox API's last rollout, when the api pods (whose logs are its log) started.
    scale: N times the namespaced objects: N - 1 more tenants, each a healthy copy of the platform's namespaces."""
    now = now or dt.datetime.now(dt.UTC)
    deployed = _stamp(now - dt.timedelta(days=3))
    objects = copy.deepcopy(ManifestSource(manifests, "nba-stats")._load()) if any(manifests.glob("*.y*ml")) else []
    for number, obj in enumerate(objects):
        meta = obj["metadata"]
        meta.setdefault("uid", hashlib.sha1(f"{obj['kind']}/{meta.get('namespace')}/{meta['name']}".encode()).hexdigest()[:8])
        meta.setdefault("creationTimestamp", deployed)
        meta["resourceVersion"] = str(1000 + number)
    objects += [_node(name, deployed) for name in NODES]
    objects += [_secret(name, keys, _stamp(now - dt.timedelta(days=20))) for name, keys in SECRETS.items()]
    objects += [{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                 "metadata": {"name": name, "creationTimestamp": deployed},
                 "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}] if name == "cluster-admin" else []}
                for name in SYSTEM_CLUSTER_ROLES]
    objects.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": "cluster-admin", "creationTimestamp": deployed},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]})
    for deployment in [o for o in objects if o["kind"] == "Deployment"]:
        rolled = api_started and deployment["metadata"]["name"] == API_DEPLOYMENT
        objects += _run(deployment, _stamp(api_started) if rolled and api_started else deployed)
    _old_incident(objects, now)
    for name in sorted(faults):
        if name in STATUS_FAULTS:
            STATUS_FAULTS[name](objects, now)
    return objects + tenants(objects, scale)


def tenants(objects: list[dict], scale: int) -> list[dict]:
    """Copies 2..scale of every namespace and what lives in it, renamed `<namespace>-NNN` throughout (the
    namespace's own name, its objects' namespace, every reference to it), so each copy is a platform as healthy
    as the first: what grows is how much there is to list and judge, not what is wrong."""
    namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    namespaced = [o for o in objects if o["kind"] == "Namespace" or o["metadata"].get("namespace") in namespaces]
    copies = []
    for number in range(2, scale + 1):
        renames = {name: f"{name}-{number:03d}" for name in namespaces}
        tenant = []
        for obj in namespaced:
            copy_ = _renamed(obj, renames)
            copy_["metadata"]["uid"] = hashlib.sha1(f"{copy_['metadata'].get('uid')}-{number}".encode()).hexdigest()[:12]
            tenant.append(copy_)
        copies += _busier(tenant, number)
    return copies


def _busier(tenant: list[dict], number: int) -> list[dict]:
    """A tenant's frontend runs as many more replicas as bring the tenant to TENANT_PODS pods: a busier, still
    healthy copy, so the cluster at --scale 100 holds about 5,000 pods, as a platform of that size would."""
    pods = sum(o["kind"] == "Pod" for o in tenant)
    frontend = next((o for o in tenant if o["kind"] == "Deployment" and o["metadata"]["name"] == BUSIER), None)
    if frontend is None or pods >= TENANT_PODS:
        return tenant
    spec = frontend.setdefault("spec", {})
    spec["replicas"] = spec.get("replicas", 1) + TENANT_PODS - pods
    kept = [o for o in tenant if not (o["kind"] == "Pod" and o["metadata"].get("labels", {}).get("app") == BUSIER)]
    extra = _run(frontend, frontend["metadata"].get("creationTimestamp", ""))
    for pod in extra:
        pod["metadata"]["uid"] = hashlib.sha1(f"{pod['metadata']['uid']}-{number}".encode()).hexdigest()[:12]
    return kept + extra


def _renamed(value, renames: dict[str, str]):
    if isinstance(value, dict):
        return {k: _renamed(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, renames) for v in value]
    return renames.get(value, value) if isinstance(value, str) else value


def _node(name: str, since: str) -> dict:
    conditions = [{"type": t, "status": "False", "reason": f"Kubelet Has No {t}"}
                  for t in ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable")]
    conditions.append({"type": "Ready", "status": "True", "reason": "KubeletReady", "lastTransitionTime": since})
    role = {"node-role.kubernetes.io/control-plane": ""} if "control-plane" in name else {}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "creationTimestamp": since,
            "labels": {"kubernetes.io/hostname": name, **role}},
            "status": {"conditions": conditions, "nodeInfo": {"kubeletVersion": KUBERNETES_VERSION},
                       "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"}}}


def _secret(name: str, keys: list[str], rotated: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": "nba-stats", "creationTimestamp": "2025-01-15T09:00:00Z",
                         "annotations": {OTHER_SPELLING.get(name, ROTATED_AT): rotated}},
            "data": dict.fromkeys(keys, "cmVkYWN0ZWQ=")}  # "redacted": the double holds no real credential


def _run(deployment: dict, since: str) -> list[dict]:
    """The Deployment's status, and a Running pod per replica."""
    meta, spec = deployment["metadata"], deployment.get("spec", {})
    replicas = spec.get("replicas", 1)
    deployment["status"] = {"replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas,
                            "availableReplicas": replicas, "observedGeneration": 1,
                            "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]}
    template = spec.get("template", {})
    suffix = hashlib.sha1(meta["name"].encode()).hexdigest()[:10]
    pods = []
    for number in range(replicas):
        pod_spec = copy.deepcopy(template.get("spec", {}))
        pod_spec["nodeName"] = NODES[1 + number % 2]
        statuses = [{"name": c["name"], "image": c.get("image", ""), "imageID": "", "ready": True, "restartCount": 0,
                     "started": True, "state": {"running": {"startedAt": since}}, "lastState": {}}
                    for c in pod_spec.get("containers", [])]
        pods.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": f"{meta['name']}-{suffix}-{number:05d}"[:63], "namespace": meta["namespace"],
                                  "uid": hashlib.sha1(f"{meta['name']}-{suffix}-{number}".encode()).hexdigest()[:12],
                                  "labels": dict(template.get("metadata", {}).get("labels", {})), "creationTimestamp": since,
                                  "ownerReferences": [{"kind": "ReplicaSet", "name": f"{meta['name']}-{suffix}", "controller": True}]},
                     "spec": pod_spec,
                     "status": {"phase": "Running", "containerStatuses": statuses, "startTime": since,
                                "conditions": [{"type": "Ready", "status": "True"}]}})
    return pods


# -- status faults: what a sick cluster would report ----------------------------------------------
def _pods(objects: list[dict], app: str) -> list[dict]:
    return [o for o in objects if o["kind"] == "Pod" and o["metadata"].get("labels", {}).get("app") == app]


def _ago(now, **delta) -> str:
    return (now - dt.timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _old_incident(objects, now):
    """Healthy, with a past: a frontend container OOMKilled two days ago after 5 restarts, running fine since.
    A check that judged totals, or the last state whatever its age, would cry wolf here."""
    status = _pods(objects, "frontend")[0]["status"]["containerStatuses"][0]
    status.update(restartCount=5, state={"running": {"startedAt": _ago(now, hours=50)}},
                  lastState={"terminated": {"reason": "OOMKilled", "exitCode": 137, "finishedAt": _ago(now, hours=50)}})


def _crashloop(objects, now):
    status = _pods(objects, "api")[0]["status"]["containerStatuses"][0]
    status.update(ready=False, restartCount=12, state={"waiting": {"reason": "CrashLoopBackOff",
                  "message": "back-off 5m0s restarting failed container"}},
                  lastState={"terminated": {"reason": "Error", "exitCode": 1, "startedAt": _ago(now, minutes=2),
                                            "finishedAt": _ago(now, minutes=1)}})


def _oomkilled(objects, now):
    status = _pods(objects, "frontend")[1]["status"]["containerStatuses"][0]
    status.update(restartCount=1, lastState={"terminated": {"reason": "OOMKilled", "exitCode": 137,
                                                            "finishedAt": _ago(now, minutes=5)}})


def _node_not_ready(objects, now):
    node = next(o for o in objects if o["kind"] == "Node" and o["metadata"]["name"] == "nba-worker2")
    for condition in node["status"]["conditions"]:
        if condition["type"] == "Ready":
            condition.update(status="False", reason="KubeletNotReady")
        if condition["type"] == "MemoryPressure":
            condition.update(status="True", reason="KubeletHasInsufficientMemory")


def _unavailable(objects, now, app="api"):
    deployment = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == app)
    deployment["status"].update(readyReplicas=0, availableReplicas=0, unavailableReplicas=deployment["status"]["replicas"],
                                conditions=[{"type": "Available", "status": "False", "reason": "MinimumReplicasUnavailable"}])
    for pod in _pods(objects, app):
        pod["status"]["phase"] = "Pending"
        for status in pod["status"]["containerStatuses"]:
            status.update(ready=False, state={"waiting": {"reason": "ImagePullBackOff"}})


def _kubelet_outdated(objects, now):
    node = next(o for o in objects if o["kind"] == "Node" and o["metadata"]["name"] == "nba-worker2")
    node["status"]["nodeInfo"]["kubeletVersion"] = "v1.31.14"  # its cycle ended on 2025-11-11


def _api_secret(objects) -> dict:
    return next(o for o in objects if o["kind"] == "Secret" and o["metadata"]["name"] == "api-secrets")


def _stale(objects, now):
    _api_secret(objects)["metadata"]["annotations"][ROTATED_AT] = _stamp(now - dt.timedelta(days=200))


def _rotation_unreadable(objects, now):
    _api_secret(objects)["metadata"]["annotations"][ROTATED_AT] = "after the season opener"


STATUS_FAULTS: dict[str, Callable[[list[dict], dt.datetime], None]] = {
    "crashloop_pod": _crashloop,
    "oomkilled": _oomkilled,
    "node_not_ready": _node_not_ready,
    "deployment_unavailable": _unavailable,
    "monitoring_down": lambda objects, now: _unavailable(objects, now, "prometheus-server"),
    "stale_credentials": _stale,
    "rotation_date_unreadable": _rotation_unreadable,
    "kubelet_outdated": _kubelet_outdated,
}


# -- the enforcement probe: the double plays a CNI that enforces NetworkPolicy ingress ------------
PROBE_POD_IP = "10.244.1.23"


def probe_phase(objects: list[dict], namespace: str, labels: dict, command: list[str]) -> str:
    """Would a pod with these labels in this namespace reach the Service the command fetches?

    Decided from the deployed NetworkPolicies as an enforcing CNI would for ingress (ports aside):
    no policy selecting the target pods admits all; otherwise some rule's peer must match the probe.
    """
    import ipaddress
    import re

    from nbaverify.probes.kubernetes import selector_matches

    target = re.search(r"//([a-z0-9-]+)\.([a-z0-9-]+)\.svc", " ".join(command))
    if not target:
        return "Failed"
    service_name, service_ns = target.groups()
    service = next((o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == service_name
                    and o["metadata"].get("namespace") == service_ns), None)
    if service is None:
        return "Failed"  # no such Service: the name does not resolve
    target_labels = service.get("spec", {}).get("selector") or {}
    policies = [o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"].get("namespace") == service_ns
                and selector_matches(o.get("spec", {}).get("podSelector"), target_labels)]
    if not policies:
        return "Succeeded"
    namespace_obj = next((o for o in objects if o["kind"] == "Namespace" and o["metadata"]["name"] == namespace), {})
    ns_labels = {**(namespace_obj.get("metadata", {}).get("labels") or {}), "kubernetes.io/metadata.name": namespace}

    def admits(peer: dict) -> bool:
        if "ipBlock" in peer:
            return ipaddress.ip_address(PROBE_POD_IP) in ipaddress.ip_network(peer["ipBlock"]["cidr"])
        if "namespaceSelector" in peer:
            return selector_matches(peer["namespaceSelector"], ns_labels) and selector_matches(peer.get("podSelector"), labels)
        return namespace == service_ns and selector_matches(peer.get("podSelector"), labels)

    for policy in policies:
        for rule in policy.get("spec", {}).get("ingress") or []:
            if not rule.get("from") or any(admits(peer) for peer in rule["from"]):
                return "Succeeded"
    return "Failed"
