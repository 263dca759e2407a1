"""Credentials written into a pod's environment instead of taken from a Secret: by the variable's
name (DB_PASSWORD) and by the shape of the value whatever its name (a PEM private key, a cloud
access key id, a JWT, a URL that carries a password, a provider's token). The value itself is never
returned: only what it looks like.
"""

from __future__ import annotations

import re

from nbaverify.probes.workloads import Workload

# a signed token, anywhere
JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
# what a credential looks like, whatever the variable is called; each pattern names its shape
SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a PEM private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b")),
    ("a Google service account key", re.compile(r'"private_key_id"\s*:')),
    ("a JSON Web Token", JWT),
    (
        "a URL with a password",
        re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:[^\s@/]+@[^\s/]+", re.IGNORECASE),
    ),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
    ("a Stripe secret key", re.compile(r"\b[sr]k_live_[A-Za-z0-9]{20,}\b")),
)


def shape_of(value: str) -> str | None:
    """What a literal value looks like, when it looks like a credential (never the value)."""
    for shape, pattern in SHAPES:
        if pattern.search(value):
            return shape
    return None


def literals(workload: Workload, name_pattern: str) -> list[str]:
    """Env vars whose value is written in the object: named like a credential, or shaped like
    one."""
    name_like = re.compile(name_pattern)
    found = []
    for container in workload.containers():
        for env in container.env:
            value, name = env.get("value"), env.get("name")
            if not isinstance(value, str) or value == "" or not isinstance(name, str):
                continue
            shape = shape_of(value)
            if shape:
                found.append(
                    f"{workload.ref(container)} env {name} is a literal value shaped like {shape}"
                )
            elif name_like.search(name):
                found.append(f"{workload.ref(container)} env {name} is a literal value")
    return found
