"""WS /ws/live as a client sees it (the `websockets` library's synchronous client)."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect

from nbaverify.clients.api import ApiClient
from nbaverify.errors import TargetUnreachable


@dataclass(frozen=True)
class LiveResult:
    accepted: bool
    detail: str            # the refusal (HTTP status / close code) or the first message
    seconds: float = 0.0   # until the first message


def ws_url(api: ApiClient, token: str | None) -> str:
    parts = urlsplit(api.base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = f"?{urlencode({'token': token})}" if token else ""
    return f"{scheme}://{parts.netloc}{api.ws_path}{query}"


def subscribe(api: ApiClient, token: str | None, wait_s: float) -> LiveResult:
    context = ssl.create_default_context(cafile=api.ca_file) if api.base_url.startswith("https") else None
    started = time.monotonic()
    try:
        with connect(ws_url(api, token), ssl=context, open_timeout=wait_s, close_timeout=1) as socket:
            message = socket.recv(timeout=wait_s)
            return LiveResult(True, str(message)[:120], time.monotonic() - started)
    except InvalidStatus as exc:
        return LiveResult(False, f"HTTP {exc.response.status_code}")
    except TimeoutError:
        return LiveResult(True, f"no message within {wait_s:g}s", time.monotonic() - started)
    except WebSocketException as exc:  # closed by the server, e.g. 1008 policy violation after accept
        return LiveResult(False, f"{type(exc).__name__}: {exc}")
    except OSError as exc:
        raise TargetUnreachable("WebSocket", ws_url(api, None), str(exc) or type(exc).__name__) from None
