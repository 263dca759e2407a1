"""`python -m nbaverify.sandbox.api --state-dir DIR --port-base N`: serve the reference API."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import datetime as dt
import logging
import os
import signal
import socket
import ssl
import warnings

import uvicorn

from nbaverify.sandbox import control
from nbaverify.sandbox.api.app import ApiSettings, create_app
from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.secrets import TOKEN_AUDIENCE, TOKEN_ISSUER, SandboxSecrets


class GuideFormat(logging.Formatter):
    """The Node platform's lines (`logger.warn(...)`): ISO time, lower-case level, message;
    tracebacks follow."""

    LEVELS = {"WARNING": "warn", "CRITICAL": "fatal"}

    def format(self, record: logging.LogRecord) -> str:
        at = (
            dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z")
        )
        line = (
            f"{at} {self.LEVELS.get(record.levelname, record.levelname.lower())}"
            f" {record.getMessage()}"
        )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def main() -> None:
    layout = Layout.from_service_argv(__doc__)
    secrets = SandboxSecrets.load(layout)
    handler = logging.StreamHandler()
    handler.setFormatter(GuideFormat())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    app = create_app(
        ApiSettings(
            dsn=secrets.dsn("nba_app", layout.primary_port),
            replica_dsn=secrets.dsn("nba_app", layout.replica_port),
            jwt_secret=secrets.jwt_secret,
            previous_jwt_secret=secrets.previous_jwt_secret,
            control_file=str(layout.control_file),
            issuer=TOKEN_ISSUER,
            audience=TOKEN_AUDIENCE,
        )
    )
    switched = control.read(layout.control_file)  # TLS is set at start: its faults restart the API
    legacy_tls = switched.on("tls_legacy")
    # behind a TLS-terminating proxy (API_TLS=off): plain HTTP on API_PORT, the client's address
    # from the proxy's X-Forwarded-For (trusted from loopback only, as TRUST_PROXY says)
    tls = os.environ.get("API_TLS", "on") != "off"
    proxied = os.environ.get("TRUST_PROXY") == "1"
    ciphers = _ciphers(
        legacy_tls,
        switched.on("tls_null_cipher"),
        switched.settings.get("tls_ciphers"),
        switched.on("tls_weak_key"),
        switched.on("tls_sha1_signature"),
    )
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=int(os.environ.get("API_PORT", layout.api_port)),
        ssl_certfile=str(layout.cert_file) if tls else None,
        ssl_keyfile=str(layout.key_file) if tls else None,
        log_level="warning",
        access_log=False,
        log_config=None,  # uvicorn's own lines in the guide's format too
        server_header=False,
        timeout_graceful_shutdown=2,
        proxy_headers=proxied,
        forwarded_allow_ips="127.0.0.1" if proxied else None,
        ssl_ciphers=ciphers,
        ssl_context_factory=_ciphers_first(ciphers) if tls and ciphers else None,
    )
    config.load()
    if legacy_tls:  # the fault: a server that still offers TLS 1.0 and 1.1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            assert config.ssl is not None  # load() built it from the certificate above
            config.ssl.minimum_version = ssl.TLSVersion.TLSv1
    if switched.on("tls_no_1_3") and config.ssl is not None:
        # the fault: a server configured down to TLS 1.2
        config.ssl.maximum_version = ssl.TLSVersion.TLSv1_2
    if switched.on("rate_limit_per_process"):
        # the fault: a second instance on the one address, a limiter of its own
        _serve_as_two(config)
        return
    servers = [uvicorn.Server(config)]
    if tls:  # behind nginx (API_TLS=off) nginx redirects the host's plain HTTP instead
        plain = uvicorn.Config(
            _cleartext(app, control.Watcher(layout.control_file), layout.api_port),
            host="127.0.0.1",
            port=layout.api_http_port,
            lifespan="off",
            log_level="warning",
            access_log=False,
            log_config=None,
            server_header=False,
            timeout_graceful_shutdown=2,
        )
        servers.append(_Beside(plain))
    asyncio.run(_serve(servers))


def _serve_as_two(config: uvicorn.Config) -> None:
    """Two processes on the API's port, each with its own app (so its own limiter store), as two
    pods behind one Service: each binds the port with SO_REUSEPORT and the kernel spreads new
    connections between them. (The host's plain-HTTP redirect is left out: the fault concerns the
    limiter.)"""
    child = os.fork()
    if child == 0:
        # the instance ends with the one the sandbox started
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    uvicorn.Server(config).run(sockets=[_reused_port(config.host, config.port)])
    if child == 0:
        os._exit(0)
    os.kill(child, signal.SIGTERM)
    os.waitpid(child, 0)  # its socket closed before a restart binds the port again


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _reused_port(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


class _Beside(uvicorn.Server):
    """A second server in the same process: the first one owns the signals (and its app's
    lifespan)."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


async def _serve(servers: list[uvicorn.Server]) -> None:
    """Serve them all; when the first (the API) stops, stop the rest."""
    main, *others = servers
    tasks = [asyncio.create_task(server.serve()) for server in others]
    try:
        await main.serve()
    finally:
        for server in others:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)


def _cleartext(app, watcher: control.Watcher, https_port: int):
    """The host's plain HTTP (a team's port 80): every request redirected (308) to HTTPS, or under
    the cleartext_port fault the API itself served unencrypted."""

    async def serve(scope, receive, send):
        if scope["type"] == "http" and not watcher.current().on("cleartext_port"):
            host = (
                dict(scope["headers"])
                .get(b"host", b"127.0.0.1")
                .decode(errors="replace")
                .rsplit(":", 1)[0]
            )
            target = scope["path"] + (
                f"?{scope['query_string'].decode()}" if scope.get("query_string") else ""
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 308,
                    "headers": [
                        (b"location", f"https://{host}:{https_port}{target}".encode()),
                        (b"content-length", b"0"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)

    return serve


# Python's default server list (Modules/_ssl.c PY_SSL_DEFAULT_CIPHER_STRING) at OpenSSL's security
# level 1, Node's
PYTHON_CIPHERS_AT_LEVEL_1 = (
    "@SECLEVEL=1:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"
)


def _ciphers_first(ciphers: str):
    """uvicorn loads the certificate before it sets the ciphers, so a security level they lower (a
    1024-bit key loads at level 1, as in Node, not at Debian's 2) would come too late: here the
    ciphers go first."""

    def factory(config: uvicorn.Config, _default) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_ciphers(ciphers)
        context.load_cert_chain(str(config.ssl_certfile), str(config.ssl_keyfile))
        return context

    return factory


def _ciphers(
    legacy: bool, null: bool, chosen: str | None, weak_key: bool = False, sha1: bool = False
) -> str | None:
    """The server's cipher list: None (Python's own default), or a fault's."""
    if chosen:  # a fault's setting: uvicorn's own default list, say
        return chosen
    if sha1:  # the fault's SHA-1 signed certificate loads only at security level 0
        return PYTHON_CIPHERS_AT_LEVEL_1.replace("@SECLEVEL=1", "@SECLEVEL=0")
    if weak_key:
        # the fault's 1024-bit key loads only at security level 1: Python's own list at that level
        return PYTHON_CIPHERS_AT_LEVEL_1
    if null:  # the fault: NULL suites enabled, as a debugging setting left on
        return "HIGH:eNULL:@SECLEVEL=0"
    return "DEFAULT:@SECLEVEL=0" if legacy else None


if __name__ == "__main__":
    main()
