"""Running the Kubernetes API test double for the sandbox: its manifests, token, kubeconfig, process."""

from __future__ import annotations

import hashlib
import secrets
import shutil
import sys
from pathlib import Path

import httpx
import yaml

from nbaverify import procs, shipped
from nbaverify.clients import k8s as k8s_client
from nbaverify.errors import SandboxError
from nbaverify.sandbox.layout import Layout

REFERENCE_MANIFESTS = shipped.K8S_MANIFESTS
CONTEXT = "nbaverify-sandbox"
MODULE = "nbaverify.sandbox.kube"


class KubeDouble:
    def __init__(self, layout: Layout):
        self.layout = layout
        self.url = f"http://127.0.0.1:{layout.k8s_port}"

    def pid(self) -> int | None:
        return procs.read_pid(self.layout.pid_file("kube"), MODULE)

    def sync(self, say) -> None:
        """Pristine deployed manifests (a fault edits this copy), a token and kubeconfig; the double running."""
        layout = self.layout
        shutil.rmtree(layout.k8s_manifests, ignore_errors=True)
        shutil.copytree(REFERENCE_MANIFESTS, layout.k8s_manifests, ignore=shutil.ignore_patterns("load"))
        if not layout.k8s_token_file.exists():
            procs.write_private(layout.k8s_token_file, secrets.token_urlsafe(32) + "\n")
        procs.write_private(layout.kubeconfig_file, yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT,
            "clusters": [{"name": CONTEXT, "cluster": {"server": self.url}}],
            "users": [{"name": "nbaverify", "user": {"token": layout.k8s_token_file.read_text().strip()}}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "nbaverify"}}],
        }, sort_keys=False))
        self.start(say)

    def start(self, say) -> None:
        fingerprint = _code_fingerprint()
        stamp = self.layout.run_dir / "kube.code"
        if self.pid() and stamp.exists() and stamp.read_text() == fingerprint:
            return
        if self.pid():
            say("restarting the Kubernetes API test double: its code changed")
            self.stop()
        stamp.write_text(fingerprint)
        procs.ensure_port_free(self.layout.k8s_port, "sandbox Kubernetes API test double")
        say(f"starting the Kubernetes API test double on {self.url}")
        procs.spawn([sys.executable, "-m", MODULE, "--state-dir", str(self.layout.root),
                     "--port-base", str(self.layout.port_base)],
                    self.layout.log_file("kube"), self.layout.pid_file("kube"))
        procs.wait_until(self.ready, 20, f"the Kubernetes API test double to answer (see {self.layout.log_file('kube')})")

    def ready(self) -> bool:
        if not self.pid():
            raise SandboxError(f"the Kubernetes API test double exited at start; its log: {self.layout.log_file('kube')}")
        return httpx.get(f"{self.url}/version", timeout=2).status_code == 200

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            procs.stop_pid(pid)


def _code_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in [*sorted(Path(__file__).parent.glob("*.py")), Path(k8s_client.__file__)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()
