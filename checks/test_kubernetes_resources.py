"""Resources, probes, images and autoscaling of the platform's workloads (manifests or cluster).

Every object that makes pods is read: Deployments, StatefulSets, DaemonSets, ReplicaSets and
ReplicationControllers nobody owns, Jobs, CronJobs (their job template) and bare Pods; what a
controller owns is judged through it. A check that found nothing to judge skips, saying where it
looked.

Guide: Performance Tuning / Infrastructure Optimization / Resource Limits and Auto-scaling.
"""

import pytest

from nbaverify.checking import parametrize_from, start_kubernetes
from nbaverify.clients.k8s import ref
from nbaverify.probes import autoscaling
from nbaverify.probes import kubernetes as kube
from nbaverify.probes import workloads as pods

pytestmark = [pytest.mark.area("kubernetes")]
# the cluster's client and its pod-bearing lists are read in the background from when the
# selection is known (nbaverify.plugins.early)
start_early = start_kubernetes

RESOURCE_LIMITS = "Performance Tuning / Infrastructure Optimization / Resource Limits"
AUTOSCALING = "Performance Tuning / Infrastructure Optimization / Auto-scaling"
SCALABLE = ("Deployment", "StatefulSet", "ReplicaSet", "ReplicationController")


def pytest_generate_tests(metafunc):
    parametrize_from(metafunc, "expected_resources", "kubernetes.resources")
    parametrize_from(metafunc, "expected_hpa", "kubernetes.autoscaling")


def _read(k8s, expect, evidence, kinds=pods.POD_BEARING) -> list[pods.Workload]:
    """The workloads of the platform's namespaces; skips, saying where it looked, when there is
    none."""
    namespaces = expect["kubernetes.namespaces"]
    found = [w for w in pods.workloads(k8s, namespaces) if w.kind in kinds]
    evidence["read"] = sorted(w.ref() for w in found)
    if not found:
        pytest.skip(pods.nothing_read(k8s, namespaces))
    return found


@pytest.mark.gate
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESOURCE_LIMITS)
def check_objects_well_formed(k8s, expect, evidence):
    """Every object is shaped as the API server shapes it: a pod template, named containers,
    documents that are objects with a kind and a name.

    Over every Deployment, StatefulSet, DaemonSet, unowned ReplicaSet and ReplicationController,
    Job, CronJob and bare Pod of `kubernetes.namespaces` (what a read controller owns is judged
    through it). Each oddity is named with its object and, for manifests, its file and line: an
    object the server would refuse never deploys, and the other checks read it only as far as it
    goes. Read from manifests or a live cluster; skipped when it finds no such object, saying where
    it looked.

    When it fails: Run `kubectl apply --dry-run=server -f FILE` on the file and line the message
    names and fix what the API server refuses; until then the other Kubernetes checks read that
    object only partly.
    """
    found = _read(k8s, expect, evidence)
    problems = list(k8s.unreadable) + list(pods.malformed(found))
    evidence["problems"] = problems
    assert not problems, (
        f"{'; '.join(problems)} (the API server refuses such an object: kubectl apply"
        " --dry-run=server)"
    )


@pytest.mark.gate
@pytest.mark.weekly
@pytest.mark.severity("critical")
@pytest.mark.runbook(RESOURCE_LIMITS)
def check_requests_and_limits_set(k8s, expect, evidence):
    """Every container of every object that makes pods has cpu and memory requests and limits.

    Init containers too, and the containers of Jobs, CronJobs and bare Pods: every Deployment,
    StatefulSet, DaemonSet, unowned ReplicaSet and ReplicationController, Job, CronJob and bare Pod
    of `kubernetes.namespaces` (what a read controller owns is judged through it). Read from
    manifests or a live cluster; skipped when it finds no such object, saying where it looked.

    When it fails: Add cpu and memory `requests` and `limits` to each container named, sized from
    its usage (`kubectl top pod -n NAMESPACE --containers`); the guide's api has limits `1`/`1Gi`
    and requests `500m`/`512Mi`.
    """
    missing = []
    for workload in _read(k8s, expect, evidence):
        for container in workload.containers(("initContainers", "containers")):
            resources = container.resources
            for part in ("requests", "limits"):
                section = resources.get(part) if isinstance(resources.get(part), dict) else {}
                absent = [r for r in ("cpu", "memory") if r not in section]
                if absent:
                    missing.append(
                        f"{workload.ref(container)} has no {part} for {'/'.join(absent)}"
                    )
    evidence["missing"] = missing
    assert not missing, (
        f"{'; '.join(missing)} (every container needs cpu and memory requests and limits)"
    )


