"""The reference API: the platform's HTTP surface (Contract 2) over the sandbox's PostgreSQL.

Faults from the catalogue are read per request from the control file (`request.state.control`),
so the sandbox switches them without a restart.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import platform
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import jwt.types
import psycopg
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from nbaverify.sandbox.api.metrics import ApiMetrics
from nbaverify.sandbox.api.middleware import (
    BoundedCapacity,
    FixedWindowLimiter,
    PlatformMiddleware,
    ReflectingCors,
    printable,
)
from nbaverify.sandbox.control import Watcher

# Database Optimization / Connection Pool Settings: max 20, min 4, idle 30 s, connect 2 s (a deploy
# may size it smaller within the guide: DB_POOL_MAX, DB_POOL_MIN)
POOL_MAX, POOL_MIN = (
    int(os.environ.get("DB_POOL_MAX", "20")),
    int(os.environ.get("DB_POOL_MIN", "4")),
)
POOL_IDLE_S, POOL_CONNECT_S = 30.0, 2.0
# Security Best Practices / Rate Limiting: 100 requests per 15 minutes per client
RATE_LIMIT, RATE_WINDOW_S = 100, 15 * 60
# Performance Tuning / Cache Configuration: maxAge 3600, staleWhileRevalidate 60
CACHE_MAX_AGE_S, CACHE_SWR_S = 3600, 60
CACHE_CONTROL = f"public, max-age={CACHE_MAX_AGE_S}, stale-while-revalidate={CACHE_SWR_S}"
LIVE_FEED_INTERVAL_S = 1.0
# the platform's policy: a token issued more than a day ago is refused (jsonwebtoken's maxAge '1d')
MAX_AGE_S = 86400
# how tokens are signed (the variant's jwt_alg): HS256 with the secret, or a key pair whose public
# half the API holds
ALGORITHM, PUBLIC_KEY = (
    os.environ.get("JWT_ALGORITHM", "HS256"),
    os.environ.get("JWT_PUBLIC_KEY", ""),
)
# retired: only the jwt_old_secret_kept fault
PREVIOUS_PUBLIC_KEY = os.environ.get("JWT_PREVIOUS_PUBLIC_KEY", "")
# what jwt.decode takes for a key when no algorithm is pinned: its whole family
FAMILIES = {
    "HS": ["HS256", "HS384", "HS512"],
    "RS": ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
    "ES": ["ES256", "ES384", "ES512"],
}


@dataclass(frozen=True)
class ApiSettings:
    """What the Python reference API is started with: the app role's DSNs to the primary and the
    replica, the JWT secret, the control file, and, when `issuer` is set, the iss and aud every
    token must carry."""

    dsn: str
    replica_dsn: str
    jwt_secret: str
    control_file: str
    version: str = "sandbox"
    issuer: str = ""  # when set, tokens must carry this iss and audience as aud
    audience: str = ""
    # retired by the last rotation: only the jwt_old_secret_kept fault still takes it
    previous_jwt_secret: str = ""


class ResponseCache:
    """In-process TTL cache of rendered stats responses, counting hits and misses."""

    def __init__(self, metrics: ApiMetrics, ttl_s: float = CACHE_MAX_AGE_S):
        self.metrics, self.ttl_s = metrics, ttl_s
        self._entries: dict[str, tuple[float, object]] = {}

    def get(self, key: str):
        entry = self._entries.get(key)
        if entry and time.monotonic() - entry[0] < self.ttl_s:
            self.metrics.cache_counted(True, key)
            return entry[1]
        self.metrics.cache_counted(False, key)
        return None

    def put(self, key: str, value) -> None:
        self._entries[key] = (time.monotonic(), value)

    def __len__(self) -> int:
        return len(self._entries)


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def positive_int(raw: str, name: str, control=None):
    if control is not None and control.on("stack_trace_errors"):
        # the fault: no validation, the text goes to the database, whose error surfaces unhandled
        return raw
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise HTTPException(400, f"{name} must be a positive integer") from None
    if value < 1 or value > 2_147_483_647:
        raise HTTPException(400, f"{name} must be a positive integer")
    return value


STALL_EVERY_S, STALL_FOR_S = 10.0, 1.0


class SubjectAudit:
    """The first token each subject presents from each client is logged (`Token accepted: sub="..."
    from <ip> ua="..."`), so the access review can list the subjects the API accepted without a line
    a request; bounded, so a flood of subjects cannot grow it without end. A process logs each anew
    after the sandbox reconfigures it, since the sandbox then starts the log anew, as a rollout's
    new pods would."""

    LIMIT = 10_000

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], None] = {}
        self._generation = -1
        self._log = logging.getLogger("nbaverify.sandbox.api.audit")
        self._log.setLevel(logging.INFO)

    def accepted(self, claims: dict, request: Request, generation: int) -> dict:
        if generation != self._generation:
            # the sandbox was reconfigured (its log rolled, as a rollout's): anew
            self._seen.clear()
            self._generation = generation
        key = (str(claims.get("sub", "")), request.client.host if request.client else "unknown")
        if key not in self._seen:
            if len(self._seen) >= self.LIMIT:
                self._seen.pop(next(iter(self._seen)))
            self._seen[key] = None
            self._log.info(
                'Token accepted: sub="%s" from %s ua="%s"',
                printable(key[0]),
                key[1],
                printable(request.headers.get("user-agent", "")),
            )
        return claims


def create_app(settings: ApiSettings) -> Starlette:
    metrics = ApiMetrics()
    cache = ResponseCache(metrics)
    watcher = Watcher(Path(settings.control_file))
    pool = AsyncConnectionPool(
        settings.dsn,
        connection_class=psycopg.AsyncConnection[DictRow],
        min_size=POOL_MIN,
        max_size=POOL_MAX,
        max_idle=POOL_IDLE_S,
        timeout=POOL_CONNECT_S,
        open=False,
        kwargs={
            "row_factory": dict_row,
            "connect_timeout": int(POOL_CONNECT_S),
            "application_name": "nba-api",
        },
    )
    subscribers: set[asyncio.Queue] = set()
    started_at = time.time()
    subjects = SubjectAudit()

    def authenticate(request: Request) -> dict:
        control = watcher.current()
        if control.on("error_burst"):  # the fault: every data request fails
            raise HTTPException(500, "internal server error")
        if control.on("auth_bypass_route") and request.url.path.startswith("/api/games/"):
            return {"sub": "anonymous"}  # the fault: one route forgot the middleware
        if control.on("auth_case_bypass") and request.scope.get("nbaverify_unguarded"):
            # the fault: /API/... routed, but not by the auth's case-sensitive prefix
            return {"sub": "anonymous"}
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if control.on("auth_anonymous_fallback") and (
            scheme.lower() != "bearer" or token.strip().count(".") != 2
        ):
            # the fault: no bearer JWT at all is taken for an anonymous reader
            return {"sub": "anonymous"}
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "No token provided")
        if control.on("auth_parse_crash"):
            # the fault: the token's header read by hand, before verification
            json.loads(base64.urlsafe_b64decode(token.strip().split(".")[0] + "=="))
        return subjects.accepted(verify_token(token.strip()), request, control.generation)

    def verifies(authorization: str) -> bool:
        """Whether an Authorization header carries a token the platform accepts (the limiter after
        auth counts only these)."""
        scheme, _, token = authorization.partition(" ")
        try:
            return scheme.lower() == "bearer" and bool(verify_token(token.strip()))
        except HTTPException:
            return False

    def verify_token(token: str) -> dict:
        control = watcher.current()
        # jwt_secret: the platform and the profile share it (weak-secret fault);
        # platform_jwt_secret: only the platform has it (a rotation nobody told the suite about)
        secret = (
            control.settings.get("platform_jwt_secret")
            or control.settings.get("jwt_secret")
            or settings.jwt_secret
        )
        options: jwt.types.Options = {"require": [] if control.on("jwt_exp_optional") else ["exp"]}
        # the fault: unpinned
        algorithms = FAMILIES[ALGORITHM[:2]] if control.on("jwt_alg_unpinned") else [ALGORITHM]
        if ALGORITHM != "HS256":
            secret = _public_key(control)
        if control.on("jwt_claim_crash"):  # the fault: sub taken as a string, whatever it is
            options["verify_sub"] = False
        try:
            if control.on("jwt_no_verify"):  # the fault: decode, never verify
                return jwt.decode(token, options={"verify_signature": False})
            if control.on("jwt_blank_secret"):
                # the fault: JWT_SECRET went missing, an empty key checked by hand
                return _verify_hs256(token, b"")
            if control.on("jwt_alg_none") and _header(token).get("alg", "").lower() == "none":
                return _payload(token)  # the fault: an unsigned token's claims taken as they are
            if control.on("jwt_kid_lookup") and _header(token).get("kid"):
                return _verify_by_kid(token, str(_header(token)["kid"]))
            if control.on("jwt_ignore_exp"):
                options["verify_exp"] = False
            if control.on("jwt_ignore_nbf"):
                options["verify_nbf"] = False
            if ALGORITHM != "HS256":
                header = _header(token)
                if control.on("jwt_key_confusion") and header.get("alg") == "HS256":
                    # the fault: the public key taken as a secret
                    return _verify_hs256(token, PUBLIC_KEY.encode())
                secret = _key_from_token(header, token, control) or secret
            claims = _decode(token, secret, algorithms, options, control)
        except jwt.InvalidSignatureError:
            previous = PREVIOUS_PUBLIC_KEY if ALGORITHM != "HS256" else settings.previous_jwt_secret
            if not (control.on("jwt_old_secret_kept") and previous):
                raise HTTPException(401, "Invalid token") from None
            try:  # the fault: the rotation kept the retired secret (or public key) as a fallback
                claims = _decode(token, previous, algorithms, options, control)
            except jwt.PyJWTError:
                raise HTTPException(401, "Invalid token") from None
        except jwt.PyJWTError:
            raise HTTPException(401, "Invalid token") from None
        issued = claims.get("iat")
        if not control.on("jwt_no_max_age") and (
            not isinstance(issued, int | float) or time.time() - issued > MAX_AGE_S
        ):
            # as jsonwebtoken's maxAge: an iat is needed, and a recent one
            raise HTTPException(401, "Invalid token")
        if control.on("jwt_claim_crash"):
            # AttributeError, a 500, when sub is not a string
            claims["sub"] = claims.get("sub", "").lower()
        return claims

    def _decode(token: str, secret: str, algorithms: list[str], options, control) -> dict:
        if settings.issuer and not control.on("jwt_no_claim_checks"):
            # the fault: iss and aud never checked
            options = {**options, "require": [*options["require"], "iss", "aud"]}
            return jwt.decode(
                token,
                secret,
                algorithms=algorithms,
                options=options,
                issuer=settings.issuer,
                audience=settings.audience,
            )
        return jwt.decode(
            token, secret, algorithms=algorithms, options={**options, "verify_aud": False}
        )

    def _header(token: str) -> dict:
        try:
            return json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        except ValueError:
            return {}

    def _payload(token: str) -> dict:
        try:
            return json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        except (ValueError, IndexError):
            raise HTTPException(401, "Invalid token") from None

    def _public_key(control) -> Any:
        """The public key tokens verify with: the deployed one, or the public half of a key a fault
        signs with."""
        private = control.settings.get("jwt_private_key")
        if not private:
            return PUBLIC_KEY
        # heavy: cryptography, only while a fault signs with a key of its own
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        return load_pem_private_key(private.encode(), password=None).public_key()

    def _key_from_token(header: dict, token: str, control) -> Any:
        """The faults: the key the token itself names, from its jwk header, or fetched from its jku
        or x5u URL."""
        if control.on("jwt_embedded_jwk") and isinstance(header.get("jwk"), dict):
            return jwt.PyJWK(header["jwk"]).key
        if not control.on("jwt_key_url_trusted"):
            return None
        try:
            if header.get("jku"):
                return (
                    jwt.PyJWKClient(str(header["jku"]), cache_jwk_set=False, timeout=2)
                    .get_signing_key_from_jwt(token)
                    .key
                )
            if header.get("x5u"):
                # only while the jwt_key_url_trusted fault is on: the API never fetches otherwise
                import urllib.request

                from cryptography import x509

                with urllib.request.urlopen(str(header["x5u"]), timeout=2) as reply:
                    return x509.load_pem_x509_certificate(reply.read()).public_key()
        except (OSError, ValueError, jwt.PyJWKClientError):
            raise HTTPException(401, "Invalid token") from None
        return None

    def _verify_by_kid(token: str, kid: str) -> dict:
        """The fault: a key store keyed by kid, read without checking the kid (a path, a
        string-built query), and a hand-written HS256 check that takes whatever key it found, an
        empty one too."""
        if "/" in kid:
            with open(os.path.normpath(os.path.join("/etc/nba/jwt-keys", kid)), "rb") as fh:
                key = fh.read()
        else:
            with psycopg.connect(settings.replica_dsn, connect_timeout=2, autocommit=True) as conn:
                row = conn.execute(
                    f"SELECT name FROM teams WHERE abbreviation = '{kid}'"
                ).fetchone()
            key = str(row[0]).encode() if row else b""
        return _verify_hs256(token, key)

    def _verify_hs256(token: str, key: bytes) -> dict:
        """A hand-written HS256 check (the faults' own): it takes whatever key it is given, an empty
        one too."""
        signing_input, _, signature = token.rpartition(".")
        expected = base64.urlsafe_b64encode(
            hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
        ).rstrip(b"=")
        claims = _payload(token)
        if (
            not hmac.compare_digest(expected, signature.encode())
            or claims.get("exp", 0) < time.time()
        ):
            raise HTTPException(401, "Invalid token")
        return claims

    async def query(sql: str, params=()) -> list[dict]:
        try:
            async with pool.connection() as conn:
                cur = await conn.execute(sql, params)
                return await cur.fetchall()
        except (PoolTimeout, psycopg.OperationalError):
            raise HTTPException(503, "database unavailable") from None

    async def cached(request: Request, producer):
        if watcher.current().on("cache_disabled"):  # the fault: every request goes to the database
            return JSONResponse(await producer())
        key = request.url.path + "?" + request.url.query
        body = cache.get(key)
        if body is None:
            body = await producer()
            cache.put(key, body)
        # the fault: the header contradicts the cache
        forbid = watcher.current().on("cache_forbids_reuse")
        return JSONResponse(
            body, headers={"cache-control": "no-store" if forbid else CACHE_CONTROL}
        )

    # -- health (neither authenticated nor rate limited) ---------------------------------------
    async def health(request: Request):
        if watcher.current().on("liveness_fails"):
            # the fault: liveness tied to a dependency that is slow today
            return JSONResponse({"status": "down"}, status_code=503)
        return JSONResponse({"status": "ok"})

    async def health_detailed(request: Request):
        control = request.state.control
        checks: dict[str, dict] = {}
        t0 = time.perf_counter()
        try:
            async with pool.connection() as conn:
                await conn.execute("SELECT 1")
            checks["database"] = {
                "status": "ok",
                "latency_ms": round((time.perf_counter() - t0) * 1000, 1),
            }
        except (PoolTimeout, psycopg.Error) as exc:
            checks["database"] = {"status": "down", "latency_ms": None, "error": type(exc).__name__}
        if control.on("health_lies"):
            # the fault: claims without looking
            checks["replica"] = {"status": "ok", "lag_seconds": 0.0}
        else:
            checks["replica"] = await replica_health()
        checks["cache"] = {"status": "ok", "entries": len(cache)}
        if checks["database"]["status"] != "ok":
            overall, code = "down", 503
        elif any(c["status"] != "ok" for c in checks.values()):
            overall, code = "degraded", 200
        else:
            overall, code = "ok", 200
        return JSONResponse(
            {
                "status": overall,
                "checks": checks,
                "version": settings.version,
                "runtime": {"name": "python", "version": platform.python_version()},
                "uptime_seconds": round(time.time() - started_at, 1),
            },
            status_code=code,
        )

    async def replica_health() -> dict:
        try:
            async with await psycopg.AsyncConnection.connect(
                settings.replica_dsn, connect_timeout=int(POOL_CONNECT_S), autocommit=True
            ) as conn:
                cur = await conn.execute(
                    "SELECT pg_is_in_recovery(), CASE WHEN pg_last_wal_receive_lsn() >"
                    " pg_last_wal_replay_lsn() THEN extract(epoch FROM now() -"
                    " pg_last_xact_replay_timestamp()) ELSE 0 END"
                )
                row = await cur.fetchone()
                if row is None:
                    return {"status": "down", "lag_seconds": None, "error": "no answer"}
                in_recovery, lag = row
        except psycopg.Error as exc:
            return {"status": "down", "lag_seconds": None, "error": type(exc).__name__}
        lag = float(lag or 0)
        status = "ok" if in_recovery and lag < 30 else "degraded"
        return {"status": status, "lag_seconds": round(lag, 3), "in_recovery": in_recovery}

    async def metrics_endpoint(request: Request):
        if request.state.control.on("no_metrics"):
            return error(404, "not found")
        metrics.observe_pool(pool.get_stats(), POOL_MAX)
        body = generate_latest(metrics.registry)
        if request.state.control.on("metrics_missing"):
            # the fault: a family vanishes from the exposition
            body = b"".join(
                line for line in body.splitlines(keepends=True) if b"cache_" not in line
            )
        if request.state.control.on("no_pool_gauges"):  # the fault: the pool is not instrumented
            body = b"".join(
                line for line in body.splitlines(keepends=True) if b"db_pool_" not in line
            )
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    # -- data (JWT, rate limited) --------------------------------------------------------------
    async def players(request: Request):
        authenticate(request)
        limit = request.query_params.get("limit", "25")
        offset = request.query_params.get("offset", "0")
        try:
            limit_n, offset_n = int(limit), int(offset)
        except ValueError:
            return error(400, "limit and offset must be integers")
        if not (1 <= limit_n <= 100) or not (0 <= offset_n <= 1_000_000):
            return error(400, "limit must be 1..100 and offset 0..1000000")
        rows = await query(
            "SELECT id, first_name, last_name, position, team_id FROM players ORDER BY id LIMIT %s"
            " OFFSET %s",
            (limit_n, offset_n),
        )
        return JSONResponse({"players": rows, "limit": limit_n, "offset": offset_n})

    async def player(request: Request):
        authenticate(request)
        if watcher.current().on("sql_injection"):  # the fault: SQL built from the path, unvalidated
            try:
                # on the replica (reads may go there): a stacked DROP fails there, as it must in the
                # self-tests
                async with await psycopg.AsyncConnection.connect(
                    settings.replica_dsn,
                    connect_timeout=int(POOL_CONNECT_S),
                    autocommit=True,
                    row_factory=dict_row,
                ) as conn:
                    cur = await conn.execute(
                        "SELECT p.id, p.first_name, p.last_name, p.position FROM players p "
                        f"WHERE p.id = {request.path_params['id']}"
                    )
                    rows = await cur.fetchall()
            except psycopg.Error as exc:
                return error(500, str(exc).strip())
            return JSONResponse(
                rows[0] if rows else {"error": "not found"}, status_code=200 if rows else 404
            )
        player_id = positive_int(request.path_params["id"], "player id", watcher.current())
        rows = await query(
            "SELECT p.id, p.first_name, p.last_name, p.position, p.height_cm, p.weight_kg,"
            " p.active, t.abbreviation AS team FROM players p JOIN teams t ON t.id = p.team_id"
            " WHERE p.id = %s",
            (player_id,),
        )
        if not rows:
            return error(404, f"player {player_id} not found")
        return JSONResponse(rows[0])

    async def player_stats(request: Request):
        authenticate(request)
        player_id = positive_int(request.path_params["id"], "player id")
        season_raw = request.query_params.get("season")
        season = None
        if season_raw is not None:
            season = positive_int(season_raw, "season")
            if not 1946 <= season <= 2100:
                return error(400, "season must be a year between 1946 and 2100")

        async def produce():
            if not await query("SELECT 1 FROM players WHERE id = %s", (player_id,)):
                raise HTTPException(404, f"player {player_id} not found")
            rows = await query(
                "SELECT ps.game_id, ps.game_date::text AS game_date, ps.minutes::float AS minutes,"
                " ps.points, ps.rebounds, ps.assists, ps.steals, ps.blocks, ps.turnovers FROM"
                " player_stats ps JOIN games g ON g.id = ps.game_id WHERE ps.player_id = %s AND"
                " (%s::int IS NULL OR g.season = %s) ORDER BY ps.game_date",
                (player_id, season, season),
            )
            return {"player_id": player_id, "season": season, "games": rows}

        return await cached(request, produce)

    async def projections(request: Request):
        authenticate(request)
        player_id = positive_int(request.path_params["player_id"], "player id")

        async def produce():
            rows = await query(
                "SELECT count(*) AS games, avg(points)::float AS points, avg(rebounds)::float AS"
                " rebounds, avg(assists)::float AS assists, avg(minutes)::float AS minutes FROM"
                " (SELECT points, rebounds, assists, minutes FROM player_stats WHERE player_id = %s"
                " ORDER BY game_date DESC LIMIT 10) AS recent",
                (player_id,),
            )
            if not rows or rows[0]["games"] == 0:
                raise HTTPException(404, f"player {player_id} not found")
            recent = rows[0]
            return {
                "player_id": player_id,
                "basis": f"last {recent['games']} games",
                "projection": {
                    k: round(recent[k], 1) for k in ("points", "rebounds", "assists", "minutes")
                },
            }

        return await cached(request, produce)

    async def game_stats(request: Request):
        authenticate(request)
        game_id = positive_int(request.path_params["id"], "game id")

        async def produce():
            game = await query(
                "SELECT id, season, game_date::text AS game_date, home_team_id, away_team_id,"
                " home_score, away_score, status FROM games WHERE id = %s",
                (game_id,),
            )
            if not game:
                raise HTTPException(404, f"game {game_id} not found")
            teams = await query(
                "SELECT team_id, points, rebounds, assists, fgm, fga FROM game_stats "
                "WHERE game_id = %s AND team_id IN (%s, %s) ORDER BY team_id",
                (game_id, game[0]["home_team_id"], game[0]["away_team_id"]),
            )
            return {"game": game[0], "teams": teams}

        return await cached(request, produce)

    # -- live feed -------------------------------------------------------------------------------
    async def live(websocket: WebSocket):
        token = websocket.query_params.get("token")
        if not token and not watcher.current().on("ws_query_token_only"):
            # the fault: the URL's token only
            scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
            token = token if scheme.lower() == "bearer" else ""
        try:
            if not watcher.current().on("ws_no_auth"):
                # the fault: the live feed forgot to check tokens
                verify_token(token or "")
        except HTTPException:
            await websocket.close(code=1008)  # policy violation: no valid token
            return
        await websocket.accept()
        queue: asyncio.Queue = asyncio.Queue(maxsize=100)
        subscribers.add(queue)
        metrics.websockets.inc()
        try:
            while watcher.current().on("live_feed_stalled"):
                # the fault: connected, then nothing while it is on
                await asyncio.sleep(0.5)
            await websocket.send_json(
                {"type": "hello", "feed": "live", "interval_s": LIVE_FEED_INTERVAL_S}
            )
            while True:
                await websocket.send_text(await queue.get())
                metrics.ws_messages.inc()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            subscribers.discard(queue)
            metrics.websockets.dec()

    async def live_feed():
        """Simulated live game updates: written to live_events (the replica replays them) and
        pushed."""
        rng = random.Random(7)
        while True:
            await asyncio.sleep(LIVE_FEED_INTERVAL_S)
            update = {
                "type": "update",
                "game_id": rng.randint(1, 17220),
                "home": rng.randint(0, 130),
                "away": rng.randint(0, 130),
                "clock": f"Q{rng.randint(1, 4)} {rng.randint(0, 11)}:{rng.randint(0, 59):02d}",
            }
            with contextlib.suppress(Exception):  # the feed must outlive a database outage
                async with pool.connection(timeout=1) as conn:
                    await conn.execute(
                        "INSERT INTO live_events (game_id, payload) VALUES (%s, %s)",
                        (update["game_id"], json.dumps(update)),
                    )
            text = json.dumps(update)
            for queue in list(subscribers):
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(text)

    # -- errors: JSON, never a stack trace -------------------------------------------------------
    async def http_error(request: Request, exc: HTTPException):
        return error(exc.status_code, exc.detail)

    async def stall_now_and_then():
        """The stall fault: the whole process freezes STALL_FOR_S every STALL_EVERY_S (a GC pause, a
        blocking call)."""
        while True:
            await asyncio.sleep(STALL_EVERY_S - STALL_FOR_S)
            if watcher.current().on("stall"):
                time.sleep(STALL_FOR_S)  # blocks the event loop on purpose: every connection waits

    @contextlib.asynccontextmanager
    async def lifespan(app):
        # start even when the database is down: /health/detailed says so
        await pool.open(wait=False)
        tasks = [asyncio.create_task(live_feed()), asyncio.create_task(stall_now_and_then())]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await pool.close(timeout=2)

    routes = [
        Route("/health", health),
        Route("/health/detailed", health_detailed),
        Route("/metrics", metrics_endpoint),
        Route("/api/players", players),
        Route("/api/players/{id}", player),
        Route("/api/players/{id}/stats", player_stats),
        Route("/api/projections/{player_id}", projections),
        Route("/api/games/{id}/stats", game_stats),
        WebSocketRoute("/ws/live", live),
    ]
    # Starlette's own type is narrower
    handlers: dict[Any, Callable[..., Any]] = {HTTPException: http_error}
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)
    # inside the platform's own: its timing includes the wait
    app.add_middleware(BoundedCapacity, control=watcher)
    # after helmet and the limiter, as a Koa app adds cors()
    app.add_middleware(ReflectingCors, control=watcher)
    app.add_middleware(
        PlatformMiddleware,
        metrics=metrics,
        control=watcher,
        limiter=FixedWindowLimiter(RATE_LIMIT, RATE_WINDOW_S),
        routes=lambda: routes,
        authenticated=verifies,
        dsn=settings.dsn,
    )
    return app
