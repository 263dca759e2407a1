"""The releases of the sandbox's Kubernetes control plane, in one place: scripts/kubernetes/build
builds these (and refuses a go.mod that names others), and the sandbox looks for these builds in the
cache."""

from __future__ import annotations

import os
from pathlib import Path

# kube-apiserver, kube-controller-manager, kube-scheduler (k8s.io/kubernetes)
KUBERNETES = "v1.37.2"
STAGING = "v0.37.2"  # every k8s.io staging module, at the release KUBERNETES was cut from
# go.etcd.io/etcd/server/v3: the minor k8s 1.37's go.mod names for its client (3.7)
ETCD = "v3.7.4"
KWOK = "v0.8.0"  # sigs.k8s.io/kwok: nodes and pods simulated, no container engine needed

COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")


def cache_dir(environ=None) -> Path:
    """Where the builds live, one folder per set of releases, outside any checkout: built once per
    machine."""
    environ = os.environ if environ is None else environ
    root = environ.get("NBAVERIFY_KUBERNETES_CACHE") or str(
        Path.home() / ".cache" / "nbaverify" / "kubernetes"
    )
    return Path(root) / f"{KUBERNETES}-etcd{ETCD}-kwok{KWOK}"