@pytest.mark.gate
@pytest.mark.weekly
@pytest.mark.severity("critical")
@pytest.mark.runbook(RESOURCE_LIMITS)
def check_resources_as_expected(k8s, expect, expected_resources, evidence):
    """The container each `kubernetes.resources` entry names has the guide's cpu and memory requests
    and limits.

    The guide's api container, `nba-stats/api/api` (namespace/workload/container; a
    workload/container name is looked for in every platform namespace), whatever kind of object runs
    it: limits cpu `1` and memory `1Gi`, requests `500m` and `512Mi`, compared as quantities (`1` =
    `1000m`). A missing workload or container fails. Read from manifests or a live cluster.

    When it fails: Compare the container's `resources` (`kubectl get deploy api -n nba-stats -o
    yaml`) with the guide's and fix the manifest. A team that sizes the api differently on purpose
    sets `kubernetes.resources` in its profile's `[expectations]`.
    """
    parts = expected_resources["name"].split("/")
    namespaces = [parts[0]] if len(parts) == 3 else expect["kubernetes.namespaces"]
    name, container_name = parts[-2], parts[-1]
    workload = pods.find(k8s, namespaces, name)
    assert workload is not None, (
        f"no workload {name} in namespace(s) {', '.join(namespaces)} ({k8s.description})"
    )
    container = next((c for c in workload.containers() if c.name == container_name), None)
    assert container is not None, f"{workload.ref()} has no container {container_name}"
    resources = container.resources
    evidence["resources"] = resources
    wrong = [
        f"{part}.{r} {(resources.get(part) or {}).get(r)!s} (expected {want})"
        for part in ("limits", "requests")
        for r, want in expected_resources[part].items()
        if not kube.same_quantity((resources.get(part) or {}).get(r), want)
    ]
    assert not wrong, f"{workload.ref(container)}: {'; '.join(wrong)}"


@pytest.mark.gate
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESOURCE_LIMITS)
def check_probes_present(k8s, expect, evidence):
    """Every serving container has a readiness and a liveness probe.

    Serving: the `containers` (not init or ephemeral ones) of every Deployment, StatefulSet,
    DaemonSet, unowned ReplicaSet and ReplicationController, Job, CronJob and bare Pod of
    `kubernetes.namespaces` (what a read controller owns is judged through it), except Jobs and
    CronJobs, which run to completion and take no traffic. Without probes a broken pod keeps taking
    traffic. Read from manifests or a live cluster; skipped when it finds no such object, saying
    where it looked.

    When it fails: Add a `readinessProbe` and a `livenessProbe` to each container named (for the
    api, `httpGet` on `/health`); keep liveness lenient, so a slow dependency does not get healthy
    pods restarted.
    """
    missing = []
    for workload in _read(k8s, expect, evidence):
        if workload.batch:
            continue
        for container in workload.main_containers():
            absent = [p for p in ("readinessProbe", "livenessProbe") if not container.spec.get(p)]
            if absent:
                missing.append(f"{workload.ref(container)} has no {' or '.join(absent)}")
    assert not missing, f"{'; '.join(missing)} (without probes a broken pod keeps taking traffic)"


@pytest.mark.gate
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESOURCE_LIMITS)
def check_images_pinned(k8s, expect, evidence):
    """Every container's image names a version or a digest, never `:latest` or no tag.

    Init and ephemeral containers included, of every Deployment, StatefulSet, DaemonSet, unowned
    ReplicaSet and ReplicationController, Job, CronJob and bare Pod of `kubernetes.namespaces` (what
    a read controller owns is judged through it): with a floating tag a restart may pull another
    image. An image without a tag is `:latest`. Read from manifests or a live cluster; skipped when
    it finds no such object, saying where it looked.

    When it fails: Replace each floating image with the version or digest that runs now (`kubectl
    get pod POD -n NAMESPACE -o jsonpath='{..imageID}'` shows the digest), so a restart pulls the
    same image.
    """
    floating = []
    for workload in _read(k8s, expect, evidence):
        for container in workload.containers():
            image = container.image
            tag = image.rsplit("/", 1)[-1].partition(":")[2] if "@" not in image else "digest"
            if tag in ("", "latest"):
                why = " (no tag means :latest)" if not tag and image else ""
                floating.append(f"{workload.ref(container)} runs {image or 'no image'}{why}")
    assert not floating, (
        f"{'; '.join(floating)} (pin a version or a digest: a restart may pull another image)"
    )


