"""Credentials: Secrets rotated within the rotation age; no credential written into a manifest.

Guide: Maintenance Schedule / Monthly Tasks / Rotate credentials; Security Best Practices.
"""

import datetime as dt

import pytest

from nbaverify.checking import start_kubernetes
from nbaverify.clients.k8s import ref
from nbaverify.probes import credentials
from nbaverify.probes import kubernetes as kube
from nbaverify.probes import workloads as pods

pytestmark = [pytest.mark.area("kubernetes"), pytest.mark.monthly]
# the cluster's client and its pod-bearing lists are read in the background from when the
# selection is known (nbaverify.plugins.early)
start_early = start_kubernetes

ROTATE = "Maintenance Schedule / Monthly Tasks / Rotate credentials"


@pytest.mark.severity("warning")
@pytest.mark.runbook(ROTATE)
def check_credentials_rotated(k8s, expect, evidence):
    """Every credential Secret of the platform was rotated within
    `kubernetes.credentials.max_age_days` (90).

    Secrets of `kubernetes.credentials.secret_types` (`Opaque`, `kubernetes.io/basic-auth`,
    `kubernetes.io/ssh-auth`) in `kubernetes.namespaces`. A Secret's last rotation is the team's
    annotation, ISO 8601 (`kubernetes.credentials.rotated_at_annotations`,
    `nbaverify.io/rotated-at`, then common spellings such as `rotated-at`, `last-rotated`,
    `rotation-date` under any prefix), else its `creationTimestamp` (on a live cluster the value is
    at least that old). A date that cannot be read is a finding naming the keys looked for, not a
    pass. Skipped when no such Secret is found. Read from manifests or a live cluster.

    When it fails: Rotate each Secret named with its owner (a new value in the Secret and where it
    authenticates, then the pods that read it restarted), and record the date: `kubectl annotate
    secret NAME -n NAMESPACE nbaverify.io/rotated-at=DATE --overwrite`. A date that cannot be read
    needs its annotation in ISO 8601.
    """
    limit = expect["kubernetes.credentials.max_age_days"]
    keys = expect["kubernetes.credentials.rotated_at_annotations"]
    types = set(expect["kubernetes.credentials.secret_types"])
    secrets = [
        s
        for ns in expect["kubernetes.namespaces"]
        for s in k8s.list("Secret", ns)
        if s.get("type", "Opaque") in types
    ]
    if not secrets:
        pytest.skip(
            f"no Secret of types {', '.join(sorted(types))} in {k8s.description} "
            f"({', '.join(expect['kubernetes.namespaces'])}): nothing to read a rotation date from"
        )
    findings, now = [], dt.datetime.now(dt.UTC)
    for secret in secrets:
        date = kube.rotation_date(secret, keys)
        if date.when is None:
            findings.append(f"{ref(secret)}: its rotation date cannot be read ({date.problem})")
            evidence[ref(secret)] = date.problem
            continue
        age = (now - date.when).total_seconds() / 86400
        evidence[ref(secret)] = {
            "rotated": date.when.isoformat(),
            "from": date.source,
            "age_days": round(age, 1),
        }
        if age > limit:
            findings.append(
                f"{ref(secret)} last rotated {age:.0f} days ago ({date.when:%Y-%m-%d}, from"
                f" {date.source})"
            )
    assert not findings, (
        f"{'; '.join(findings)} (rotate every {limit} days, then set the {keys[0]} annotation)"
    )


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(
    "Security Best Practices / Authentication & Authorization / API Security",
    "Maintenance Schedule / Quarterly Tasks / Security audit",
)
def check_no_credential_literals_in_env(k8s, expect, evidence):
    """No env var of any object that makes pods holds a credential as a literal value.

    Every container of every Deployment, StatefulSet, DaemonSet, unowned ReplicaSet and
    ReplicationController, Job, CronJob and bare Pod of `kubernetes.namespaces` (what a read
    controller owns is judged through it). A literal is a credential by the variable's name
    (`kubernetes.credentials.env_name_pattern`: secret, passw, token, api key, private key, dsn,
    credential) or, whatever its name, by the value's shape: a PEM private key, an AWS access key
    id, a Google service account key, a JWT, a URL with a password, a GitHub, Slack or Stripe token.
    The value is never shown. Take it from a Secret (`valueFrom.secretKeyRef`), and rotate it: it is
    in git now. Read from manifests or a live cluster; skipped when it finds no such object, saying
    where it looked.

    When it fails: Look at the named container's `env` (the message never shows the value), move it
    into a Secret referenced by `valueFrom.secretKeyRef`, and rotate the credential: whoever can
    read the manifest, its git history or `kubectl get -o yaml` has it.
    """
    namespaces = expect["kubernetes.namespaces"]
    found = pods.workloads(k8s, namespaces)
    evidence["read"] = len(found)
    if not found:
        pytest.skip(pods.nothing_read(k8s, namespaces))
    literal = [
        f
        for w in found
        for f in credentials.literals(w, expect["kubernetes.credentials.env_name_pattern"])
    ]
    assert not literal, (
        f"{'; '.join(literal)} (take it from a Secret: valueFrom.secretKeyRef; the value is in git"
        " now: rotate it)"
    )
