"""What every scenario shares: the run's configuration (written by `nbaverify load`), the traffic
mix, and per-user JWTs. Read by Locust processes only: nbaverify never imports this directory."""

from __future__ import annotations

import json
import os
import random
import ssl
import time
from functools import cache

import jwt


@cache
def config() -> dict:
    """The run's settings: NBAVERIFY_LOAD_CONFIG names a JSON file the runner wrote (no secret in
    it)."""
    with open(os.environ["NBAVERIFY_LOAD_CONFIG"]) as fh:
        return json.load(fh)


def ssl_context() -> ssl.SSLContext:
    ca_file = config().get("ca_file")
    return ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()


def mint_token(user_number: int, ttl_s: int = 3600) -> str:
    """A valid token per virtual user, signed as the platform signs (HS256, or a key pair's
    algorithm) with the key the runner passes in the environment (the secret, or the PEM private
    key)."""
    now = int(time.time())
    return jwt.encode(
        {
            "sub": f"nbaverify-load-{user_number}",
            "iat": now,
            "exp": now + ttl_s,
            **config()["claims"],
        },
        os.environ["NBAVERIFY_LOAD_JWT_SECRET"],
        algorithm=config().get("algorithm", "HS256"),
    )


# the platform's traffic: request name (dynamic ids grouped) -> how to build the path
def _pick(kind: str) -> int:
    """An id the platform has (discovered by the runner), or one from the configured range."""
    ids = config()["ids"]
    if ids.get("ranges"):
        return random.randint(*ids[kind])
    return random.choice(ids[kind])


def _player() -> int:
    return _pick("players")


def _game() -> int:
    return _pick("games")


ENDPOINTS = {
    "players": (
        "GET /api/players",
        lambda: f"/api/players?limit=20&offset={random.randrange(0, 400, 20)}",
        "list",
    ),
    "player": ("GET /api/players/[id]", lambda: f"/api/players/{_player()}", "object"),
    "player_stats": (
        "GET /api/players/[id]/stats",
        lambda: f"/api/players/{_player()}/stats?season=2024",
        "list",
    ),
    "projections": (
        "GET /api/projections/[player_id]",
        lambda: f"/api/projections/{_player()}",
        "object",
    ),
    "game_stats": ("GET /api/games/[id]/stats", lambda: f"/api/games/{_game()}/stats", "list"),
    "health": ("GET /health", lambda: "/health", "health"),
}


def pick() -> tuple[str, str, str]:
    """One request of the mix, by the weights in the expectations: (name, path, expected shape)."""
    weights = config()["weights"]
    key = random.choices(list(weights), weights=list(weights.values()))[0]
    name, path, shape = ENDPOINTS[key]
    return name, path(), shape


def problem(status: int, body: bytes | None, shape: str) -> str | None:
    """Why a response is wrong, in a few words (the failure's name in the report), or None."""
    if status == 429:
        return "429 rate limited: allowlist the load generator"
    if status == 404 and config()["ids"].get("ranges"):
        # the id came from expectations.load.ids, not from the platform: the scenario's guess, not
        # its error
        return (
            "HTTP 404 for an id from expectations.load.ids (the scenario's id; the platform may"
            " never have had it)"
        )
    if status != 200:
        return f"HTTP {status}"
    try:
        data = json.loads(body or b"null")
    except ValueError:
        return "200 without JSON"
    if shape == "health" and data.get("status") != "ok":
        return f"health says {data.get('status')!r}"
    if shape == "list" and not isinstance(data, (list, dict)):
        return "200 with an unexpected body"
    if shape == "object" and not isinstance(data, dict):
        return "200 with an unexpected body"
    return None
