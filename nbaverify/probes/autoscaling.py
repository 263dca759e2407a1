"""HorizontalPodAutoscalers of every served version, read as one shape.

autoscaling/v1 sets `targetCPUUtilizationPercentage`; v2beta1 a Resource metric's
`targetAverageUtilization`; v2beta2 and v2 a Resource metric's `target.averageUtilization`. A live
cluster converts every stored HPA to the version asked for; manifests keep the version they were
written in.
"""

from __future__ import annotations

from dataclasses import dataclass


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value) -> list:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class Autoscaler:
    """A HorizontalPodAutoscaler read as one shape, whatever its API version: what it scales, its
    replica bounds, and its CPU utilisation target in percent (None when it sets none)."""

    api_version: str
    target_kind: str | None
    target_name: str | None
    min_replicas: int | None
    max_replicas: int | None
    cpu_utilization: int | None


def read(hpa: dict) -> Autoscaler:
    spec = _dict(hpa.get("spec"))
    target = _dict(spec.get("scaleTargetRef"))
    cpu = spec.get("targetCPUUtilizationPercentage")  # autoscaling/v1
    for metric in (m for m in _list(spec.get("metrics")) if isinstance(m, dict)):
        resource = _dict(metric.get("resource"))
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            cpu = _dict(resource.get("target")).get(
                "averageUtilization", resource.get("targetAverageUtilization")
            )
            break
    # the API defaults minReplicas to 1
    return Autoscaler(
        str(hpa.get("apiVersion", "")),
        target.get("kind"),
        target.get("name"),
        spec.get("minReplicas", 1),
        spec.get("maxReplicas"),
        cpu,
    )
