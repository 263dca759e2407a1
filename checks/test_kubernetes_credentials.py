"""Credentials: Secrets rotated within the rotation age; no credential written into a manifest.

Guide: Maintenance Schedule / Monthly Tasks / Rotate credentials; Security Best Practices.
"""

import datetime as dt

import pytest

from nbaverify.clients.k8s import ref
from nbaverify.probes import credentials
from nbaverify.probes import kubernetes as kube
from nbaverify.probes import workloads as pods

pytestmark = [pytest.mark.area("kubernetes"), pytest.mark.monthly]

ROTATE = "Maintenance Schedule / Monthly Tasks"


@pytest.mark.severity("warning")
@pytest.mark.runbook(ROTATE)
def check_credentials_rotated(k8s, expect, evidence):
    """Each Secret's last rotation, from the team's annotation (configured keys, then common spellings) or,
    on a live cluster, its creationTimestamp. A date that cannot be read is a finding, not a pass."""
    limit = expect["kubernetes.credentials.max_age_days"]
    keys = expect["kubernetes.credentials.rotated_at_annotations"]
    types = set(expect["kubernetes.credentials.secret_types"])
    secrets = [s for ns in expect["kubernetes.namespaces"] for s in k8s.list("Secret", ns)
               if s.get("type", "Opaque") in types]
    if not secrets:
        pytest.skip(f"no Secret of types {', '.join(sorted(types))} in {k8s.description} "
                    f"({', '.join(expect['kubernetes.namespaces'])}): nothing to read a rotation date from")
    findings, now = [], dt.datetime.now(dt.UTC)
    for secret in secrets:
        date = kube.rotation_date(secret, keys)
        if date.when is None:
            findings.append(f"{ref(secret)}: its rotation date cannot be read ({date.problem})")
            evidence[ref(secret)] = date.problem
            continue
        age = (now - date.when).total_seconds() / 86400
        evidence[ref(secret)] = {"rotated": date.when.isoformat(), "from": date.source, "age_days": round(age, 1)}
        if age > limit:
            findings.append(f"{ref(secret)} last rotated {age:.0f} days ago ({date.when:%Y-%m-%d}, from {date.source})")
    assert not findings, f"{'; '.join(findings)} (rotate every {limit} days, then set the {keys[0]} annotation)"


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook("Security Best Practices / Authentication & Authorization / API Security")
def check_no_credential_literals_in_env(k8s, expect, evidence):
    """No credential written into any container's env of any object that makes pods (CronJobs, Jobs and bare Pods
    too): by the variable's name, or by the value's shape (a PEM key, a cloud key id, a JWT, a URL with a
    password) whatever the name. The value is never shown."""
    namespaces = expect["kubernetes.namespaces"]
    found = pods.workloads(k8s, namespaces)
    evidence["read"] = len(found)
    if not found:
        pytest.skip(pods.nothing_read(k8s, namespaces))
    literal = [f for w in found for f in credentials.literals(w, expect["kubernetes.credentials.env_name_pattern"])]
    assert not literal, (f"{'; '.join(literal)} (take it from a Secret: valueFrom.secretKeyRef; the value is in git now: "
                         "rotate it)")
