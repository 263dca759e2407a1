"""Where the sandbox keeps its state and which ports it uses.

Everything lives under one state directory (default /tmp/nbaverify-sandbox, or
NBAVERIFY_SANDBOX_DIR) so that the unprivileged `postgres` account can reach its data, and
several sandboxes (a user's and the self-tests') can live side by side on different port bases.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

# one default: config finds the sandbox's profile there
from nbaverify.config import SANDBOX_DIR as DEFAULT_DIR
from nbaverify.errors import ConfigError

# below Linux's ephemeral range (32768-60999 by default): an outgoing connection never holds one of
# ours
DEFAULT_PORT_BASE = 25430


@dataclass(frozen=True)
class Layout:
    """Where one sandbox keeps its state and which ports it listens on: a state directory (`root`)
    and a port base.

    Every port is the base plus a fixed offset, so two sandboxes whose bases are 100 apart never
    collide; every file is a fixed path under the root: the PostgreSQL data, certificates, the
    deployed copies faults edit, secrets.json, control.json, state.json, the generated profile
    (target.toml, target.env), pid and log files. `from_env` reads NBAVERIFY_SANDBOX_DIR and
    NBAVERIFY_SANDBOX_PORT_BASE; each service process the sandbox starts is given the same layout on
    its command line (`from_service_argv`)."""

    root: Path
    port_base: int = DEFAULT_PORT_BASE

    @classmethod
    def from_env(cls, environ=None) -> Layout:
        environ = os.environ if environ is None else environ
        root = Path(environ.get("NBAVERIFY_SANDBOX_DIR") or DEFAULT_DIR)
        raw_base = environ.get("NBAVERIFY_SANDBOX_PORT_BASE") or str(DEFAULT_PORT_BASE)
        try:
            base = int(raw_base)
        except ValueError:
            base = -1
        if not 1024 <= base <= 65000:
            raise ConfigError(
                "NBAVERIFY_SANDBOX_PORT_BASE",
                None,
                f"must be a port number 1024..65000, got {raw_base!r}",
            )
        return cls(root=root, port_base=base)

    @classmethod
    def from_service_argv(cls, description: str) -> Layout:
        """The layout a sandbox service process was started with: --state-dir DIR --port-base N."""
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument("--state-dir", required=True, type=Path)
        parser.add_argument("--port-base", required=True, type=int)
        args = parser.parse_args()
        return cls(args.state_dir, args.port_base)

    # ports: one base, fixed offsets, so two sandboxes never collide when bases are 100 apart
    primary_port = property(lambda self: self.port_base + 2)
    replica_port = property(lambda self: self.port_base + 3)
    # the API host's plain HTTP (its port 80): redirects
    api_http_port = property(lambda self: self.port_base + 12)
    api_port = property(lambda self: self.port_base + 13)
    # the API itself, when nginx terminates TLS
    api_upstream_port = property(lambda self: self.port_base + 14)
    # the public ingress: where users reach the API
    api_public_port = property(lambda self: self.port_base + 15)
    k8s_port = property(lambda self: self.port_base + 20)  # kube-apiserver
    etcd_port = property(lambda self: self.port_base + 21)  # etcd's clients (the API server only)
    etcd_peer_port = property(lambda self: self.port_base + 22)
    controller_manager_port = property(lambda self: self.port_base + 23)  # its health and metrics
    scheduler_port = property(lambda self: self.port_base + 24)
    kubelet_port = property(lambda self: self.port_base + 25)  # KWOK's kubelet endpoint: pod logs
    prometheus_port = property(lambda self: self.port_base + 60)
    node_exporter_port = property(lambda self: self.port_base + 61)
    postgres_exporter_port = property(lambda self: self.port_base + 62)
    alertmanager_port = property(lambda self: self.port_base + 63)
    # where the sandbox's receivers deliver (webhooks)
    alert_sink_port = property(lambda self: self.port_base + 64)
    alert_smtp_port = property(lambda self: self.port_base + 65)  # and its email (SMTP)
    # the second Alertmanager of the cluster
    alertmanager_peer_port = property(lambda self: self.port_base + 66)
    # the cluster's gossip, first instance
    alertmanager_gossip_port = property(lambda self: self.port_base + 67)
    alertmanager_peer_gossip_port = property(lambda self: self.port_base + 68)  # and second
    ssh_host_port = property(lambda self: self.port_base + 69)  # the sandbox's own host, over SSH
    # the SYNTHETIC per-pod exporter (--scale N > 1)
    pod_exporter_port = property(lambda self: self.port_base + 70)

    pg_dir = property(lambda self: self.root / "pg")
    primary_data = property(lambda self: self.root / "pg" / "primary")
    replica_data = property(lambda self: self.root / "pg" / "replica")
    socket_dir = property(lambda self: self.root / "pg" / "run")
    backups_dir = property(lambda self: self.root / "pg" / "backups")
    tls_dir = property(lambda self: self.root / "tls")
    ca_file = property(lambda self: self.root / "tls" / "ca.pem")
    cert_file = property(lambda self: self.root / "tls" / "api.pem")
    key_file = property(lambda self: self.root / "tls" / "api.key")
    prometheus_dir = property(lambda self: self.root / "prometheus")
    k8s_dir = property(lambda self: self.root / "k8s")
    # the deployed copy faults edit
    k8s_manifests = property(lambda self: self.root / "k8s" / "manifests")
    # the platform's build as deployed: its lockfile, the copy faults edit (the Node API's,
    # whichever API serves)
    api_lockfile = property(lambda self: self.root / "platform" / "api" / "package-lock.json")
    # the verifier's: what checks use
    kubeconfig_file = property(lambda self: self.root / "k8s" / "kubeconfig")
    # the sandbox's own
    admin_kubeconfig_file = property(lambda self: self.root / "k8s" / "admin.kubeconfig")
    run_dir = property(lambda self: self.root / "run")
    log_dir = property(lambda self: self.root / "log")
    secrets_file = property(lambda self: self.root / "secrets.json")
    control_file = property(lambda self: self.root / "control.json")
    state_file = property(lambda self: self.root / "state.json")
    target_file = property(lambda self: self.root / "target.toml")
    env_file = property(lambda self: self.root / "target.env")
    scale_file = property(lambda self: self.root / "scale")  # the --scale the sandbox was seeded at

    def pid_file(self, service: str) -> Path:
        return self.run_dir / f"{service}.pid"

    def log_file(self, service: str) -> Path:
        return self.log_dir / f"{service}.log"
