"""The control plane's certificates, as a real cluster has them: a cluster CA of its own (apart from
the CA of the API's certificate), the API server's serving certificate, a client certificate for
each component and for the sandbox's administrator, and the key pair that signs service-account
tokens.

Made once a state directory, kept under <state>/k8s/pki (keys readable by root only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import yaml

# the names the API server answers to: loopback here, and the in-cluster names a client may use
SERVER_NAMES = (
    "127.0.0.1",
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
# who each component is to the authorizer (CN = user, O = group): the identities kubeadm gives them
CLIENTS = {
    "admin": ("nbaverify-sandbox-admin", "system:masters"),
    "controller-manager": ("system:kube-controller-manager", None),
    "scheduler": ("system:kube-scheduler", None),
    # it plays every kubelet: node and pod status, leases
    "kwok": ("nbaverify-kwok", "system:masters"),
}


@dataclass(frozen=True)
class Pki:
    """The sandbox cluster's certificates and keys, in one folder (<state>/k8s/pki): the cluster CA,
    the API server's serving pair, a client pair for each identity of CLIENTS, and the pair that
    signs service-account tokens; `ensure` makes what is missing."""

    folder: Path

    ca = property(lambda self: self.folder / "ca.pem")
    server_cert = property(lambda self: self.folder / "apiserver.pem")
    server_key = property(lambda self: self.folder / "apiserver.key")
    service_account_key = property(lambda self: self.folder / "service-account.key")
    service_account_pub = property(lambda self: self.folder / "service-account.pub")

    def client_cert(self, name: str) -> Path:
        return self.folder / f"{name}.pem"

    def client_key(self, name: str) -> Path:
        return self.folder / f"{name}.key"

    def ready(self) -> bool:
        return all(
            p.exists()
            for p in (
                self.ca,
                self.server_cert,
                self.server_key,
                self.service_account_key,
                *(self.client_key(name) for name in CLIENTS),
            )
        )

    def ensure(self, valid_days: int = 3650) -> None:
        """Make whatever is missing (all of it, the first time)."""
        if self.ready():
            return
        # optional: the sandbox extra (trustme, and cryptography with it)
        import trustme
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.folder.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.UTC)
        since, until = now - dt.timedelta(hours=1), now + dt.timedelta(days=valid_days)
        ca = trustme.CA(organization_name="nbaverify sandbox cluster")
        ca.cert_pem.write_to_path(str(self.ca))
        server = ca.issue_cert(
            *SERVER_NAMES, common_name="kube-apiserver", not_before=since, not_after=until
        )
        self._write(server, self.server_cert, self.server_key)
        for name, (user, group) in CLIENTS.items():
            leaf = ca.issue_cert(
                f"{name}.nbaverify-sandbox",
                common_name=user,
                organization_name=group,
                not_before=since,
                not_after=until,
            )
            self._write(leaf, self.client_cert(name), self.client_key(name))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.service_account_key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        self.service_account_key.chmod(0o600)
        self.service_account_pub.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    @staticmethod
    def _write(leaf, cert: Path, key: Path) -> None:
        cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
        leaf.private_key_pem.write_to_path(str(key))
        key.chmod(0o600)


def kubeconfig(server: str, ca: Path, context: str, user: dict) -> str:
    """A kubeconfig of one cluster, one user (a client certificate, or a token) and one context."""
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": context,
            "clusters": [
                {"name": context, "cluster": {"server": server, "certificate-authority": str(ca)}}
            ],
            "users": [{"name": context, "user": user}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        },
        sort_keys=False,
    )
