"""The sandbox's own hands on its cluster: the administrator's client (system:masters), as an
operator's kubectl.

Objects go in by server-side apply (`PATCH ... application/apply-patch+yaml`, one field manager,
conflicts forced), so the server validates and defaults them as it would a team's deploy; what the
sandbox applied is remembered, and what it no longer applies is deleted (as `kubectl apply --prune`
does). Every call has a timeout. Checks never use this client: they run as the verifier.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from nbaverify import procs
from nbaverify.errors import SandboxError

FIELD_MANAGER = "nbaverify-sandbox"
# kube-apiserver answers 429 with Retry-After while its storage (re)initializes after a start, and
# when its priority and fairness queues are full: the sandbox waits it out, for this long at most
BUSY_WAIT_S = 15.0
# kind -> (resource, namespaced) of everything the sandbox applies or acts on; the group and version
# come from each object's apiVersion
RESOURCES = {
    "Namespace": ("namespaces", False),
    "Node": ("nodes", False),
    "ServiceAccount": ("serviceaccounts", True),
    "Secret": ("secrets", True),
    "ConfigMap": ("configmaps", True),
    "Service": ("services", True),
    "Pod": ("pods", True),
    "ReplicationController": ("replicationcontrollers", True),
    "Deployment": ("deployments", True),
    "StatefulSet": ("statefulsets", True),
    "DaemonSet": ("daemonsets", True),
    "ReplicaSet": ("replicasets", True),
    "Job": ("jobs", True),
    "CronJob": ("cronjobs", True),
    "HorizontalPodAutoscaler": ("horizontalpodautoscalers", True),
    "NetworkPolicy": ("networkpolicies", True),
    "Role": ("roles", True),
    "RoleBinding": ("rolebindings", True),
    "ClusterRole": ("clusterroles", False),
    "ClusterRoleBinding": ("clusterrolebindings", False),
    "PodDisruptionBudget": ("poddisruptionbudgets", True),
    "CustomResourceDefinition": ("customresourcedefinitions", False),
    "Logs": ("logs", True),
    "Lease": ("leases", True),
    "PriorityClass": ("priorityclasses", False),
}


@dataclass(frozen=True)
class Key:
    """An object's identity: what prune compares."""

    api_version: str
    kind: str
    namespace: str | None
    name: str

    @classmethod
    def of(cls, obj: dict) -> Key:
        meta = obj.get("metadata") or {}
        namespaced = RESOURCES.get(obj.get("kind", ""), ("", True))[1]
        return cls(
            obj["apiVersion"],
            obj["kind"],
            meta.get("namespace") if namespaced else None,
            meta["name"],
        )

    def path(self, with_name: bool = True) -> str:
        if self.kind not in RESOURCES:
            raise SandboxError(
                f"the sandbox does not know how to apply a {self.kind}"
                f" ({self.namespace}/{self.name})"
            )
        resource, namespaced = RESOURCES[self.kind]
        prefix = (
            f"/api/{self.api_version}"
            if "/" not in self.api_version
            else f"/apis/{self.api_version}"
        )
        where = f"/namespaces/{self.namespace}" if namespaced and self.namespace else ""
        return f"{prefix}{where}/{resource}" + (f"/{self.name}" if with_name else "")

    def __str__(self) -> str:
        return "/".join(filter(None, [self.namespace, self.kind, self.name]))


