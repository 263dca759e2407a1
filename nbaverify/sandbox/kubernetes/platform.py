"""What the sandbox keeps in its cluster, put there through the API as a team's deploy and its
operators would.

- The platform's manifests (fixtures/k8s), from a deployed copy under the state directory that the
  faults edit, server-side applied, validated and defaulted by the real server; what is no longer in
  them is deleted. Deployments become ReplicaSets and Pods through the real controllers, the
  scheduler binds the pods to KWOK's nodes, and KWOK's stages make them Running and Ready.
- Three nodes (KWOK's), the Secrets the manifests reference (created out of band, as a team does:
  never in a manifest; their values are placeholders, their rotation dates in annotations), and the
  verifier: the ServiceAccount, ClusterRole and binding the README tells a team to grant nbaverify
  (fixtures/verifier), whose token the sandbox's profile uses, so every check runs with exactly that
  role.
- Each HorizontalPodAutoscaler's status, written through its status subresource (the HPA controller
  is off: no metrics pipeline runs here).
- The api pods' logs: the sandbox runs one API process for the Deployment's replicas, so one api pod
  (a Logs object names it for KWOK) has its log, in the CRI format the container runtime keeps; the
  others log nothing. The suite reading every pod sees each line once, as it would behind a Service.
- At --scale N, N - 1 more tenants: healthy copies of the platform's namespaces, each brought to 50
  pods.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import shutil
from collections.abc import Callable

import yaml

from nbaverify import procs, shipped
from nbaverify.errors import SandboxError
from nbaverify.probes.workloads import template_of
from nbaverify.sandbox import variant_shapes
from nbaverify.sandbox.api_logs import ApiLogFiles
from nbaverify.sandbox.kubernetes.admin import Admin, Key
from nbaverify.sandbox.kubernetes.control_plane import CONTEXT, ControlPlane
from nbaverify.sandbox.kubernetes.pki import kubeconfig
from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.variants import DEFAULT, Variant

NODES = ("nba-control-plane", "nba-worker", "nba-worker2")
NAMESPACES = ("nba-stats", "monitoring")  # the platform's: where tenants are copied from
SECRETS = {"api-secrets": ["JWT_SECRET"], "db-credentials": ["DATABASE_URL"]}
ROTATED_AT = "nbaverify.io/rotated-at"
# another team's spelling, as a vault operator writes it: the rotation check must read it as well
OTHER_SPELLING = {"db-credentials": "vault.example.com/last-rotated"}
VERIFIER = shipped.DATA / "verifier" / "nbaverify.yaml"
VERIFIER_NAMESPACE, VERIFIER_ACCOUNT, VERIFIER_TOKEN = "nbaverify", "nbaverify", "nbaverify-token"
API = ("nba-stats", "api")  # the Deployment whose pods' log is the sandbox API's
# the label a fault puts on a node or pod for a KWOK stage (kwok.yaml)
SIMULATE = "nbaverify.io/simulate"
# pods a tenant runs at --scale N > 1 (its frontend scaled out): 100x holds about 5,000
TENANT_PODS = 50
BUSIER = "frontend"


def _stamp(when: dt.datetime) -> str:
    return when.replace(microsecond=0).isoformat().replace("+00:00", "Z")


class Platform:
    """What the sandbox keeps in its Kubernetes, put there through the API server as a team's deploy
    would put it.

    It owns the deployed copy of the platform's manifests (layout.k8s_manifests, which faults edit)
    and the record of what was applied (applied.json). `pristine` writes that copy as the variant
    shapes it; `deploy` applies it with KWOK's nodes, the Secrets, the verifier and the tenants of
    --scale, prunes the rest, waits for the cluster to settle, then writes each HPA's status and the
    verifier's kubeconfig (the one the checks use). Faults mark nodes and pods for KWOK's fault
    stages with `simulate`; `clear_simulations` takes the marks away."""

    def __init__(self, layout: Layout, control_plane: ControlPlane):
        self.layout = layout
        self.control_plane = control_plane
        self.record = layout.k8s_dir / "applied.json"

    # -- the deployed copy the faults edit -------------------------------------------------------
    def pristine(self, variant: Variant = DEFAULT) -> None:
        """The deployed copy, as the variant writes the platform's manifests (file by file, what it
        adds in variant.yaml); the default sandbox's is the shipped files themselves."""
        shutil.rmtree(self.layout.k8s_manifests, ignore_errors=True)
        if not variant.differs():
            shutil.copytree(
                shipped.K8S_MANIFESTS,
                self.layout.k8s_manifests,
                ignore=shutil.ignore_patterns("load"),
            )
            return
        objects = []
        for path in sorted(shipped.K8S_MANIFESTS.glob("*.yaml")):
            objects += [
                {**doc, "__file__": path.name}
                for doc in yaml.safe_load_all(path.read_text())
                if doc
            ]
        files: dict[str, list[dict]] = {}
        for obj in variant_shapes.manifests(objects, variant):
            files.setdefault(obj.pop("__file__", "variant.yaml"), []).append(obj)
        self.layout.k8s_manifests.mkdir(parents=True)
        for name, docs in files.items():
            (self.layout.k8s_manifests / name).write_text(
                f"# {variant.name}: {variant.describe()}\n"
                + yaml.safe_dump_all(docs, sort_keys=False)
            )

    def manifests(self) -> list[dict]:
        found = []
        for path in sorted(self.layout.k8s_manifests.glob("*.y*ml")):
            for doc in yaml.safe_load_all(path.read_text()):
                if isinstance(doc, dict) and doc.get("kind") == "List":
                    found += [d for d in doc.get("items") or [] if isinstance(d, dict)]
                elif isinstance(doc, dict) and doc.get("kind"):
                    found.append(doc)
        for obj in found:  # as kubectl does for a manifest that names none
            if obj["kind"] != "Namespace" and obj["kind"] not in (
                "ClusterRole",
                "ClusterRoleBinding",
            ):
                obj.setdefault("metadata", {}).setdefault("namespace", "nba-stats")
        return found

    # -- deploy ---------------------------------------------------------------------------------
    def deploy(self, say, scale: int = 1) -> list[str]:
        """Apply what the sandbox keeps in its cluster, prune what it no longer does, and wait until
        the controllers, the scheduler and KWOK have had their say. Returns the server's refusals (a
        manifest it will not take is a deploy that fails: said, not raised)."""
        objects = self.manifests()
        # copied before the platform's own take their priority class
        copies = tenants(objects, scale)
        objects = outranking_tenants(objects, scale) + copies
        objects += [_secret(name, keys) for name, keys in SECRETS.items()]
        objects += verifier(objects)
        with self.control_plane.admin() as admin:
            self._nodes(admin)
            applied, refused = admin.apply_all(objects, self._previously())
            procs.write_atomic(
                self.record, json.dumps([k.__dict__ for k in applied], indent=1) + "\n"
            )
            for line in refused:
                say(f"kubernetes refused {line}")
            self._settle(admin, timeout=60 + scale * 3)
            self._autoscaler_status(admin)
            self._verifier(admin)
            self.logs_to_one_api_pod(admin)
            self._old_incident(admin)
        return refused

    def _previously(self) -> list[Key]:
        try:
            return [Key(**entry) for entry in json.loads(self.record.read_text())]
        except (OSError, ValueError, TypeError):
            return []

    def _nodes(self, admin: Admin) -> None:
        """KWOK's nodes, registered as a kubelet registers its node: its capacity and its versions
        (written again at every deploy: a healed node reports the kubelet it runs)."""
        version = str((admin.get("/version") or {}).get("gitVersion", ""))
        for name in NODES:
            if admin.get(f"/api/v1/nodes/{name}") is None:
                role = (
                    {"node-role.kubernetes.io/control-plane": ""} if "control-plane" in name else {}
                )
                admin.create(
                    {
                        "apiVersion": "v1",
                        "kind": "Node",
                        "metadata": {
                            "name": name,
                            "annotations": {"kwok.x-k8s.io/node": "fake"},
                            "labels": {
                                "kubernetes.io/hostname": name,
                                "kubernetes.io/os": "linux",
                                "kubernetes.io/arch": "amd64",
                                **role,
                            },
                        },
                    }
                )
            admin.patch(
                Key("v1", "Node", None, name),
                {
                    "status": {
                        "capacity": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                        "allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110"},
                        "nodeInfo": {
                            "kubeletVersion": version,
                            "kubeProxyVersion": version,
                            "containerRuntimeVersion": "containerd://2.1.4",
                            "operatingSystem": "linux",
                            "architecture": "amd64",
                            "osImage": "Debian GNU/Linux 12 (bookworm)",
                            "kernelVersion": "6.1.0-nbaverify",
                            "machineID": "",
                            "systemUUID": "",
                            "bootID": "",
                        },
                    }
                },
                subresource="status",
            )

    def _settle(self, admin: Admin, timeout: float) -> None:
        """Every workload's controller has acted on its newest spec, and every pod has been answered
        for (bound and given a status by KWOK, or found unschedulable by the scheduler)."""

        def settled() -> bool:
            for kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
                group = "apps/v1"
                for obj in admin.items(group, kind):
                    meta, status = obj["metadata"], obj.get("status") or {}
                    if status.get("observedGeneration", 0) < meta.get("generation", 1):
                        return False
                    if kind == "Deployment" and status.get("updatedReplicas", 0) < (
                        obj["spec"].get("replicas") or 0
                    ):
                        return False
            for pod in admin.items("v1", "Pod"):
                status = pod.get("status") or {}
                if pod["metadata"].get("deletionTimestamp"):
                    return False
                scheduled = next(
                    (c for c in status.get("conditions") or [] if c["type"] == "PodScheduled"), None
                )
                if scheduled is None or (
                    status.get("phase") == "Pending"
                    and scheduled["status"] == "True"
                    and not status.get("containerStatuses")
                ):
                    return False
            return True

        procs.wait_until(
            settled,
            timeout,
            "the cluster's controllers, scheduler and KWOK to settle the deployed "
            f"objects (see {self.layout.log_file('kube-controller-manager')} and "
            f"{self.layout.log_file('kwok')})",
            interval=0.25,
        )

    def _autoscaler_status(self, admin: Admin) -> None:
        """What the HPA controller would write were it on: the replicas it sees, and that it cannot
        read metrics."""
        for hpa in admin.items("autoscaling/v2", "HorizontalPodAutoscaler"):
            target = hpa["spec"]["scaleTargetRef"]
            found = (
                admin.get(
                    Key(
                        "apps/v1",
                        target.get("kind", ""),
                        hpa["metadata"]["namespace"],
                        target["name"],
                    ).path()
                )
                if target.get("kind") in ("Deployment", "StatefulSet", "ReplicaSet")
                else None
            )
            replicas = ((found or {}).get("status") or {}).get("replicas", 0)
            now = _stamp(dt.datetime.now(dt.UTC))
            admin.patch(
                Key(
                    "autoscaling/v2",
                    "HorizontalPodAutoscaler",
                    hpa["metadata"]["namespace"],
                    hpa["metadata"]["name"],
                ),
                {
                    "status": {
                        "currentReplicas": replicas,
                        "desiredReplicas": replicas,
                        "conditions": [
                            {
                                "type": "AbleToScale",
                                "status": "True" if found else "False",
                                "lastTransitionTime": now,
                                "reason": "SucceededGetScale" if found else "FailedGetScale",
                            },
                            {
                                "type": "ScalingActive",
                                "status": "False",
                                "lastTransitionTime": now,
                                "reason": "FailedGetResourceMetric",
                                "message": "no metrics pipeline runs in the nbaverify sandbox",
                            },
                        ],
                    }
                },
                subresource="status",
            )

    def _verifier(self, admin: Admin) -> None:
        """The verifier's token (the token controller fills the Secret the verifier manifest asks
        for), and the kubeconfig the sandbox's profile names."""

        def token() -> str | None:
            found = (
                admin.get(f"/api/v1/namespaces/{VERIFIER_NAMESPACE}/secrets/{VERIFIER_TOKEN}") or {}
            )
            return (found.get("data") or {}).get("token")

        procs.wait_until(
            lambda: token() is not None,
            20,
            f"the token controller to fill {VERIFIER_NAMESPACE}/Secret/"
            f"{VERIFIER_TOKEN} (see {self.layout.log_file('kube-controller-manager')})",
        )
        value = base64.b64decode(token() or "").decode()
        procs.write_private(
            self.layout.kubeconfig_file,
            kubeconfig(
                self.control_plane.url, self.control_plane.pki.ca, CONTEXT, {"token": value}
            ),
        )

    def logs_to_one_api_pod(self, admin: Admin) -> None:
        """The api pod the sandbox's API runs as: the first of the Deployment's ready pods by
        name."""
        namespace, name = API
        pods = sorted(
            p["metadata"]["name"]
            for p in self.pods_of(admin, "Deployment", name)
            if not p["metadata"].get("deletionTimestamp")
        )
        for old in admin.items("kwok.x-k8s.io/v1alpha1", "Logs", namespace):
            if not pods or old["metadata"]["name"] != pods[0]:
                admin.delete(
                    Key("kwok.x-k8s.io/v1alpha1", "Logs", namespace, old["metadata"]["name"])
                )
        if pods:
            files = ApiLogFiles.of(self.layout)
            admin.apply(
                {
                    "apiVersion": "kwok.x-k8s.io/v1alpha1",
                    "kind": "Logs",
                    "metadata": {"name": pods[0], "namespace": namespace},
                    "spec": {
                        "logs": [
                            {
                                "containers": [name],
                                "logsFile": str(files.current_cri),
                                "previousLogsFile": str(files.previous_cri),
                            }
                        ]
                    },
                }
            )

    def roll_out_api(self) -> None:
        """A rollout of the api Deployment, as the sandbox's API starts a new log: its pods
        replaced, so the containers the log is read from start when that log does (a pod older than
        its log would claim hours of quiet).
        """
        namespace, name = API
        with self.control_plane.admin() as admin:
            old = {p["metadata"]["name"] for p in self.pods_of(admin, "Deployment", name)}
            if not old:
                return
            for pod in sorted(old):
                admin.delete(Key("v1", "Pod", namespace, pod))
            wanted = (
                (admin.get(Key("apps/v1", "Deployment", namespace, name).path()) or {}).get("spec")
                or {}
            ).get("replicas", len(old))

            def replaced() -> bool:
                pods = [
                    p
                    for p in self.pods_of(admin, "Deployment", name)
                    if p["metadata"]["name"] not in old
                ]
                running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
                return len(running) >= wanted and len(pods) == len(
                    self.pods_of(admin, "Deployment", name)
                )

            procs.wait_until(
                replaced,
                30,
                f"the api Deployment's {len(old)} pod(s) to be replaced and running (see"
                f" {self.layout.log_file('kube-controller-manager')} and"
                f" {self.layout.log_file('kwok')})",
                interval=0.2,
            )
            self.logs_to_one_api_pod(admin)

    @staticmethod
    def pods_of(admin: Admin, kind: str, name: str) -> list[dict]:
        """The pods of a platform workload, by its own selector (whatever label keys the platform
        uses), in whichever namespace it runs."""
        for found in admin.items("apps/v1", kind):
            if found["metadata"]["name"] == name and found["metadata"]["namespace"] in (
                "nba-stats",
                "nba-web",
            ):
                labels = (found["spec"].get("selector") or {}).get("matchLabels") or {}
                selector = ",".join(f"{k}={v}" for k, v in labels.items())
                return (
                    admin.items("v1", "Pod", found["metadata"]["namespace"], selector)
                    if selector
                    else []
                )
        return []

    def _old_incident(self, admin: Admin) -> None:
        """Healthy, with a past: one frontend pod restarted 3 times, last OOMKilled two days ago (a
        KWOK stage). One left by an older sandbox with another past is replaced."""

        def restarts(pod: dict) -> int | None:
            return ((pod.get("status") or {}).get("containerStatuses") or [{}])[0].get(
                "restartCount"
            )

        marked = admin.items("v1", "Pod", selector=f"{SIMULATE}=old-incident")
        if marked and all(restarts(p) == 3 for p in marked):
            return
        for pod in marked:
            admin.delete(Key("v1", "Pod", pod["metadata"]["namespace"], pod["metadata"]["name"]))
        if marked:
            self._settle(admin, timeout=30)
        frontends = sorted(
            p["metadata"]["name"]
            for p in self.pods_of(admin, "Deployment", BUSIER)
            if not p["metadata"].get("deletionTimestamp")
        )
        if frontends:
            namespace = next(
                p["metadata"]["namespace"] for p in self.pods_of(admin, "Deployment", BUSIER)
            )
            key = Key("v1", "Pod", namespace, frontends[0])
            admin.patch(key, {"metadata": {"labels": {SIMULATE: "old-incident"}}})
            procs.wait_until(
                lambda: restarts(admin.get(key.path()) or {}) == 3,
                20,
                f"KWOK to give {key} its past",
            )

    # -- what faults do to it ---------------------------------------------------------------------
    def simulate(
        self,
        kind: str,
        namespace: str | None,
        pick: Callable[[list[dict]], list[dict]],
        state: str,
        until: Callable[[dict], bool],
    ) -> list[str]:
        """Label objects for one of KWOK's fault stages (kwok.yaml: a node NotReady, a container
        crash-looping), and wait until their status shows it (`until`), so a check run right after
        sees it."""
        with self.control_plane.admin() as admin:
            chosen = pick(admin.items("v1", kind, namespace))
            if not chosen:
                raise SandboxError(f"no {kind} to mark {state} in {namespace or 'the cluster'}")
            keys = [
                Key("v1", kind, o["metadata"].get("namespace"), o["metadata"]["name"])
                for o in chosen
            ]
            for key in keys:
                admin.patch(key, {"metadata": {"labels": {SIMULATE: state}}})
            procs.wait_until(
                lambda: all(until(admin.get(k.path()) or {}) for k in keys),
                20,
                f"KWOK to show {', '.join(map(str, keys))} {state} (see"
                f" {self.layout.log_file('kwok')})",
                interval=0.2,
            )
        return [str(k) for k in keys]

    def clear_simulations(self) -> None:
        """Back to health: nodes lose their fault label (KWOK's ready stage makes them Ready again),
        pods that carried one are deleted (their controllers make fresh ones)."""
        with self.control_plane.admin() as admin:
            for node in admin.items("v1", "Node", selector=SIMULATE):
                admin.patch(
                    Key("v1", "Node", None, node["metadata"]["name"]),
                    {"metadata": {"labels": {SIMULATE: None}}},
                )
            for pod in admin.items("v1", "Pod", selector=SIMULATE):
                if pod["metadata"]["labels"][SIMULATE] != "old-incident":
                    admin.delete(
                        Key("v1", "Pod", pod["metadata"]["namespace"], pod["metadata"]["name"])
                    )

    def admin(self) -> Admin:
        return self.control_plane.admin()


