"""Resources, probes, images and autoscaling of the platform's workloads (manifests or cluster).

Guide: Performance Tuning / Infrastructure Optimization / Resource Limits and Auto-scaling.
"""

import pytest

from nbaverify.checking import parametrize_from
from nbaverify.clients.k8s import ref
from nbaverify.probes import kubernetes as kube

pytestmark = [pytest.mark.area("kubernetes")]

RESOURCE_LIMITS = "Performance Tuning / Infrastructure Optimization / Resource Limits"
AUTOSCALING = "Performance Tuning / Infrastructure Optimization / Auto-scaling"


def pytest_generate_tests(metafunc):
    parametrize_from(metafunc, "expected_resources", "kubernetes.resources")
    parametrize_from(metafunc, "expected_hpa", "kubernetes.autoscaling")


@pytest.mark.gate
@pytest.mark.weekly
@pytest.mark.severity("critical")
@pytest.mark.runbook(RESOURCE_LIMITS)
def check_requests_and_limits_set(k8s, expect, evidence):
    missing = []
    for workload in kube.workloads(k8s, expect["kubernetes.namespaces"]):
        for container in kube.containers(workload):
            resources = container.get("resources") or {}
            for part in ("requests", "limits"):
                absent = [r for r in ("cpu", "memory") if r not in (resources.get(part) or {})]
                if absent:
                    missing.append(f"{ref(workload, container['name'])} has no {part} for {'/'.join(absent)}")
    evidence["missing"] = missing
    assert not missing, f"{'; '.join(missing)} (every container needs cpu and memory requests and limits)"


@pytest.mark.gate
@pytest.mark.weekly
@pytest.mark.severity("critical")
@pytest.mark.runbook(RESOURCE_LIMITS)
def check_resources_as_expected(k8s, expected_resources, evidence):
    ns, name, container_name = expected_resources["name"].split("/")
    workload = next((w for w in kube.workloads(k8s, [ns]) if w["metadata"]["name"] == name), None)
    assert workload is not None, f"no workload {name} in namespace {ns} ({k8s.description})"
    container = next((c for c in kube.containers(workload) if c["name"] == container_name), None)
    assert container is not None, f"{ref(workload)} has no container {container_name}"
    resources = container.get("resources") or {}
    evidence["resources"] = resources
    wrong = [f"{part}.{r} {(resources.get(part) or {}).get(r)!s} (expected {want})"
             for part in ("limits", "requests") for r, want in expected_resources[part].items()
             if not kube.same_quantity((resources.get(part) or {}).get(r), want)]
    assert not wrong, f"{ref(workload, container_name)}: {'; '.join(wrong)}"


@pytest.mark.gate
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESOURCE_LIMITS)
def check_probes_present(k8s, expect, evidence):
    missing = []
    for workload in kube.workloads(k8s, expect["kubernetes.namespaces"]):
        for container in kube.pod_spec(workload).get("containers", []) or []:
            absent = [p for p in ("readinessProbe", "livenessProbe") if not container.get(p)]
            if absent:
                missing.append(f"{ref(workload, container['name'])} has no {' or '.join(absent)}")
    assert not missing, f"{'; '.join(missing)} (without probes a broken pod keeps taking traffic)"


@pytest.mark.gate
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESOURCE_LIMITS)
def check_images_pinned(k8s, expect, evidence):
    floating = []
    for workload in kube.workloads(k8s, expect["kubernetes.namespaces"]):
        for container in kube.containers(workload):
            image = container.get("image", "")
            tag = image.rsplit("/", 1)[-1].partition(":")[2] if "@" not in image else "digest"
            if tag in ("", "latest"):
                why = " (no tag means :latest)" if not tag else ""
                floating.append(f"{ref(workload, container['name'])} runs {image or 'no image'}{why}")
    assert not floating, f"{'; '.join(floating)} (pin a version or a digest: a restart may pull another image)"


@pytest.mark.gate
@pytest.mark.weekly
@pytest.mark.severity("critical")
@pytest.mark.runbook(AUTOSCALING)
def check_hpa_as_expected(k8s, expected_hpa, evidence):
    ns, name = expected_hpa["namespace"], expected_hpa["name"]
    hpa = k8s.get("HorizontalPodAutoscaler", name, ns)
    assert hpa is not None, (f"no HorizontalPodAutoscaler {ns}/{name} ({k8s.description}); the "
                             f"{expected_hpa['target']} Deployment cannot scale under load")
    spec = hpa.get("spec", {})
    evidence["spec"] = spec
    target = spec.get("scaleTargetRef", {})
    cpu = next((m["resource"]["target"].get("averageUtilization") for m in spec.get("metrics", []) or []
                if m.get("type") == "Resource" and m.get("resource", {}).get("name") == "cpu"), None)
    wrong = []
    if (target.get("kind"), target.get("name")) != ("Deployment", expected_hpa["target"]):
        wrong.append(f"targets {target.get('kind')}/{target.get('name')} (expected Deployment/{expected_hpa['target']})")
    for key, field in (("min_replicas", "minReplicas"), ("max_replicas", "maxReplicas")):
        if spec.get(field) != expected_hpa[key]:
            wrong.append(f"{field} {spec.get(field)} (expected {expected_hpa[key]})")
    if cpu != expected_hpa["cpu_utilization"]:
        wrong.append(f"cpu averageUtilization {cpu} (expected {expected_hpa['cpu_utilization']})")
    assert not wrong, f"{ns}/HorizontalPodAutoscaler/{name}: {'; '.join(wrong)}"
