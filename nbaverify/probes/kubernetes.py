"""What every Kubernetes check asks of objects: quantities, label selectors, container terminations,
ages and rotation dates. Pure functions over manifest-shaped dicts. What makes pods is `workloads`,
who may connect `network_policy`, who may do what `rbac`, credentials in env `credentials`,
autoscalers `autoscaling`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal


def quantity(value) -> Decimal:
    """'500m' -> 0.5, '1Gi' -> 1073741824: the client's own parser, so '1' == '1000m'."""
    # heavy: kubernetes.utils loads the whole client (~220 ms)
    from kubernetes.utils import parse_quantity

    return parse_quantity(value)


def same_quantity(a, b) -> bool:
    try:
        return a is not None and b is not None and quantity(a) == quantity(b)
    except ValueError:
        return False


def last_termination(status: dict, now: dt.datetime) -> tuple[str, float | None] | None:
    """A container's last termination: (reason, seconds ago; None when the kubelet gave no time), or
    None."""
    terminated = (status.get("lastState") or {}).get("terminated")
    if not terminated:
        return None
    days = age_days(terminated.get("finishedAt"), now)
    return terminated.get("reason") or f"exit code {terminated.get('exitCode', '?')}", (
        None if days is None else days * 86400
    )


# annotation names teams use for "when was this value last rotated", compared without case and
# punctuation (after any prefix/): rotated-at, rotatedAt, last-rotated, last_rotation,
# rotation-date, rotated-on ...
ROTATION_SPELLINGS = {
    "rotatedat",
    "rotatedon",
    "lastrotated",
    "lastrotation",
    "lastrotatedat",
    "rotationdate",
    "rotationtimestamp",
    "rotationtime",
    "lastrotationtime",
    "lastrotationdate",
}


@dataclass(frozen=True)
class RotationDate:
    """When a Secret's value was last rotated, and where that was read (an annotation, or
    creationTimestamp); `when` is None, and `problem` says why, when it could not be read."""

    when: dt.datetime | None  # None: it could not be read
    # where it came from: an annotation, creationTimestamp, or what was looked for
    source: str
    problem: str | None = None


def rotation_date(secret: dict, keys: list[str]) -> RotationDate:
    """When a Secret's value was last rotated: the team's annotation (the configured keys first,
    then the common spellings), else its creationTimestamp (a live cluster: the value is at least
    that old).
    """
    meta = secret.get("metadata", {})
    annotations = meta.get("annotations") or {}
    found = [k for k in keys if k in annotations] + sorted(
        k
        for k in annotations
        if k not in keys
        and re.sub(r"[^a-z]", "", k.rsplit("/", 1)[-1].lower()) in ROTATION_SPELLINGS
    )
    for key in found:
        try:
            when = dt.datetime.fromisoformat(str(annotations[key]).strip().replace("Z", "+00:00"))
        except ValueError:
            return RotationDate(
                None,
                f"annotation {key}",
                f"annotation {key} is {str(annotations[key])[:40]!r}, not a date (ISO 8601, e.g."
                " 2026-11-30)",
            )
        return RotationDate(
            when if when.tzinfo else when.replace(tzinfo=dt.UTC), f"annotation {key}"
        )
    if meta.get("creationTimestamp"):
        return RotationDate(
            dt.datetime.fromisoformat(meta["creationTimestamp"].replace("Z", "+00:00")),
            "creationTimestamp",
        )
    looked = ", ".join(keys) + " or a common spelling (rotated-at, last-rotated, rotation-date)"
    return RotationDate(
        None, looked, f"no rotation date: no annotation {looked}, and no creationTimestamp"
    )


def age_days(timestamp: str | None, now: dt.datetime | None = None) -> float | None:
    if not timestamp:
        return None
    when = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return ((now or dt.datetime.now(dt.UTC)) - when).total_seconds() / 86400
