"""The sandbox's generated secrets: role passwords and the JWT signing key (secrets.json, mode 600)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from nbaverify import procs
from nbaverify.sandbox import control
from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.postgres import DATABASE

ROLES = ("nba_app", "nbaverify_monitor", "replicator")
TOKEN_ISSUER, TOKEN_AUDIENCE = "https://auth.nba-stats.sandbox", "nba-stats-api"  # what the API requires of tokens

# The variables the sandbox's generated profile names (Contract 1: profiles name, never hold)
JWT_ENV = "NBAVERIFY_SANDBOX_JWT_SECRET"
PREVIOUS_JWT_ENV = "NBAVERIFY_SANDBOX_PREVIOUS_JWT_SECRET"  # the key the last rotation retired
DSN_ENV = "NBAVERIFY_SANDBOX_DB_DSN"
REPLICA_DSN_ENV = "NBAVERIFY_SANDBOX_DB_REPLICA_DSN"


@dataclass(frozen=True)
class SandboxSecrets:
    """The sandbox's generated secrets: the API's JWT signing key and a password for each database role, kept in
    secrets.json (mode 600); `environ` gives the variables its profile names, as a user exports them for a real
    target."""
    jwt_secret: str
    passwords: dict[str, str]
    previous_jwt_secret: str  # what the API verified with before its last rotation; no longer accepted

    @classmethod
    def create(cls, layout: Layout) -> SandboxSecrets:
        made = cls(jwt_secret=secrets.token_urlsafe(32), passwords={role: secrets.token_urlsafe(18) for role in ROLES},
                   previous_jwt_secret=secrets.token_urlsafe(32))
        made._save(layout)
        return made

    @classmethod
    def load(cls, layout: Layout) -> SandboxSecrets:
        raw = json.loads(layout.secrets_file.read_text())
        loaded = cls(jwt_secret=raw["jwt_secret"], passwords=dict(raw["passwords"]),
                     previous_jwt_secret=raw.get("previous_jwt_secret") or secrets.token_urlsafe(32))
        if "previous_jwt_secret" not in raw:  # a sandbox made before there was one
            loaded._save(layout)
        return loaded

    def _save(self, layout: Layout) -> None:
        procs.write_private(layout.secrets_file, json.dumps({
            "jwt_secret": self.jwt_secret, "previous_jwt_secret": self.previous_jwt_secret, "passwords": self.passwords},
            indent=2))

    @classmethod
    def load_or_create(cls, layout: Layout) -> SandboxSecrets:
        return cls.load(layout) if layout.secrets_file.exists() else cls.create(layout)

    def dsn(self, role: str, port: int) -> str:
        return f"postgresql://{role}:{self.passwords[role]}@127.0.0.1:{port}/{DATABASE}"

    def environ(self, layout: Layout) -> dict[str, str]:
        """The environment the sandbox's profile expects: what a user would export for a real target."""
        # a fault may run the platform on another secret; the profile's variable follows, as in a deploy
        jwt_secret = control.read(layout.control_file).settings.get("jwt_secret") or self.jwt_secret
        return {
            JWT_ENV: jwt_secret,
            PREVIOUS_JWT_ENV: self.previous_jwt_secret,
            DSN_ENV: self.dsn("nbaverify_monitor", layout.primary_port),
            REPLICA_DSN_ENV: self.dsn("nbaverify_monitor", layout.replica_port),
        }
