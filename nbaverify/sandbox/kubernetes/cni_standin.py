"""`python -m nbaverify.sandbox.kubernetes.cni_standin --state-dir DIR --port-base N`: the
enforcement probe's pods, answered as a CNI that enforces NetworkPolicy ingress would answer them. A
STAND-IN: no pod network, no CNI and no container run on this machine (KWOK only simulates them), so
whether the probe's `wget` would reach the Service is decided here, from the Service, the
NetworkPolicies and the Namespaces the API server holds.

Only pods labelled app.kubernetes.io/managed-by=nbaverify (the probe's; KWOK's stages leave them
alone) are touched: each ends Succeeded (reached) or Failed (refused), through its status
subresource.
"""

from __future__ import annotations

import ipaddress
import re
import time

from nbaverify.label_selectors import selector_matches
from nbaverify.sandbox.kubernetes.admin import Admin, Key
from nbaverify.sandbox.kubernetes.control_plane import ControlPlane
from nbaverify.sandbox.layout import Layout

PROBE_LABEL = "app.kubernetes.io/managed-by=nbaverify"
PROBE_POD_IP = "10.244.1.23"  # where a probe pod's traffic would come from, for ipBlock peers


def verdict(pod: dict, services: list[dict], policies: list[dict], namespaces: list[dict]) -> str:
    """Would this pod reach the Service its command fetches (ingress rules; ports aside)?"""
    command = " ".join(pod["spec"]["containers"][0].get("command") or [])
    namespace, labels = pod["metadata"]["namespace"], pod["metadata"].get("labels") or {}
    target = re.search(r"//([a-z0-9-]+)\.([a-z0-9-]+)\.svc", command)
    if not target:
        return "Failed"
    name, service_ns = target.groups()
    service = next(
        (
            s
            for s in services
            if s["metadata"]["name"] == name and s["metadata"]["namespace"] == service_ns
        ),
        None,
    )
    if service is None:
        return "Failed"  # the name does not resolve
    backends = service.get("spec", {}).get("selector") or {}
    isolating = [
        p
        for p in policies
        if p["metadata"]["namespace"] == service_ns
        and selector_matches(p.get("spec", {}).get("podSelector"), backends)
        and "Ingress" in (p["spec"].get("policyTypes") or ["Ingress"])
    ]
    if not isolating:
        return "Succeeded"
    found = next((n for n in namespaces if n["metadata"]["name"] == namespace), {})
    ns_labels = found.get("metadata", {}).get("labels") or {}

    def admits(peer: dict) -> bool:
        if "ipBlock" in peer:
            return ipaddress.ip_address(PROBE_POD_IP) in ipaddress.ip_network(
                peer["ipBlock"]["cidr"]
            )
        if "namespaceSelector" in peer:
            return selector_matches(peer["namespaceSelector"], ns_labels) and selector_matches(
                peer.get("podSelector"), labels
            )
        return namespace == service_ns and selector_matches(peer.get("podSelector"), labels)

    for policy in isolating:
        for rule in policy["spec"].get("ingress") or []:
            if not rule.get("from") or any(admits(peer) for peer in rule["from"]):
                return "Succeeded"
    return "Failed"


def answer(admin: Admin) -> None:
    waiting = [
        p
        for p in admin.items("v1", "Pod", selector=PROBE_LABEL)
        if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        and not p["metadata"].get("deletionTimestamp")
    ]
    if not waiting:
        return
    services, policies = (
        admin.items("v1", "Service"),
        admin.items("networking.k8s.io/v1", "NetworkPolicy"),
    )
    namespaces = admin.items("v1", "Namespace")
    for pod in waiting:
        phase = verdict(pod, services, policies, namespaces)
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        container = pod["spec"]["containers"][0]
        admin.patch(
            Key("v1", "Pod", pod["metadata"]["namespace"], pod["metadata"]["name"]),
            {
                "status": {
                    "phase": phase,
                    "containerStatuses": [
                        {
                            "name": container["name"],
                            "image": container.get("image", ""),
                            "ready": False,
                            "restartCount": 0,
                            "state": {
                                "terminated": {
                                    "exitCode": 0 if phase == "Succeeded" else 1,
                                    "startedAt": now,
                                    "finishedAt": now,
                                    "reason": "Completed" if phase == "Succeeded" else "Error",
                                }
                            },
                        }
                    ],
                }
            },
            subresource="status",
        )


def main() -> None:
    layout = Layout.from_service_argv(__doc__)
    control_plane = ControlPlane(layout)
    while True:
        try:
            with control_plane.admin() as admin:
                while True:
                    answer(admin)
                    time.sleep(0.3)
        except Exception as exc:  # noqa: BLE001 - the API server restarting: try again, say why in the log
            print(f"cni stand-in: {type(exc).__name__}: {exc}", flush=True)
            time.sleep(1)


if __name__ == "__main__":
    main()
