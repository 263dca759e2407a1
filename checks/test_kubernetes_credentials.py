"""Credentials: Secrets rotated within the rotation age; no credential written into a manifest.

Guide: Maintenance Schedule / Monthly Tasks / Rotate credentials; Security Best Practices.
"""

import datetime as dt

import pytest

from nbaverify.clients.k8s import ref
from nbaverify.probes import kubernetes as kube

pytestmark = [pytest.mark.area("kubernetes"), pytest.mark.monthly]

ROTATE = "Maintenance Schedule / Monthly Tasks"


@pytest.mark.severity("warning")
@pytest.mark.runbook(ROTATE)
def check_credentials_rotated(k8s, expect, evidence):
    k8s.require_live("a Secret's age")
    limit = expect["kubernetes.credentials.max_age_days"]
    annotation = expect["kubernetes.credentials.rotated_at_annotation"]
    types = set(expect["kubernetes.credentials.secret_types"])
    stale, now = [], dt.datetime.now(dt.UTC)
    for ns in expect["kubernetes.namespaces"]:
        for secret in k8s.list("Secret", ns):
            if secret.get("type", "Opaque") not in types:
                continue
            meta = secret["metadata"]
            rotated = (meta.get("annotations") or {}).get(annotation) or meta.get("creationTimestamp")
            age = kube.age_days(rotated, now)
            evidence[ref(secret)] = None if age is None else round(age, 1)
            if age is not None and age > limit:
                stale.append(f"{ref(secret)} last rotated {age:.0f} days ago ({rotated[:10]})")
    assert not stale, f"{'; '.join(stale)} (rotate every {limit} days, then set the {annotation} annotation)"


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook("Security Best Practices / Authentication & Authorization / API Security")
def check_no_credential_literals_in_env(k8s, expect, evidence):
    found = [f for w in kube.workloads(k8s, expect["kubernetes.namespaces"])
             for f in kube.literal_credentials(w, expect["kubernetes.credentials.env_name_pattern"])]
    assert not found, f"{'; '.join(found)} (take it from a Secret: valueFrom.secretKeyRef; the value is in git now: rotate it)"
