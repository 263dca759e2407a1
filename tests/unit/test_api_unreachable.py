"""The API client learns once that the API is gone: refused, or hung (accepts, never answers).
One slow route is not a dead API. Real sockets on loopback; no sandbox."""

from __future__ import annotations

import socket
import threading

import pytest

from nbaverify.clients import ApiClient
from nbaverify.errors import TargetUnreachable


@pytest.fixture
def server():
    """An HTTP server that answers GET / at once and never answers anything else (or nothing at
    all)."""
    listener = socket.create_server(("127.0.0.1", 0))
    state = {"hang_all": False, "held": []}

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            state["held"].append(conn)
            threading.Thread(target=answer, args=(conn,), daemon=True).start()

    def answer(conn):
        try:
            while True:
                request = conn.recv(65536)
                if not request:
                    return
                if request.startswith(b"GET / ") and not state["hang_all"]:
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
        except OSError:
            return

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", state
    listener.close()
    for conn in state["held"]:
        conn.close()


@pytest.fixture
def client():
    made: list[ApiClient] = []

    def make(url: str) -> ApiClient:
        made.append(ApiClient(url, jwt_secret=None, ca_file=None, timeout_s=0.3))
        return made[-1]

    yield make
    for api in made:
        api.close()


def test_a_hung_api_is_learned_once_and_named(server, client):
    url, state = server
    state["hang_all"] = True
    api = client(url)
    with pytest.raises(
        TargetUnreachable,
        match=r"stopped answering: GET /health and GET / got no response within 0.3s",
    ):
        api.get("/health")
    with pytest.raises(TargetUnreachable) as later:  # no second wait: the client remembers
        api.get("/api/players")
    assert later.value is api.unreachable()


def test_one_slow_route_is_not_a_dead_api(server, client):
    url, _ = server
    api = client(url)
    with pytest.raises(
        TargetUnreachable, match=r"GET .*/api/slow|/api/slow.* no response within 0.3s"
    ):
        api.get("/api/slow")
    assert api.unreachable() is None
    assert api.get("/").status_code == 404


def test_a_refused_api_is_learned_once(client):
    with socket.create_server(("127.0.0.1", 0)) as spare:
        gone = f"http://127.0.0.1:{spare.getsockname()[1]}"
    api = client(gone)
    with pytest.raises(TargetUnreachable, match="refused"):
        api.get("/health")
    assert api.unreachable() is not None
