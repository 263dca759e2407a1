"""The sandbox's Kubernetes where it cannot run: one line that says how to build it, and faults that
need it refused (no silent fallback to an imitation); and the wrapper module's replace lines,
generated from k8s.io/kubernetes's go.mod.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from nbaverify.errors import ConfigError
from nbaverify.sandbox.kubernetes import versions
from nbaverify.sandbox.kubernetes.control_plane import ControlPlane
from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.manager import validate_faults
from nbaverify.shipped import CHECKOUT

BUILD = CHECKOUT / "scripts" / "kubernetes" / "build"


def test_without_the_binaries_the_control_plane_says_how_to_build_them(tmp_path, monkeypatch):
    monkeypatch.setenv("NBAVERIFY_KUBERNETES_CACHE", str(tmp_path / "empty"))
    reason = ControlPlane(Layout(tmp_path / "sb", 29430)).unavailable()
    assert reason is not None and reason.startswith(
        "the Kubernetes control plane is not built here (no etcd, "
        "kube-apiserver, kube-controller-manager, kube-scheduler, kwok in "
    )
    assert "run scripts/kubernetes/build" in reason and "\n" not in reason
    with pytest.raises(
        ConfigError,
        match=r"--fault: node_not_ready: needs the sandbox's Kubernetes: the Kubernetes "
        r"control plane is not built here",
    ):
        validate_faults(["node_not_ready"])


@pytest.mark.skipif(not BUILD.exists(), reason="scripts/ is not in an installed wheel")
def test_every_staging_module_is_replaced_by_its_release(tmp_path):
    build = runpy.run_path(str(BUILD))
    mod = (
        "require (\n\tk8s.io/api v0.0.0\n\tk8s.io/streaming v0.0.0 // indirect\n\tk8s.io/utils"
        " v0.0.0-2026\n\tgithub.com/x/y v1.2.3\n)\nreplace k8s.io/api => ./staging/src/k8s.io/api\n"
    )
    assert build["staging_replaces"](mod) == [
        f"\tk8s.io/api => k8s.io/api {versions.STAGING}",
        f"\tk8s.io/streaming => k8s.io/streaming {versions.STAGING}",
    ]
    committed = (CHECKOUT / "scripts" / "kubernetes" / "controlplane" / "go.mod").read_text()
    assert (
        f"k8s.io/kubernetes {versions.KUBERNETES}" in committed
        and "k8s.io/cri-streaming => " in committed
    )
    assert Path(CHECKOUT / "scripts" / "kubernetes" / "controlplane" / "go.sum").exists()
