"""Every object that makes pods, and the containers it runs: what the spec-level Kubernetes checks
judge.

A pod's spec can come from a Deployment, a StatefulSet, a DaemonSet, a ReplicaSet or
ReplicationController nobody owns, a Job, a CronJob (its job template) or a bare Pod. An object that
a controller of one of those kinds owns (a Deployment's ReplicaSet, a Job's pods, a CronJob's Jobs)
is judged once, through its owner, so a finding is said once and points at what a person edits.
Objects that are not shaped as the API shapes them (a container without a name, a spec that is a
string) never raise: they are read as far as they go, and each oddity is kept as a `Malformed` line
naming the object and, for manifests, its file and line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from nbaverify.clients.k8s import Source, ref

# the kinds whose objects carry a pod template, in the order a person reads a platform
POD_BEARING = (
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Pod",
)
# kinds that run to completion: no Service sends them traffic, so readiness and liveness probes do
# not apply
BATCH = frozenset({"Job", "CronJob"})
CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class Container:
    """One container of a pod template; `name` is "" when the object gives none."""

    spec: dict
    field: str  # initContainers, containers or ephemeralContainers
    index: int

    @property
    def name(self) -> str:
        name = self.spec.get("name")
        return name if isinstance(name, str) else ""

    @property
    def label(self) -> str:
        """How a message names it: its name, else its place ("#2 of containers, which has no
        name")."""
        return self.name or f"#{self.index + 1} of {self.field}, which has no name"

    @property
    def image(self) -> str:
        image = self.spec.get("image")
        return image if isinstance(image, str) else ""

    @property
    def env(self) -> list[dict]:
        return [e for e in _list(self.spec.get("env")) if isinstance(e, dict)]

    @property
    def resources(self) -> dict:
        return _dict(self.spec.get("resources"))


@dataclass(frozen=True)
class Workload:
    """An object that makes pods: its kind, where it lives, its pod template and where it was
    written."""

    obj: dict
    # the pod template: {"metadata": ..., "spec": ...} (a bare Pod: the Pod itself)
    template: dict
    origin: str | None = None  # a manifest's file and line
    malformed: tuple[str, ...] = field(default=())

    kind = property(lambda self: self.obj["kind"])
    name = property(lambda self: self.obj["metadata"]["name"])
    namespace = property(lambda self: self.obj["metadata"].get("namespace") or "")

    @property
    def labels(self) -> dict:
        """The labels its pods carry (what NetworkPolicies and Services select)."""
        return {
            k: v
            for k, v in _dict(_dict(self.template.get("metadata")).get("labels")).items()
            if isinstance(k, str)
        }

    @property
    def pod_spec(self) -> dict:
        return _dict(self.template.get("spec"))

    @property
    def batch(self) -> bool:
        return self.kind in BATCH

    def ref(self, container: Container | None = None) -> str:
        return ref(self.obj, container.label if container else None)

    def containers(self, fields: tuple[str, ...] = CONTAINER_FIELDS) -> list[Container]:
        spec = self.pod_spec
        return [
            Container(c, name, number)
            for name in fields
            for number, c in enumerate(_list(spec.get(name)))
            if isinstance(c, dict)
        ]

    def main_containers(self) -> list[Container]:
        """The containers that serve (not init or ephemeral ones): what probes and traffic
        concern."""
        return self.containers(("containers",))


def template_of(obj: dict) -> tuple[dict, list[str]]:
    """An object's pod template and what is wrong with its shape on the way to it."""
    kind, spec, problems = obj.get("kind"), obj.get("spec"), []
    if kind == "Pod":
        template = {"metadata": _dict(obj.get("metadata")), "spec": _dict(spec)}
        path = "spec"
    elif kind == "CronJob":
        job = _dict(_dict(spec).get("jobTemplate"))
        template = _dict(_dict(job.get("spec")).get("template"))
        path = "spec.jobTemplate.spec.template"
    else:
        template = _dict(_dict(spec).get("template"))
        path = "spec.template"
    if spec is not None and not isinstance(spec, dict):
        problems.append(f"its spec is a {type(spec).__name__}, not an object")
    elif not template or not isinstance(template.get("spec"), dict):
        problems.append(f"it has no pod template ({path}.spec)")
    else:
        pod = template["spec"]
        for name in CONTAINER_FIELDS:
            value = pod.get(name)
            if value is not None and not isinstance(value, list):
                problems.append(f"{path}.spec.{name} is a {type(value).__name__}, not a list")
                continue
            for number, container in enumerate(_list(value)):
                if not isinstance(container, dict):
                    problems.append(
                        f"{name} #{number + 1} is a {type(container).__name__}, not an object"
                    )
                elif not isinstance(container.get("name"), str) or not container.get("name"):
                    problems.append(f"{name} #{number + 1} has no name")
        if pod.get("containers") in (None, []):
            problems.append(f"{path}.spec.containers is empty")
    return template, problems


def owned_by_a_controller(obj: dict) -> bool:
    """Made by a controller whose own object is read (a Deployment's ReplicaSet, a Job's pods):
    judged there. A pod whose controller is of another kind (an operator's resource) is judged
    itself: nobody else reads it.
    """
    owners = _list(_dict(obj.get("metadata")).get("ownerReferences"))
    return any(
        isinstance(o, dict) and o.get("controller") and o.get("kind") in POD_BEARING for o in owners
    )


def workloads(
    source: Source, namespaces: list[str], kinds: tuple[str, ...] = POD_BEARING
) -> list[Workload]:
    """Every object of the namespaces that makes pods and no read controller owns, of every
    pod-bearing kind."""
    source.prefetch((kind, namespace) for namespace in namespaces for kind in kinds)
    found = []
    for namespace in namespaces:
        for kind in kinds:
            for obj in source.list(kind, namespace):
                if owned_by_a_controller(obj):
                    continue
                template, problems = template_of(obj)
                found.append(Workload(obj, template, source.origin(obj), tuple(problems)))
    return found


def find(source: Source, namespaces: list[str], name: str) -> Workload | None:
    """The workload of that name, of whichever pod-bearing kind, in the first namespace that has
    one."""
    return next((w for w in workloads(source, namespaces) if w.name == name), None)


def nothing_read(source: Source, namespaces: list[str], what: str = "pod-bearing object") -> str:
    """The skip reason of a check that found nothing to judge: said, never passed."""
    kinds = ", ".join(POD_BEARING)
    return (
        f"no {what} ({kinds}) found in {source.description} (namespaces"
        f" {', '.join(namespaces) or 'none'})"
    )


def malformed(found: list[Workload]) -> Iterator[str]:
    """One line per oddity of shape: the object, where it was written, what is wrong."""
    for workload in found:
        for problem in workload.malformed:
            where = f" ({workload.origin})" if workload.origin else ""
            yield f"{workload.ref()}{where}: {problem}"
