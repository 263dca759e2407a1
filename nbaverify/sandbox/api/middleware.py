"""What wraps every response of the reference API: timing, security headers, metrics, rate limits.

One pure-ASGI middleware rather than a stack of BaseHTTPMiddleware layers: the load tests of
the quarterly report run against this server and should measure the platform, not our glue.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import os
import time
import traceback
from collections.abc import Callable

from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Match

from nbaverify.sandbox.api.metrics import ApiMetrics
from nbaverify.sandbox.control import Watcher

log = logging.getLogger("nbaverify.sandbox.api")
# a variant's: a line a request (see access_logger)
ACCESS_LOG = os.environ.get("ACCESS_LOG") == "combined"
SLOW_API_S = 1.2
RATE_SHORT_WINDOW_S = 60  # the rate_limit_short_window fault: windowMs of a minute, not 15
# the rate_limit_route_gap fault: the route the limiter does not cover
ROUTE_GAP_PREFIX = "/api/projections/"
# logged with the client, as OWASP's logging guidance asks of auth failures
REFUSALS = frozenset({401, 403, 429})

# What helmet() sets by default (Security Best Practices / Data Sanitization: app.use(helmet()))
HELMET_HEADERS = [
    (
        b"content-security-policy",
        (
            b"default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action"
            b" 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src"
            b" 'self';script-src-attr 'none';style-src 'self' https:"
            b" 'unsafe-inline';upgrade-insecure-requests"
        ),
    ),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"origin-agent-cluster", b"?1"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-dns-prefetch-control", b"off"),
    (b"x-download-options", b"noopen"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-permitted-cross-domain-policies", b"none"),
    (b"x-xss-protection", b"0"),
]


def _helmet_headers(control) -> list[tuple[bytes, bytes]]:
    """helmet()'s headers, as its options configure them (the hsts_short and referrer_leak faults
    change two)."""
    changed = {}
    if control.on("hsts_short"):
        # helmet({ strictTransportSecurity: { maxAge: 15552000, includeSubDomains: false } })
        changed[b"strict-transport-security"] = b"max-age=15552000"
    if control.on("referrer_leak"):  # helmet({ referrerPolicy: { policy: 'unsafe-url' } })
        changed[b"referrer-policy"] = b"unsafe-url"
    return [(name, changed.get(name, value)) for name, value in HELMET_HEADERS]


class FixedWindowLimiter:
    """express-rate-limit's default: a fixed window per client, `max` requests per `window_s`."""

    def __init__(self, limit: int, window_s: float):
        self.limit, self.window_s = limit, window_s
        self._windows: dict[str, tuple[float, int]] = {}
        self._generation = -1

    def hit(
        self, client: str, generation: int, now: float, window_s: float | None = None
    ) -> tuple[bool, int, int]:
        """Count a request; returns (allowed, remaining, seconds until the window resets). window_s:
        another window than the configured one (the rate_limit_short_window fault)."""
        window_s = window_s or self.window_s
        if generation != self._generation:  # the sandbox was reconfigured: start clean windows
            self._windows.clear()
            self._generation = generation
        start, count = self._windows.get(client, (now, 0))
        if now - start >= window_s:
            start, count = now, 0
        count += 1
        self._windows[client] = (start, count)
        reset = max(0, round(start + window_s - now))
        return count <= self.limit, max(0, self.limit - count), reset


