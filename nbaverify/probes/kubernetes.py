"""What the Kubernetes checks ask of the objects: workloads and their containers, quantities,
label selectors, RBAC rules and NetworkPolicy peers. Pure functions over manifest-shaped dicts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from nbaverify.clients.k8s import Source, ref

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


def workloads(source: Source, namespaces: list[str]) -> list[dict]:
    return [w for ns in namespaces for kind in WORKLOAD_KINDS for w in source.list(kind, ns)]


def pod_spec(workload: dict) -> dict:
    return workload.get("spec", {}).get("template", {}).get("spec", {})


def containers(workload: dict) -> Iterator[dict]:
    spec = pod_spec(workload)
    yield from spec.get("initContainers", []) or []
    yield from spec.get("containers", []) or []


def quantity(value) -> Decimal:
    """'500m' -> 0.5, '1Gi' -> 1073741824: the client's own parser, so '1' == '1000m'."""
    from kubernetes.utils import parse_quantity

    return parse_quantity(value)


def same_quantity(a, b) -> bool:
    try:
        return a is not None and b is not None and quantity(a) == quantity(b)
    except ValueError:
        return False


def selector_matches(selector: dict | None, labels: dict | None) -> bool:
    """A LabelSelector (matchLabels and matchExpressions) against a label set; {} selects everything."""
    selector, labels = selector or {}, labels or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        if (op == "In" and labels.get(key) not in values) or (op == "NotIn" and labels.get(key) in values) \
                or (op == "Exists" and key not in labels) or (op == "DoesNotExist" and key in labels):
            return False
    return True


def selects_everything(selector: dict | None) -> bool:
    return not (selector or {}).get("matchLabels") and not (selector or {}).get("matchExpressions")


def open_peers(policy: dict) -> list[str]:
    """Ingress peers that admit everything: a rule with no `from`, `{}` selectors, or 0.0.0.0/0."""
    found = []
    for number, rule in enumerate(policy.get("spec", {}).get("ingress") or [], start=1):
        peers = rule.get("from")
        if not peers:
            found.append(f"ingress rule {number} has no 'from' (admits every source)")
            continue
        for peer in peers:
            block = (peer.get("ipBlock") or {}).get("cidr")
            if block in ("0.0.0.0/0", "::/0"):
                found.append(f"ingress rule {number} admits ipBlock {block}")
            has_pods, has_ns = "podSelector" in peer, "namespaceSelector" in peer
            any_pod = not has_pods or selects_everything(peer["podSelector"])
            if has_ns and selects_everything(peer["namespaceSelector"]) and any_pod:
                found.append(f"ingress rule {number} admits every pod of every namespace (namespaceSelector {{}})")
            elif has_pods and not has_ns and selects_everything(peer["podSelector"]):
                found.append(f"ingress rule {number} admits every pod of the namespace (podSelector {{}})")
    return found


def rule_text(rule: dict) -> str:
    return (f"apiGroups={rule.get('apiGroups', [])} resources={rule.get('resources', [])} "
            f"verbs={rule.get('verbs', [])}")


def grants(rule: dict) -> set[tuple[str, str, str]]:
    return {(g, r, v) for g in rule.get("apiGroups", []) or [""] for r in rule.get("resources", []) or []
            for v in rule.get("verbs", []) or []}


def grant_text(grant: tuple[str, str, str]) -> str:
    """('', 'pods', 'get') -> 'pods/get'; ('apps', 'deployments', 'list') -> 'apps:deployments/list'."""
    group, resource, verb = grant
    return f"{group + ':' if group else ''}{resource}/{verb}"


def last_termination(status: dict, now: dt.datetime) -> tuple[str, float | None] | None:
    """A container's last termination: (reason, seconds ago; None when the kubelet gave no time), or None."""
    terminated = (status.get("lastState") or {}).get("terminated")
    if not terminated:
        return None
    days = age_days(terminated.get("finishedAt"), now)
    return terminated.get("reason") or f"exit code {terminated.get('exitCode', '?')}", None if days is None else days * 86400


# annotation names teams use for "when was this value last rotated", compared without case and punctuation
# (after any prefix/): rotated-at, rotatedAt, last-rotated, last_rotation, rotation-date, rotated-on ...
ROTATION_SPELLINGS = {"rotatedat", "rotatedon", "lastrotated", "lastrotation", "lastrotatedat", "rotationdate",
                      "rotationtimestamp", "rotationtime", "lastrotationtime", "lastrotationdate"}


@dataclass(frozen=True)
class RotationDate:
    when: dt.datetime | None  # None: it could not be read
    source: str               # where it came from: an annotation, creationTimestamp, or what was looked for
    problem: str | None = None


def rotation_date(secret: dict, keys: list[str]) -> RotationDate:
    """When a Secret's value was last rotated: the team's annotation (the configured keys first, then the
    common spellings), else its creationTimestamp (a live cluster: the value is at least that old)."""
    meta = secret.get("metadata", {})
    annotations = meta.get("annotations") or {}
    found = [k for k in keys if k in annotations] + sorted(
        k for k in annotations if k not in keys and re.sub(r"[^a-z]", "", k.rsplit("/", 1)[-1].lower()) in ROTATION_SPELLINGS)
    for key in found:
        try:
            when = dt.datetime.fromisoformat(str(annotations[key]).strip().replace("Z", "+00:00"))
        except ValueError:
            return RotationDate(None, f"annotation {key}",
                                f"annotation {key} is {str(annotations[key])[:40]!r}, not a date (ISO 8601, e.g. 2026-11-30)")
        return RotationDate(when if when.tzinfo else when.replace(tzinfo=dt.UTC), f"annotation {key}")
    if meta.get("creationTimestamp"):
        return RotationDate(dt.datetime.fromisoformat(meta["creationTimestamp"].replace("Z", "+00:00")), "creationTimestamp")
    looked = ", ".join(keys) + " or a common spelling (rotated-at, last-rotated, rotation-date)"
    return RotationDate(None, looked, f"no rotation date: no annotation {looked}, and no creationTimestamp")


def age_days(timestamp: str | None, now: dt.datetime | None = None) -> float | None:
    if not timestamp:
        return None
    when = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return ((now or dt.datetime.now(dt.UTC)) - when).total_seconds() / 86400


def literal_credentials(workload: dict, pattern: str) -> list[str]:
    """Env vars named like a credential whose value is written in the manifest instead of a secretKeyRef."""
    name_like = re.compile(pattern)
    found = []
    for container in containers(workload):
        for env in container.get("env", []) or []:
            if "value" in env and env.get("value") not in (None, "") and name_like.search(env["name"]):
                found.append(f"{ref(workload, container['name'])} env {env['name']} is a literal value")
    return found