@pytest.mark.gate
@pytest.mark.weekly
@pytest.mark.severity("critical")
@pytest.mark.runbook(AUTOSCALING)
def check_hpa_as_expected(k8s, expected_hpa, evidence):
    """The guide's `api-hpa` scales Deployment `api`, which exists, from 2 to 10 replicas at 80 %
    CPU.

    From `kubernetes.autoscaling` (namespace `nba-stats`, `target`, `min_replicas`, `max_replicas`,
    `cpu_utilization`), read in whichever autoscaling version it is written (v1, v2beta1, v2beta2,
    v2). Without it the Deployment cannot scale under load. Read from manifests or a live cluster.

    When it fails: Compare `kubectl get hpa api-hpa -n nba-stats -o yaml` (and `kubectl describe
    hpa` for its status) with the guide's HPA and fix the manifest. A team that scales differently
    on purpose sets `kubernetes.autoscaling` in its profile's `[expectations]`.
    """
    ns, name = expected_hpa["namespace"], expected_hpa["name"]
    hpa = k8s.get("HorizontalPodAutoscaler", name, ns)
    assert hpa is not None, (
        f"no HorizontalPodAutoscaler {ns}/{name} ({k8s.description}); the "
        f"{expected_hpa['target']} Deployment cannot scale under load"
    )
    read = autoscaling.read(hpa)
    evidence["spec"] = hpa.get("spec")
    wrong = []
    if (read.target_kind, read.target_name) != ("Deployment", expected_hpa["target"]):
        wrong.append(
            f"targets {read.target_kind}/{read.target_name} (expected"
            f" Deployment/{expected_hpa['target']})"
        )
    elif k8s.get("Deployment", expected_hpa["target"], ns) is None:
        wrong.append(
            f"targets Deployment/{read.target_name}, which does not exist in {ns}: nothing scales"
        )
    for label, have, want in (
        ("minReplicas", read.min_replicas, expected_hpa["min_replicas"]),
        ("maxReplicas", read.max_replicas, expected_hpa["max_replicas"]),
    ):
        if have != want:
            wrong.append(f"{label} {have} (expected {want})")
    if read.cpu_utilization != expected_hpa["cpu_utilization"]:
        wrong.append(
            f"cpu averageUtilization {read.cpu_utilization} (expected"
            f" {expected_hpa['cpu_utilization']})"
        )
    assert not wrong, f"{ns}/HorizontalPodAutoscaler/{name}: {'; '.join(wrong)}"


@pytest.mark.gate
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(AUTOSCALING)
def check_every_hpa_has_its_target(k8s, expect, evidence):
    """Every HorizontalPodAutoscaler of the platform scales a workload that exists.

    Its `scaleTargetRef` must name a kind that scales (Deployment, StatefulSet, ReplicaSet,
    ReplicationController) and an object of it in the autoscaler's namespace: one whose target was
    renamed or deleted scales nothing, and says so only in its status. Skipped when
    `kubernetes.namespaces` have no autoscaler. Read from manifests or a live cluster.

    When it fails: Run `kubectl describe hpa NAME -n NAMESPACE`: its conditions say the target is
    missing. Point `scaleTargetRef` at the workload's current kind and name, or remove the
    autoscaler if the workload is gone for good.
    """
    namespaces = expect["kubernetes.namespaces"]
    found = [h for ns in namespaces for h in k8s.list("HorizontalPodAutoscaler", ns)]
    if not found:
        pytest.skip(
            f"no HorizontalPodAutoscaler found in {k8s.description} (namespaces"
            f" {', '.join(namespaces)})"
        )
    orphans = []
    for hpa in found:
        read = autoscaling.read(hpa)
        evidence[ref(hpa)] = f"{read.target_kind}/{read.target_name}"
        if read.target_kind not in SCALABLE or not read.target_name:
            orphans.append(
                f"{ref(hpa)} targets {read.target_kind}/{read.target_name}, which is not a kind"
                " that scales"
            )
        elif k8s.get(read.target_kind, read.target_name, hpa["metadata"]["namespace"]) is None:
            orphans.append(
                f"{ref(hpa)} targets {read.target_kind}/{read.target_name}, which does not exist"
            )
    assert not orphans, (
        f"{'; '.join(orphans)} (point scaleTargetRef at the workload, or delete the autoscaler)"
    )
