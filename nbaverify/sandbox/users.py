"""The sandbox's users: a steady trickle of a few clients reading the API, as a platform in use has.

    python -m nbaverify.sandbox.users --state-dir DIR --port-base N

Six users, each a client of its own address (on this machine's loopback) with a token of its own
(subject `sandbox`, as the profile's known subjects list it), take turns: one request every 2 s in
all, so each sends one every 12 s, 75 per 15 minutes, under the platform's limit of 100. They read
what a user reads, in a fixed mix (`MIX`). With them, a check can tell other clients' requests from
the suite's own (the rate limiter's view of a client), and the metrics carry traffic the suite did
not send. A request that fails (a fault, the API restarting) is let go; the log says when the users
stop getting answers and when they get them again.
"""

from __future__ import annotations

import itertools
import random
import ssl
import time

import httpx
import jwt

from nbaverify.sandbox import control, variants
from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.secrets import TOKEN_AUDIENCE, TOKEN_ISSUER, SandboxSecrets

# 127.0.0.3 is also the first user's (manager.SANDBOX_USER); .2 and .6 are the log faults' intruder
# and outsider
ADDRESSES = ("127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.7", "127.0.0.8", "127.0.0.9")
EVERY_S = 2.0
TOKEN_TTL_S = 600
# what the users read, in turn: ten requests, the player list most of all ({n}: an id drawn each
# time)
MIX = (
    "/api/players?limit=25",
    "/api/players/{n}",
    "/api/projections/{n}",
    "/api/players?limit=25",
    "/api/players/{n}/stats?season=2024",
    "/api/games/{n}/stats",
    "/api/players?limit=25",
    "/api/projections/{n}",
    "/api/players/{n}",
    "/api/players?limit=25",
)
# a control.json setting (the traffic_shifted fault): the one route users read
ONLY_ROUTE = "users_only_route"


class User:
    """One client: its own address, its own token (signed anew before it expires)."""

    def __init__(
        self,
        number: int,
        address: str,
        base_url: str,
        tls: ssl.SSLContext,
        secret: str,
        algorithm: str = "HS256",
    ):
        self.name, self.secret, self.algorithm = f"user {number}", secret, algorithm
        self.http = httpx.Client(
            base_url=base_url,
            timeout=5,
            headers={"user-agent": "nbaverify-sandbox-user"},
            transport=httpx.HTTPTransport(local_address=address, verify=tls),
        )
        self.token, self.renew_at = "", 0.0

    def get(self, path: str) -> int:
        now = time.time()
        if now >= self.renew_at:
            self.token = jwt.encode(
                {
                    "sub": "sandbox",
                    "iat": int(now),
                    "exp": int(now) + TOKEN_TTL_S,
                    "iss": TOKEN_ISSUER,
                    "aud": TOKEN_AUDIENCE,
                },
                self.secret,
                algorithm=self.algorithm,
            )
            self.renew_at = now + TOKEN_TTL_S / 2
        return self.http.get(path, headers={"authorization": f"Bearer {self.token}"}).status_code


def sign_in(layout: Layout) -> list[User]:
    """The users with the sandbox's CA and signing key as they are now (a key pair where its variant
    signs so)."""
    tls = ssl.create_default_context(cafile=str(layout.ca_file))
    made = SandboxSecrets.load(layout)
    algorithm = variants.recorded(layout.state_file)["jwt_alg"]
    secret = made.jwt_secret if algorithm == "HS256" else made.private_keys[algorithm]
    return [
        User(n, address, f"https://127.0.0.1:{layout.api_port}", tls, secret, algorithm)
        for n, address in enumerate(ADDRESSES, start=1)
    ]


def _stamp(layout: Layout) -> tuple[int, ...]:
    """When the CA, the secrets and the sandbox's state (its variant) were last written: a
    certificate fault's revert makes a new PKI, a variant may sign with a key pair."""
    return tuple(
        path.stat().st_mtime_ns if path.exists() else 0
        for path in (layout.ca_file, layout.secrets_file, layout.state_file)
    )


def main() -> None:
    layout = Layout.from_service_argv(__doc__)
    stamp, users = _stamp(layout), sign_in(layout)
    ids = random.Random(7)
    answered = None
    switched = control.Watcher(layout.control_file)
    for number, path in enumerate(itertools.cycle(MIX)):
        started = time.monotonic()
        if _stamp(layout) != stamp:
            # trust the new CA, sign with the new secret (the old clients' sockets closed)
            for old in users:
                old.http.close()
            stamp, users = _stamp(layout), sign_in(layout)
        user = users[number % len(users)]
        # traffic_shifted: every user reads one route
        path = switched.current().settings.get(ONLY_ROUTE) or path
        try:
            status = user.get(path.format(n=ids.randint(1, 400)))
            ok, why = status < 500, f"HTTP {status}"
        except httpx.HTTPError as exc:
            ok, why = False, f"{type(exc).__name__}: {exc}"
        if ok != answered:
            print(
                f"{time.strftime('%Y-%m-%dT%H:%M:%S')} users:"
                f" {'answered' if ok else 'not answered'} ({user.name}, GET {path}: {why})",
                flush=True,
            )
            answered = ok
        time.sleep(max(0.0, EVERY_S - (time.monotonic() - started)))


if __name__ == "__main__":
    main()
