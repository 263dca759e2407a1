"""Rule: a safe request the server closed its connection on without answering is sent once more, on
a new connection; an unsafe one is not.

Found in a self-test: ten healthy runs in a row, and in the seventh one GET /health on a keep-alive
connection that uvicorn closed as the request went out ("Server disconnected without sending a
response"): fourteen header checks reported the API unreachable.
"""

import socket
import threading

import pytest

from nbaverify.clients.api import ApiClient
from nbaverify.errors import TargetUnreachable

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"


class ClosingServer:
    """Answers the first request on each connection, then closes it on the next one unanswered, as
    a server whose keep-alive timeout ran out just then does."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                for answered in (True, False):
                    if not conn.recv(65536):
                        break
                    self.requests += 1
                    if answered:
                        conn.sendall(OK)

    def close(self):
        self.listener.close()


@pytest.fixture
def server():
    running = ClosingServer()
    yield running
    running.close()


@pytest.fixture
def api(server):
    client = ApiClient(
        f"http://127.0.0.1:{server.port}", jwt_secret=None, ca_file=None, timeout_s=5
    )
    yield client
    client.close()


def test_a_safe_request_the_server_dropped_is_sent_again(server, api):
    assert api.get("/health").status_code == 200
    assert api.get("/health").status_code == 200  # dropped on the kept connection, sent again
    assert server.requests == 3


def test_an_unsafe_request_is_not_sent_twice(server, api):
    assert api.get("/health").status_code == 200
    with pytest.raises(TargetUnreachable, match="Server disconnected without sending a response"):
        api.request("DELETE", "/health")
    assert server.requests == 2
