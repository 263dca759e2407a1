"""The sandbox's generated secrets: role passwords and the JWT signing key (secrets.json, mode
600)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from nbaverify import procs
from nbaverify.sandbox import control
from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.postgres import DATABASE

ROLES = ("nba_app", "nbaverify_monitor", "replicator")
# what the API requires of tokens
TOKEN_ISSUER, TOKEN_AUDIENCE = "https://auth.nba-stats.sandbox", "nba-stats-api"

# The variables the sandbox's generated profile names (Contract 1: profiles name, never hold)
JWT_ENV = "NBAVERIFY_SANDBOX_JWT_SECRET"
PREVIOUS_JWT_ENV = "NBAVERIFY_SANDBOX_PREVIOUS_JWT_SECRET"  # the key the last rotation retired
PRIVATE_KEY_ENV = "NBAVERIFY_SANDBOX_JWT_PRIVATE_KEY"  # a key-pair variant's PEM private key
# and the one its last rotation retired
PREVIOUS_PRIVATE_KEY_ENV = "NBAVERIFY_SANDBOX_PREVIOUS_JWT_PRIVATE_KEY"
KEY_PAIR_ALGORITHMS = ("RS256", "ES256")  # the variants' jwt_alg choices besides HS256
DSN_ENV = "NBAVERIFY_SANDBOX_DB_DSN"
REPLICA_DSN_ENV = "NBAVERIFY_SANDBOX_DB_REPLICA_DSN"


def new_private_pem(algorithm: str, rsa_bits: int = 2048) -> str:
    """A new private key for `algorithm` (RSA of rsa_bits for RS256, P-256 for ES256), as PEM."""
    # heavy: cryptography, only when the sandbox makes or reads a key pair
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = (
        ec.generate_private_key(ec.SECP256R1())
        if algorithm == "ES256"
        else rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def public_pem(private_pem: str) -> str:
    """The public half of a PEM private key (what the platform verifies with), as PEM."""
    # heavy: cryptography, only when the sandbox makes or reads a key pair
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@dataclass(frozen=True)
class SandboxSecrets:
    """The sandbox's generated secrets: the API's JWT signing key and a password for each database
    role, kept in secrets.json (mode 600); `environ` gives the variables its profile names, as a
    user exports them for a real target. A variant that signs with a key pair (jwt_alg RS256, ES256)
    uses `private_keys` of that algorithm.
    """

    jwt_secret: str
    passwords: dict[str, str]
    # what the API verified with before its last rotation; no longer accepted
    previous_jwt_secret: str
    private_keys: dict[str, str]  # algorithm -> PEM private key
    # algorithm -> the PEM private key the last rotation retired
    previous_private_keys: dict[str, str]

    @classmethod
    def create(cls, layout: Layout) -> SandboxSecrets:
        made = cls(
            jwt_secret=secrets.token_urlsafe(32),
            passwords={role: secrets.token_urlsafe(18) for role in ROLES},
            previous_jwt_secret=secrets.token_urlsafe(32),
            private_keys={alg: new_private_pem(alg) for alg in KEY_PAIR_ALGORITHMS},
            previous_private_keys={alg: new_private_pem(alg) for alg in KEY_PAIR_ALGORITHMS},
        )
        made._save(layout)
        return made

    @classmethod
    def load(cls, layout: Layout) -> SandboxSecrets:
        raw = json.loads(layout.secrets_file.read_text())
        keys, previous = (
            dict(raw.get("private_keys", {})),
            dict(raw.get("previous_private_keys", {})),
        )
        loaded = cls(
            jwt_secret=raw["jwt_secret"],
            passwords=dict(raw["passwords"]),
            previous_jwt_secret=raw.get("previous_jwt_secret") or secrets.token_urlsafe(32),
            private_keys={
                alg: keys.get(alg) or new_private_pem(alg) for alg in KEY_PAIR_ALGORITHMS
            },
            previous_private_keys={
                alg: previous.get(alg) or new_private_pem(alg) for alg in KEY_PAIR_ALGORITHMS
            },
        )
        made_before = "previous_jwt_secret" not in raw or (keys, previous) != (
            loaded.private_keys,
            loaded.previous_private_keys,
        )
        if made_before:  # a sandbox made before there were these
            loaded._save(layout)
        return loaded

    def _save(self, layout: Layout) -> None:
        procs.write_private(
            layout.secrets_file,
            json.dumps(
                {
                    "jwt_secret": self.jwt_secret,
                    "previous_jwt_secret": self.previous_jwt_secret,
                    "passwords": self.passwords,
                    "private_keys": self.private_keys,
                    "previous_private_keys": self.previous_private_keys,
                },
                indent=2,
            ),
        )

    @classmethod
    def load_or_create(cls, layout: Layout) -> SandboxSecrets:
        return cls.load(layout) if layout.secrets_file.exists() else cls.create(layout)

    def signing_key(self, layout: Layout, algorithm: str) -> str:
        """What the platform signs its tokens with under `algorithm`: the secret, or the private key
        (a fault may put the platform on another; the profile's variable follows, as in a
        deploy)."""
        settings = control.read(layout.control_file).settings
        if algorithm.startswith("HS"):
            return settings.get("jwt_secret") or self.jwt_secret
        return settings.get("jwt_private_key") or self.private_keys[algorithm]

    def dsn(self, role: str, port: int) -> str:
        return f"postgresql://{role}:{self.passwords[role]}@127.0.0.1:{port}/{DATABASE}"

    def environ(self, layout: Layout, algorithm: str = "HS256") -> dict[str, str]:
        """The environment the sandbox's profile expects: what a user would export for a real target
        (the private key too where the variant signs with a key pair, `algorithm`)."""
        pair = (
            {}
            if algorithm.startswith("HS")
            else {
                PRIVATE_KEY_ENV: self.signing_key(layout, algorithm),
                PREVIOUS_PRIVATE_KEY_ENV: self.previous_private_keys[algorithm],
            }
        )
        return {
            JWT_ENV: self.signing_key(layout, "HS256"),
            PREVIOUS_JWT_ENV: self.previous_jwt_secret,
            **pair,
            DSN_ENV: self.dsn("nbaverify_monitor", layout.primary_port),
            REPLICA_DSN_ENV: self.dsn("nbaverify_monitor", layout.replica_port),
        }
