"""The control plane's processes: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
KWOK, each a sandbox service on 127.0.0.1 (ports below the ephemeral range, from the sandbox's port
base), run as a real cluster runs them: serving certificates from a cluster CA, service-account
tokens signed by a key of its own, `--authorization-mode=Node,RBAC` and the default admission
plugins, every component with its own identity.

Nodes and pods are KWOK's: it plays the kubelets (node status, leases, pod status by the stages of
kwok.yaml, pod logs on its kubelet endpoint). No container runs. The pod and service ranges
(10.244.0.0/16, 10.96.0.0/16) are on no interface of this machine, and nothing sends traffic to
them.

Differences from a production cluster, each for the sandbox's sake: etcd serves plain HTTP on
loopback and skips fsync (its data is throwaway); the API server's endpoint reconciler is off (it
refuses a loopback advertise address); the HorizontalPodAutoscaler controller is off (no metrics
pipeline runs here: the sandbox writes each HPA's status itself); leader election is off (one
instance of each).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import httpx

from nbaverify import procs
from nbaverify.errors import SandboxError
from nbaverify.sandbox.kubernetes import versions
from nbaverify.sandbox.kubernetes.admin import Admin, Key
from nbaverify.sandbox.kubernetes.pki import CLIENTS, Pki, kubeconfig
from nbaverify.sandbox.layout import Layout

POD_CIDR, SERVICE_CIDR = "10.244.0.0/16", "10.96.0.0/16"
# KWOK backs off pulling it (kwok.yaml)
MISSING_IMAGE = "registry.example.com/nba-stats/api:9.9.9-never-built"
CONTEXT = "nbaverify-sandbox"


class ControlPlane:
    """The sandbox's Kubernetes control plane as processes: etcd, kube-apiserver,
    kube-controller-manager, kube-scheduler and KWOK (which plays the kubelets; no container runs),
    each a sandbox service on 127.0.0.1.

    It owns the cluster's certificates (`pki`), a kubeconfig for each component and KWOK's
    configuration under the state directory; its binaries are built by scripts/kubernetes/build.
    `start` brings up what is not running and waits for /readyz, `stop` ends them (KWOK first, etcd
    last), `unavailable` says why it cannot run here, and `admin` is the administrator's client.
    What runs in it is `Platform`'s."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.folder = layout.k8s_dir
        self.pki = Pki(layout.k8s_dir / "pki")
        self.url = f"https://127.0.0.1:{layout.k8s_port}"
        self.bin = versions.cache_dir()
        self.kwok_config = self.folder / "kwok.yaml"
        self.empty_log = self.folder / "empty.cri.log"

    # -- what runs -----------------------------------------------------------------------------
    def unavailable(self) -> str | None:
        """Why the control plane cannot run here (its binaries are not built), or None."""
        missing = [name for name in versions.COMPONENTS if not (self.bin / name).is_file()]
        if missing:
            return (
                f"the Kubernetes control plane is not built here (no {', '.join(missing)} in"
                f" {self.bin}): run scripts/kubernetes/build (Go 1.26+; the first build compiles"
                " Kubernetes for several minutes)"
            )
        return None

    def _argv(self) -> dict[str, list[str]]:
        layout, pki, b = self.layout, self.pki, self.bin
        etcd_url = f"http://127.0.0.1:{layout.etcd_port}"
        peer_url = f"http://127.0.0.1:{layout.etcd_peer_port}"

        def component(name: str) -> list[str]:
            config = str(self._kubeconfig_path(name))
            return [
                f"--kubeconfig={config}",
                f"--authentication-kubeconfig={config}",
                f"--authorization-kubeconfig={config}",
                "--bind-address=127.0.0.1",
                "--leader-elect=false",
            ]

        return {
            "etcd": [
                str(b / "etcd"),
                "--name=nbaverify-sandbox",
                f"--data-dir={self.folder / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=nbaverify-sandbox={peer_url}",
                "--watch-progress-notify-interval=5s",
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
            "kube-apiserver": [
                str(b / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                f"--secure-port={layout.k8s_port}",
                "--advertise-address=127.0.0.1",
                "--endpoint-reconciler-type=none",
                f"--tls-cert-file={pki.server_cert}",
                f"--tls-private-key-file={pki.server_key}",
                f"--client-ca-file={pki.ca}",
                f"--service-account-key-file={pki.service_account_pub}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=Node,RBAC",
                "--kubelet-preferred-address-types=InternalIP",
                "--profiling=false",
            ],
            "kube-controller-manager": [
                str(b / "kube-controller-manager"),
                *component("controller-manager"),
                f"--secure-port={layout.controller_manager_port}",
                "--use-service-account-credentials",
                f"--service-account-private-key-file={pki.service_account_key}",
                f"--root-ca-file={pki.ca}",
                "--controllers=*,-horizontalpodautoscaling",
                f"--cluster-cidr={POD_CIDR}",
                "--kube-api-qps=200",
                "--kube-api-burst=400",
                "--concurrent-replicaset-syncs=10",
                "--profiling=false",
            ],
            "kube-scheduler": [
                str(b / "kube-scheduler"),
                *component("scheduler"),
                f"--secure-port={layout.scheduler_port}",
                "--kube-api-qps=200",
                "--kube-api-burst=400",
                "--profiling=false",
            ],
            "kwok": [
                str(b / "kwok"),
                f"--kubeconfig={self._kubeconfig_path('kwok')}",
                f"--config={self.kwok_config}",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                "--node-ip=127.0.0.1",
                f"--node-port={layout.kubelet_port}",
                f"--server-address=127.0.0.1:{layout.kubelet_port}",
                "--node-lease-duration-seconds=40",
                f"--cidr={POD_CIDR}",
                "--enable-crds=Logs",
            ],
        }

    def _ports(self) -> dict[str, list[int]]:
        layout = self.layout
        return {
            "etcd": [layout.etcd_port, layout.etcd_peer_port],
            "kube-apiserver": [layout.k8s_port],
            "kube-controller-manager": [layout.controller_manager_port],
            "kube-scheduler": [layout.scheduler_port],
            "kwok": [layout.kubelet_port],
        }

    def pid(self, name: str) -> int | None:
        # this sandbox's, not the same binary another sandbox on the machine runs: every
        # component's command line names files below its folder
        return procs.read_pid(self.layout.pid_file(name), str(self.bin / name), f"{self.folder}/")

    def running(self) -> bool:
        return all(self.pid(name) for name in versions.COMPONENTS)

    def free_ports(self) -> list[tuple[int, str]]:
        """The ports a stopped component needs, for the sandbox's check before any slow step."""
        return [
            (port, f"sandbox {name}")
            for name, ports in self._ports().items()
            if not self.pid(name)
            for port in ports
        ]

    # -- bring it up, put it down -----------------------------------------------------------------
    def start(self, say) -> None:
        reason = self.unavailable()
        if reason:
            raise SandboxError(reason)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.pki.ensure()
        for name in CLIENTS:
            procs.write_private(
                self._kubeconfig_path(name),
                kubeconfig(
                    self.url,
                    self.pki.ca,
                    CONTEXT,
                    {
                        "client-certificate": str(self.pki.client_cert(name)),
                        "client-key": str(self.pki.client_key(name)),
                    },
                ),
            )
        if self._write_kwok_config() and self.pid("kwok"):
            # new stages (the sandbox's code changed): a new KWOK
            procs.stop_pid(self.pid("kwok") or 0)
        argv = self._argv()
        started = [name for name in ("etcd", "kube-apiserver") if self._spawn(name, argv[name])]
        if started:
            say(
                f"starting the Kubernetes control plane on {self.url} ({versions.KUBERNETES}, etcd"
                f" {versions.ETCD})"
            )
        procs.wait_until(
            self.ready,
            60,
            f"kube-apiserver's /readyz to say ok (see {self.layout.log_file('kube-apiserver')})",
            interval=0.2,
        )
        self._install_logs_definition()
        if not self.pid("kwok"):
            self._release_node_leases()
        for name in ("kube-controller-manager", "kube-scheduler", "kwok"):  # the three at once
            self._spawn(name, argv[name])

    def _spawn(self, name: str, argv: list[str]) -> bool:
        if self.pid(name):
            return False
        for port in self._ports()[name]:
            procs.ensure_port_free(port, f"sandbox {name}")
        procs.spawn(argv, self.layout.log_file(name), self.layout.pid_file(name))
        return True

    def ready(self) -> bool:
        for name in ("etcd", "kube-apiserver"):
            if not self.pid(name):
                raise SandboxError(f"{name} exited at start; its log: {self.layout.log_file(name)}")
        try:
            with self.admin() as admin:
                return admin.http.get("/readyz", timeout=2).text.strip() == "ok"
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        for name in reversed(versions.COMPONENTS):  # kwok first, etcd last
            pid = self.pid(name)
            if pid:
                procs.stop_pid(pid)

    # -- its configuration -----------------------------------------------------------------------
    def _kubeconfig_path(self, name: str) -> Path:
        return (
            self.layout.admin_kubeconfig_file
            if name == "admin"
            else self.folder / f"{name}.kubeconfig"
        )

    def admin(self) -> Admin:
        return Admin(
            self.url, self.pki.ca, self.pki.client_cert("admin"), self.pki.client_key("admin")
        )

    def _write_kwok_config(self) -> bool:
        """KWOK's stages and default logs, written for this sandbox; True when they changed."""
        self.empty_log.touch()
        text = resources.files("nbaverify.sandbox.kubernetes").joinpath("kwok.yaml").read_text()
        text = text.replace("__MISSING_IMAGE__", MISSING_IMAGE).replace(
            "__EMPTY_LOG__", str(self.empty_log)
        )
        if self.kwok_config.exists() and self.kwok_config.read_text() == text:
            return False
        self.kwok_config.write_text(text)
        return True

    def _release_node_leases(self) -> None:
        """A KWOK that starts waits out the leases a previous one held on the nodes (40 s) before it
        plays their kubelets; they are its own to renew, so the sandbox hands them over at once."""
        with self.admin() as admin:
            for lease in admin.items("coordination.k8s.io/v1", "Lease", "kube-node-lease"):
                admin.delete(
                    Key(
                        "coordination.k8s.io/v1",
                        "Lease",
                        "kube-node-lease",
                        lease["metadata"]["name"],
                    )
                )

    def _install_logs_definition(self) -> None:
        """KWOK reads which file is a pod's log from Logs objects (--enable-crds=Logs): their
        definition, written here as the API needs it (the group and kind KWOK watches; the fields
        are KWOK's to read).
        """
        definition = {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "logs.kwok.x-k8s.io"},
            "spec": {
                "group": "kwok.x-k8s.io",
                "scope": "Namespaced",
                "names": {
                    "kind": "Logs",
                    "listKind": "LogsList",
                    "plural": "logs",
                    "singular": "logs",
                },
                "versions": [
                    {
                        "name": "v1alpha1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                    }
                ],
            },
        }
        with self.admin() as admin:
            refused = admin.apply(definition)
            if refused:
                raise SandboxError(f"kubernetes {self.url} refused the Logs definition: {refused}")
            procs.wait_until(
                lambda: admin.get("/apis/kwok.x-k8s.io/v1alpha1") is not None,
                20,
                "the API server to serve the Logs definition",
            )