class PlatformMiddleware:
    """Wraps every HTTP request of the Python reference API (pure ASGI; WebSockets pass through):
    the rate limit on /api/ by client, helmet's headers and X-Response-Time, the request metrics,
    the slow-response and refusal log lines, and JSON for an unhandled error. The faults in the
    control file change these per request (no_rate_limit, ...).
    """

    def __init__(
        self,
        app,
        *,
        metrics: ApiMetrics,
        control: Watcher,
        limiter: FixedWindowLimiter,
        routes: Callable[[], list],
        authenticated: Callable[[str], bool],
        limited_prefix: str = "/api/",
        dsn: str = "",
    ):
        self.app, self.metrics, self.control, self.limiter = app, metrics, control, limiter
        self.dsn, self.authenticated = dsn, authenticated
        self.routes, self.limited_prefix = routes, limited_prefix

    def _route_of(self, scope) -> str:
        for route in self.routes():
            match, _ = route.matches(scope)
            if match == Match.FULL:
                return route.path
        return "unmatched"

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            return await self._upgrade(
                scope, receive, _logging_upgrade(scope, send, self.control.current())
            )
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        control = self.control.current()
        path = scope["path"]
        if (
            control.on("auth_case_bypass")
            and path.lower().startswith(self.limited_prefix)
            and not path.startswith(self.limited_prefix)
        ):
            # the fault: the router matches paths case-insensitively; auth and limiter go by a
            # case-sensitive prefix
            scope = {
                **scope,
                "path": path.lower(),
                "raw_path": path.lower().encode(),
                "nbaverify_unguarded": True,
            }
        if (
            control.on("health_any_method")
            and path == "/health"
            and scope["method"] not in ("GET", "HEAD")
        ):
            # the fault: /health registered for every method, as router.all does
            scope = {**scope, "method": "GET"}
        scope.setdefault("state", {})["control"] = control
        method, route = scope["method"], self._route_of(scope)
        status_holder = {"status": 500}
        rate_headers: list[tuple[bytes, bytes]] = []

        if self._limits(scope, control):
            allowed, rate_headers = self._count(scope, control)
            if not allowed:
                return await self._reply(
                    send,
                    429,
                    {"error": "Too many requests, please try again later."},
                    rate_headers,
                    started,
                    control,
                    method,
                    route,
                    scope,
                )

        if control.on("trace_enabled") and method == "TRACE":
            # the fault: the request echoed back (Cross-Site Tracing)
            return await self._echo(send, scope, rate_headers, started, control, route)

        if scope["path"].startswith(self.limited_prefix):
            if control.on("slow_api"):
                # the fault: every data request stalls past the guide's 1000 ms line
                await asyncio.sleep(SLOW_API_S)
            _log_faults(
                control, self.dsn, dict(scope["headers"]).get(b"authorization", b"").decode()
            )

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                status_holder["started"] = True
                headers = list(message.get("headers", []))
                headers.extend(self._decorations(started, control, rate_headers, message["status"]))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except Exception:
            # JSON, never a stack trace (Contract 2); inside this middleware so 500s keep their
            # headers
            log.exception("unhandled error on %s", scope["path"])
            if not status_holder.get("started") and control.on("stack_trace_errors"):
                return await self._reply(
                    send,
                    500,
                    {"error": traceback.format_exc()},
                    rate_headers,
                    started,
                    control,
                    method,
                    route,
                    scope,
                )
            if not status_holder.get("started"):
                return await self._reply(
                    send,
                    500,
                    {"error": "internal server error"},
                    rate_headers,
                    started,
                    control,
                    method,
                    route,
                    scope,
                )
            raise
        self._observe(method, route, status_holder["status"], started, scope)

    def _count(self, scope, control) -> tuple[bool, list[tuple[bytes, bytes]]]:
        """The limiter's verdict on this request and its headers (none for an allowlisted
        client)."""
        client = _client(scope, control)
        if client in control.allowlist and not control.on("allowlist_lost"):
            # the fault: the entry went missing
            return True, []
        window = RATE_SHORT_WINDOW_S if control.on("rate_limit_short_window") else None
        allowed, remaining, reset = self.limiter.hit(
            client, control.generation, time.monotonic(), window
        )
        headers = [
            (b"ratelimit-limit", str(self.limiter.limit).encode()),
            (b"ratelimit-remaining", str(remaining).encode()),
            (b"ratelimit-reset", str(reset).encode()),
        ]
        if not allowed and not control.on("rate_limit_no_retry_after"):
            headers.append((b"retry-after", str(reset).encode()))
        return allowed, headers

    async def _upgrade(self, scope, receive, send):
        """A WebSocket upgrade counts against the client's window as a request does; past the limit
        it is refused 429 before the handshake (ASGI's websocket.http.response). Under
        rate_limit_ws_gap it is handled beside the limiter, as Koa and Express hand `upgrade` events
        to ws without their middleware."""
        control = self.control.current()
        if control.on("no_rate_limit") or control.on("rate_limit_ws_gap"):
            return await self.app(scope, receive, send)
        allowed, rate_headers = self._count(scope, control)
        if allowed:
            return await self.app(scope, receive, send)
        await receive()  # websocket.connect
        payload = json.dumps({"error": "Too many requests, please try again later."}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
            *rate_headers,
            *_helmet_headers(control),
        ]
        await send({"type": "websocket.http.response.start", "status": 429, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": payload})

    def _limits(self, scope, control) -> bool:
        """Whether the limiter counts this request: every /api/ request, unless a fault keeps some
        out."""
        path = scope["path"]
        if (
            not path.startswith(self.limited_prefix)
            or control.on("no_rate_limit")
            or scope.get("nbaverify_unguarded")
        ):
            return False
        if control.on("rate_limit_route_gap") and path.startswith(ROUTE_GAP_PREFIX):
            return False  # the fault: a route mounted beside the limited router, not under it
        if control.on("rate_limit_after_auth"):
            # the fault: the limiter registered after the JWT middleware
            return self.authenticated(
                dict(scope["headers"]).get(b"authorization", b"").decode(errors="replace")
            )
        return True

    def _decorations(
        self, started: float, control, rate_headers, status: int
    ) -> list[tuple[bytes, bytes]]:
        if control.on("no_security_headers"):
            # the fault: no helmet(), and the framework announces itself
            headers = [*rate_headers, (b"x-powered-by", b"Express")]
        elif status >= 400 and control.on("error_headers_dropped"):
            # the fault: an error reply rebuilt without them
            headers = list(rate_headers)
        else:
            headers = list(rate_headers) + _helmet_headers(control)
        if control.on("server_version_leak"):  # the fault: a proxy in front announces itself
            headers.append((b"server", b"nginx/1.22.1"))
        if not control.on("no_response_time_header"):
            # the guide's middleware: ctx.set('X-Response-Time', `${ms}ms`) (Response Time
            # Optimization)
            elapsed_ms = (time.perf_counter() - started) * 1000
            headers.append((b"x-response-time", f"{elapsed_ms:.0f}ms".encode()))
        return headers

    async def _echo(self, send, scope, rate_headers, started, control, route):
        """TRACE answered as a debugging handler would: 200, the request line and headers back as
        message/http."""
        target = scope["path"] + (
            f"?{scope['query_string'].decode()}" if scope.get("query_string") else ""
        )
        lines = [
            f"TRACE {target} HTTP/{scope.get('http_version', '1.1')}",
            *(
                f"{name.decode()}: {value.decode(errors='replace')}"
                for name, value in scope["headers"]
            ),
            "",
        ]
        payload = "\r\n".join(lines).encode()
        headers = [
            (b"content-type", b"message/http"),
            (b"content-length", str(len(payload)).encode()),
        ]
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": headers + self._decorations(started, control, rate_headers, 200),
            }
        )
        await send({"type": "http.response.body", "body": payload})
        self._observe("TRACE", route, 200, started, scope)

    async def _reply(
        self, send, status, body, extra_headers, started, control, method, route, scope
    ):
        payload = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ]
        headers += self._decorations(started, control, extra_headers, status)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        self._observe(method, route, status, started, scope)

    def _observe(self, method: str, route: str, status: int, started: float, scope) -> None:
        elapsed = time.perf_counter() - started
        path = scope["path"]
        if elapsed > 1.0:
            # the guide's timing middleware: logger.warn(`Slow response: ${ctx.path} took ${ms}ms`)
            log.warning("Slow response: %s took %dms", path, elapsed * 1000)
        if status in REFUSALS and path.startswith(self.limited_prefix):
            # the access review reads these
            client = (scope.get("client") or ("unknown", 0))[0]
            agent = dict(scope["headers"]).get(b"user-agent", b"").decode(errors="replace")
            log.warning(
                'Access refused: %d %s %s from %s ua="%s"',
                status,
                method,
                path,
                client,
                printable(agent),
            )
        self.metrics.requests.labels(method, route, str(status)).inc()
        self.metrics.duration.labels(method, route).observe(elapsed)
        control = self.control.current()
        if ACCESS_LOG or control.on("access_log_query"):
            access_logger().info(access_line(scope, method, status, control))