def verifier(objects: list[dict]) -> list[dict]:
    """fixtures/verifier as a team applies it, its probe Role granted in every namespace the
    platform runs pods in (the enforcement probe starts its admitted pod beside the workload its
    policy admits)."""
    found = [o for o in yaml.safe_load_all(VERIFIER.read_text()) if o]
    probe = [o for o in found if o["metadata"]["name"] == "nbaverify-probe"]
    for namespace in sorted(
        {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
        - {"nba-stats", "monitoring"}
    ):
        found += [
            {**copy.deepcopy(o), "metadata": {**o["metadata"], "namespace": namespace}}
            for o in probe
        ]
    return found


def _secret(name: str, keys: list[str]) -> dict:
    rotated = _stamp(dt.datetime.now(dt.UTC) - dt.timedelta(days=20))
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": name,
            "namespace": "nba-stats",
            "annotations": {OTHER_SPELLING.get(name, ROTATED_AT): rotated},
        },
        "stringData": dict.fromkeys(
            keys, "placeholder: the sandbox keeps no credential in its cluster"
        ),
    }


def tenants(objects: list[dict], scale: int) -> list[dict]:
    """Copies 2..scale of the platform's namespaces and what lives in them, renamed
    `<namespace>-NNN` throughout (the namespace's own name, its objects' namespace, every reference
    to it), each frontend scaled out to bring its tenant to TENANT_PODS pods: what grows is how much
    there is to list, not what is wrong.
    """
    namespaced = [
        o
        for o in objects
        if (o["kind"] == "Namespace" and o["metadata"]["name"] in NAMESPACES)
        or o["metadata"].get("namespace") in NAMESPACES
    ]
    copies: list[dict] = []
    for number in range(2, scale + 1):
        renames = {name: f"{name}-{number:03d}" for name in NAMESPACES}
        tenant = [_renamed(copy.deepcopy(o), renames) for o in namespaced]
        pods = sum(
            (o.get("spec") or {}).get("replicas", 1) for o in tenant if o["kind"] == "Deployment"
        )
        for obj in tenant:
            if (
                obj["kind"] == "Deployment"
                and obj["metadata"]["name"] == BUSIER
                and pods < TENANT_PODS
            ):
                obj["spec"]["replicas"] = obj["spec"].get("replicas", 1) + TENANT_PODS - pods
        copies += tenant
    return copies


