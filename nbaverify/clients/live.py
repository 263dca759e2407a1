"""WS /ws/live as a client sees it: the I/O behind ApiClient.subscribe, counted in the run's I/O.

websocket-client's synchronous WebSocket: one thread, every step under the socket timeout, so a
verdict (a refusal, the first message, silence) always comes within the wait and a close that
the server never completes cannot hold the run. (The `websockets` sync client, used before, joins
a receive thread on close; on loopback TLS that join was seen to hang past any bound.)
"""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import websocket

from nbaverify.clients.tls import certificate_problem
from nbaverify.errors import TargetUnreachable, TargetUntrusted
from nbaverify.io_stats import IO


@dataclass(frozen=True)
class LiveResult:
    """What one WS /ws/live subscription got: accepted or refused, the refusal (HTTP status, close)
    or the first message, and the seconds until that message."""

    accepted: bool
    detail: str  # the refusal (HTTP status / close code) or the first message
    seconds: float = 0.0  # until the first message
    status: int | None = None  # the HTTP status of a handshake refused before the upgrade


def ws_url(api, token: str | None) -> str:
    parts = urlsplit(api.base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = f"?{urlencode({'token': token})}" if token else ""
    return f"{scheme}://{parts.netloc}{api.ws_path}{query}"


def subscribe(api, token: str | None, wait_s: float, in_header: bool = False) -> LiveResult:
    """Connect, wait for the first message, close; each step bounded by wait_s. The token goes as
    `?token=`, or with in_header as `Authorization: Bearer` on the upgrade request."""
    where = ws_url(api, None)
    known = api.unreachable()
    if isinstance(known, TargetUnreachable):
        # the same server: learned by an HTTP check, no handshake to wait out
        raise known  # (an untrusted certificate is the WebSocket's to report in its own words)
    sslopt = {"cert_reqs": ssl.CERT_REQUIRED, **({"ca_certs": api.ca_file} if api.ca_file else {})}
    started = time.monotonic()
    with IO.timed("websocket"):
        try:
            header = [f"Authorization: Bearer {token}"] if in_header and token else None
            ws = websocket.create_connection(
                ws_url(api, None if in_header else token),
                timeout=wait_s,
                sslopt=sslopt,
                header=header,
            )
        except websocket.WebSocketBadStatusException as exc:
            return LiveResult(False, f"HTTP {exc.status_code}", status=exc.status_code)
        except websocket.WebSocketTimeoutException:
            raise TargetUnreachable(
                "WebSocket", where, f"no handshake within {wait_s:g}s"
            ) from None
        except (OSError, websocket.WebSocketException) as exc:
            untrusted = certificate_problem(exc)
            if untrusted:
                raise TargetUntrusted("WebSocket", where, untrusted) from None
            raise TargetUnreachable("WebSocket", where, str(exc) or type(exc).__name__) from None
        try:
            message = ws.recv()
            return LiveResult(True, str(message)[:120], time.monotonic() - started)
        except websocket.WebSocketTimeoutException:
            return LiveResult(True, f"no message within {wait_s:g}s", time.monotonic() - started)
        except websocket.WebSocketConnectionClosedException as exc:
            # accepted, then closed: e.g. 1008 policy
            return LiveResult(False, f"closed by the server after the handshake ({exc})")
        finally:
            try:
                ws.close(timeout=1)
            except (OSError, websocket.WebSocketException):
                pass  # the verdict is in: closing is best effort