@functools.cache
def access_logger() -> logging.Logger:
    """The access log's own logger: the bare line, no time or level before it, as morgan('combined')
    prints."""
    logger = logging.getLogger("nbaverify.sandbox.api.access")
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def access_line(scope, method: str, status: int, control) -> str:
    """One request in the combined format, the path without its query (a token in a URL never lands
    in the log); under the access_log_query fault with it, as nginx's combined format writes the
    request line."""
    headers = dict(scope["headers"])
    client = (scope.get("client") or ("-", 0))[0]
    when = dt.datetime.now(dt.UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    query = scope.get("query_string") or b""
    target = scope["path"] + (
        f"?{query.decode(errors='replace')}" if query and control.on("access_log_query") else ""
    )
    referer, agent = (
        printable(headers.get(name, b"-").decode(errors="replace"))
        for name in (b"referer", b"user-agent")
    )
    return (
        f'{client} - - [{when}] "{method} {target} HTTP/{scope.get("http_version", "1.1")}"'
        f' {status} - "{referer}" "{agent}"'
    )


# how an upgrade ends, as the access log writes its status: accepted, closed before it (uvicorn
# answers 403), or refused
UPGRADE_STATUS = {"websocket.accept": 101, "websocket.close": 403}


def _logging_upgrade(scope, send, control):
    """`send` for a WebSocket upgrade that writes its access line once the handshake's outcome is
    sent."""
    if not (ACCESS_LOG or control.on("access_log_query")):
        return send
    logged = False

    async def logging_send(message):
        nonlocal logged
        status = (
            message.get("status")
            if message["type"] == "websocket.http.response.start"
            else UPGRADE_STATUS.get(message["type"])
        )
        if status and not logged:
            logged = True
            access_logger().info(access_line(scope, "GET", status, control))
        await send(message)

    return logging_send


class ReflectingCors:
    """The cors_reflect fault: Starlette's own CORSMiddleware allowing any origin with credentials
    (as Koa's `cors({ origin: ctx => ctx.get('Origin'), credentials: true })` does), in the chain
    only while the fault is on.
    """

    def __init__(self, app, *, control: Watcher):
        self.app, self.control = app, control
        self.reflecting = CORSMiddleware(
            app,
            allow_origin_regex=".*",
            allow_credentials=True,
            allow_methods=["GET"],
            allow_headers=["authorization"],
        )

    async def __call__(self, scope, receive, send):
        reflect = scope["type"] == "http" and self.control.current().on("cors_reflect")
        return await (self.reflecting if reflect else self.app)(scope, receive, send)


class BoundedCapacity:
    """The capacity_limited setting: requests are served by a fixed number of slots, each held for a
    fixed service time (or the real work, if longer), so the API's capacity is slots / service time,
    known in advance. The reply is held back until the slot is given up: a request waiting for a
    slot waits in its latency. /metrics is exempt (Prometheus's scrapes are not part of the
    load)."""

    def __init__(self, app, *, control: Watcher):
        self.app, self.control = app, control
        self._slots: tuple[int, asyncio.Semaphore] | None = None

    def _semaphore(self, slots: int) -> asyncio.Semaphore:
        if self._slots is None or self._slots[0] != slots:
            self._slots = (slots, asyncio.Semaphore(slots))
        return self._slots[1]

    async def __call__(self, scope, receive, send):
        limit = (
            self.control.current().settings.get("capacity_limited")
            if scope["type"] == "http"
            else None
        )
        if not limit or scope["path"] == "/metrics":
            return await self.app(scope, receive, send)
        held: list[dict] = []

        async def hold(message):
            held.append(message)

        async with self._semaphore(int(limit["slots"])):
            started = time.perf_counter()
            try:
                await self.app(scope, receive, hold)
            finally:
                await asyncio.sleep(
                    max(0.0, limit["service_ms"] / 1000 - (time.perf_counter() - started))
                )
        for message in held:
            await send(message)


def _client(scope, control) -> str:
    """Who the limiter counts: the peer (the proxy's X-Forwarded-For when uvicorn trusts it), or
    under the rate_limit_trusts_xff fault the leftmost X-Forwarded-For whoever sent it, as Koa's
    `app.proxy = true` reads it; under rate_limit_shared_bucket one key for all, as an API behind an
    ingress whose X-Forwarded-For it does not trust sees every user as the ingress's address."""
    if control.on("rate_limit_shared_bucket"):
        return "ingress"
    if control.on("rate_limit_trusts_xff"):
        forwarded = (
            dict(scope["headers"])
            .get(b"x-forwarded-for", b"")
            .decode(errors="replace")
            .split(",")[0]
            .strip()
        )
        if forwarded:
            return forwarded
    return (scope.get("client") or ("unknown", 0))[0]


def _log_faults(control, dsn: str, authorization: str) -> None:
    """The log faults: a cache the API cannot reach, said on every data request (the request is
    still served). The traced one says too much, as careless code does: the connection string and
    the caller's token; log_tokens writes the caller's Authorization header with every data
    request."""
    if control.on("log_errors"):
        log.error("Cache error: connect ECONNREFUSED 127.0.0.1:6379 (serving from the database)")
    if control.on("log_tokens"):  # a request log that writes the caller's Authorization header
        log.warning(
            'Request: authorization="%s"',
            "".join(c if c.isprintable() and c != '"' else "_" for c in authorization)[:400],
        )
    if control.on("log_stack_traces"):
        try:
            raise ConnectionRefusedError(
                f"cache refresh failed (db {dsn}, request authorization {authorization})"
            )
        except ConnectionRefusedError:
            log.exception("cache refresh failed")


def printable(text: str) -> str:
    """A header as a log may quote it: no quotes or control characters to forge a line with."""
    return "".join(c if c.isprintable() and c != '"' else "_" for c in text)[:120]