class Admin:
    """The sandbox's administrator client of its own cluster (system:masters): GET, server-side
    apply, merge patch, create and delete, each with a timeout; `apply_all` applies a set of objects
    and prunes what was applied before and is not now. Checks never use it: they run as the
    verifier."""

    def __init__(self, url: str, ca: Path, cert: Path, key: Path, timeout_s: float = 10.0):
        self.url = url
        context = ssl.create_default_context(cafile=str(ca))
        context.load_cert_chain(str(cert), str(key))
        self.http = httpx.Client(base_url=url, verify=context, timeout=timeout_s)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Admin:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _fail(self, what: str, reply: httpx.Response) -> SandboxError:
        try:
            message = reply.json().get("message") or reply.text
        except ValueError:
            message = reply.text
        return SandboxError(
            f"kubernetes {self.url}: {what}: HTTP {reply.status_code} {message[:300]}"
        )

    def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        """One call; a 429 that says when to come back is tried again then, within BUSY_WAIT_S."""
        give_up = time.monotonic() + BUSY_WAIT_S
        while True:
            reply = self.http.request(method, path, **kwargs)
            wait = _retry_after(reply)
            if wait is None or time.monotonic() + wait > give_up:
                return reply
            time.sleep(wait)

    def get(self, path: str, params: dict | None = None) -> dict | None:
        reply = self._send("GET", path, params=params)
        if reply.status_code == 404:
            return None
        if reply.status_code >= 400:
            raise self._fail(f"GET {path}", reply)
        return reply.json()

    def items(
        self, api_version: str, kind: str, namespace: str | None = None, selector: str | None = None
    ) -> list[dict]:
        path = Key(api_version, kind, namespace, "").path(with_name=False)
        found = self.get(path, {"labelSelector": selector} if selector else None) or {}
        return found.get("items", [])

    def apply(self, obj: dict) -> str | None:
        """Server-side apply one object; the server's refusal (an object it will not take) is
        returned, not raised."""
        key = Key.of(obj)
        reply = self._send(
            "PATCH",
            key.path(),
            params={"fieldManager": FIELD_MANAGER, "force": "true"},
            content=json.dumps(obj),
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
        if reply.status_code in (400, 422):
            try:
                return f"{key}: {reply.json().get('message', reply.text)}"
            except ValueError:
                return f"{key}: {reply.text}"
        if reply.status_code >= 400:
            raise self._fail(f"applying {key}", reply)
        return None

    def patch(self, key: Key, change: dict, subresource: str = "") -> None:
        """A merge patch (of the object, or of its status): what an operator's `kubectl patch`
        does."""
        path = key.path() + (f"/{subresource}" if subresource else "")
        reply = self._send(
            "PATCH",
            path,
            content=json.dumps(change),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        if reply.status_code >= 400:
            raise self._fail(f"patching {key}{' ' + subresource if subresource else ''}", reply)

    def create(self, obj: dict) -> None:
        key = Key.of(obj)
        reply = self._send(
            "POST",
            key.path(with_name=False),
            content=json.dumps(obj),
            headers={"Content-Type": "application/json"},
        )
        if reply.status_code >= 400 and reply.status_code != 409:
            raise self._fail(f"creating {key}", reply)

    def delete(self, key: Key) -> None:
        reply = self._send(
            "DELETE",
            key.path(),
            content=json.dumps({"propagationPolicy": "Background"}),
            headers={"Content-Type": "application/json"},
        )
        if reply.status_code >= 400 and reply.status_code != 404:
            raise self._fail(f"deleting {key}", reply)

    def apply_all(
        self, objects: Iterable[dict], previously: Iterable[Key] = ()
    ) -> tuple[list[Key], list[str]]:
        """Apply every object (namespaces and definitions first), delete what was applied before and
        is not now. Returns what now stands applied, and the server's refusals."""
        objects = sorted(
            objects,
            key=lambda o: (
                o["kind"] not in ("Namespace", "CustomResourceDefinition", "PriorityClass"),
            ),
        )
        keys = [Key.of(o) for o in objects]
        for stale in [k for k in previously if k not in keys]:
            self.delete(stale)
        refused = []
        for obj in objects:
            found = self.apply(obj)
            if found and "field is immutable" in found:
                # a new selector, say: replaced, as `kubectl replace --force`
                key = Key.of(obj)
                self.delete(key)
                procs.wait_until(lambda: self.get(key.path()) is None, 30, f"{key} to be deleted")  # noqa: B023
                found = self.apply(obj)
            if found:
                refused.append(found)
        applied = [
            k
            for k, o in zip(keys, objects, strict=True)
            if not any(r.startswith(f"{k}:") for r in refused)
        ]
        return applied, refused


def _retry_after(reply: httpx.Response) -> float | None:
    """Seconds to wait before the same call, when the server answered 429 and said (None: do not
    retry)."""
    if reply.status_code != 429:
        return None
    try:
        return max(0.1, min(float(reply.headers.get("retry-after", "")), 5.0))
    except ValueError:
        return None