PLATFORM_CLASS = "nbaverify-platform"
PLATFORM_PRIORITY = {
    "apiVersion": "scheduling.k8s.io/v1",
    "kind": "PriorityClass",
    "metadata": {"name": PLATFORM_CLASS},
    "value": 1000,
    "globalDefault": False,
    "description": "the scaled sandbox's platform: its pods before its tenants'",
}


def outranking_tenants(objects: list[dict], scale: int) -> list[dict]:
    """At --scale N > 1 the tenants bring more pods than KWOK's nodes hold: the platform's own pods
    get a priority class above theirs, as a platform's workloads have on a shared cluster, so an api
    pod replaced at a rollout is scheduled (preempting a tenant's) instead of waiting behind
    them."""
    if scale <= 1:
        return objects
    for obj in objects:
        # the object's own pod spec (a bare Pod's, a CronJob's job template's)
        template, problems = template_of(obj)
        if obj["metadata"].get("namespace") in NAMESPACES and not problems:
            template["spec"].setdefault("priorityClassName", PLATFORM_CLASS)
    return [PLATFORM_PRIORITY, *objects]


def _renamed(value, renames: dict[str, str]):
    if isinstance(value, dict):
        return {k: _renamed(v, renames) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, renames) for v in value]
    return renames.get(value, value) if isinstance(value, str) else value
