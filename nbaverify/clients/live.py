"""WS /ws/live as a client sees it (the `websockets` library's synchronous client): the I/O behind
ApiClient.subscribe, counted in the run's I/O like every other call to the target."""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import connect

from nbaverify.errors import TargetUnreachable, TargetUntrusted
from nbaverify.io_stats import IO


@dataclass(frozen=True)
class LiveResult:
    accepted: bool
    detail: str            # the refusal (HTTP status / close code) or the first message
    seconds: float = 0.0   # until the first message


def ws_url(api, token: str | None) -> str:
    parts = urlsplit(api.base_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    query = f"?{urlencode({'token': token})}" if token else ""
    return f"{scheme}://{parts.netloc}{api.ws_path}{query}"


def subscribe(api, token: str | None, wait_s: float) -> LiveResult:
    """Connect, wait for the first message, close. Bounded as a whole: the verdict is known as soon as the
    first message (or refusal) arrives, and a close the server never completes cannot hold the run."""
    outcome: list[LiveResult | Exception] = []
    done = threading.Event()

    def attempt() -> None:
        try:
            _subscribe(api, token, wait_s, outcome, done)
        except Exception as exc:  # noqa: BLE001 - handed to the caller's thread below
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=attempt, name="nbaverify-ws-probe", daemon=True).start()
    with IO.timed("websocket"):
        finished = done.wait(2 * wait_s + 5)
    if not finished:
        raise TargetUnreachable("WebSocket", ws_url(api, None), f"no handshake, message or refusal within {2 * wait_s + 5:g}s")
    if isinstance(outcome[0], Exception):
        raise outcome[0]
    return outcome[0]


def _subscribe(api, token: str | None, wait_s: float, outcome: list, done: threading.Event) -> None:
    context = ssl.create_default_context(cafile=api.ca_file) if api.base_url.startswith("https") else None
    started = time.monotonic()
    opened = False
    try:
        with connect(ws_url(api, token), ssl=context, open_timeout=wait_s, close_timeout=1) as socket:
            opened = True
            try:
                message = socket.recv(timeout=wait_s)
                outcome.append(LiveResult(True, str(message)[:120], time.monotonic() - started))
            except TimeoutError:
                outcome.append(LiveResult(True, f"no message within {wait_s:g}s", time.monotonic() - started))
            done.set()  # the verdict is in: closing (leaving the block) is best effort
    except InvalidStatus as exc:
        outcome.append(LiveResult(False, f"HTTP {exc.response.status_code}"))
    except TimeoutError:
        if not opened:
            raise TargetUnreachable("WebSocket", ws_url(api, None), f"no handshake within {wait_s:g}s") from None
    except WebSocketException as exc:  # closed by the server, e.g. 1008 policy violation after accept
        if not outcome:
            outcome.append(LiveResult(False, f"{type(exc).__name__}: {exc}"))
    except OSError as exc:
        if not outcome:
            from nbaverify.clients.api import certificate_problem

            untrusted = certificate_problem(exc)
            if untrusted:
                raise TargetUntrusted("WebSocket", ws_url(api, None), untrusted) from None
            raise TargetUnreachable("WebSocket", ws_url(api, None), str(exc) or type(exc).__name__) from None
