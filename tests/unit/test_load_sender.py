"""The scenarios' HTTP client against a real local server: the API's path prefix kept, compressed
replies read, every outcome reported to Locust's request event under the name and the reason the
report shows (a wrong reply as Locust's catch_response names it, a refused connection by its
exception).

The sender runs in a process of its own: importing Locust patches the whole interpreter for gevent,
which this pytest process must not be.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nbaverify import procs, shipped

# path -> (status, body, content-encoding)
REPLIES = {
    "/v2/api/players/1": (200, gzip.compress(b'{"id": 1}'), "gzip"),
    "/v2/api/projections/1": (200, zlib.compress(b'{"id": 1}'), "deflate"),
    "/v2/api/games/1/stats": (200, b"[]", None),
    "/v2/health": (200, b'{"status": "degraded"}', None),
    "/v2/api/players": (500, b"{}", None),
    "/v2/api/players/2": (200, b"<html>", None),
}

# run inside the child: what the request event received, one JSON object a request
CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from sender import Sender
fired = []
class Event:
    def fire(self, **kw):
        fired.append(kw)
sender = Sender(Event(), token="t0ken")
for name, path, shape in json.loads(sys.argv[2]):
    sender.get(name, path, shape)
sender.close()
for kw in fired:
    error = kw["exception"]
    print(json.dumps({"name": kw["name"], "url": kw["url"], "length": kw["response_length"],
                      "ms": kw["response_time"], "error": None if error is None else repr(error)}))
"""


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the platform's API
    seen: list[dict] = []

    def do_GET(self):
        Handler.seen.append(
            {
                "path": self.path,
                "auth": self.headers["authorization"],
                "encodings": self.headers["accept-encoding"],
            }
        )
        status, body, encoding = REPLIES.get(self.path, (404, b"{}", None))
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        if encoding:
            self.send_header("content-encoding", encoding)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def api(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Handler.seen = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v2"
    server.shutdown()
    server.server_close()


def send(tmp_path, base_url: str, requests: list[tuple[str, str, str]]) -> list[dict]:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"base_url": base_url, "ca_file": None, "ids": {}}))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(shipped.LOCUSTFILE.parent), json.dumps(requests)],
        env={"NBAVERIFY_LOAD_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_replies_are_read_and_judged_under_the_api_prefix(tmp_path, api):
    fired = send(
        tmp_path,
        api,
        [
            ("GET /api/players/[id]", "/api/players/1", "object"),
            ("GET /api/projections/[player_id]", "/api/projections/1", "object"),
            ("GET /api/games/[id]/stats", "/api/games/1/stats", "list"),
            ("GET /health", "/health", "health"),
            ("GET /api/players", "/api/players", "list"),
            ("GET /api/players/[id]", "/api/players/2", "object"),
        ],
    )
    assert [(f["name"], f["error"]) for f in fired] == [
        ("GET /api/players/[id]", None),  # gzip, undone
        ("GET /api/projections/[player_id]", None),  # deflate, undone
        ("GET /api/games/[id]/stats", None),
        ("GET /health", "CatchResponseError(\"health says 'degraded'\")"),
        ("GET /api/players", "CatchResponseError('HTTP 500')"),
        ("GET /api/players/[id]", "CatchResponseError('200 without JSON')"),
    ]
    assert [s["path"] for s in Handler.seen] == [p for p in REPLIES]  # the prefix, kept
    assert {s["auth"] for s in Handler.seen} == {"Bearer t0ken"}
    assert {s["encodings"] for s in Handler.seen} == {"gzip, deflate"}
    assert all(f["ms"] > 0 for f in fired)
    assert fired[0]["length"] == len(REPLIES["/v2/api/players/1"][1])  # as sent, compressed


def test_a_refused_connection_is_reported_by_its_exception(tmp_path):
    fired = send(
        tmp_path, f"http://127.0.0.1:{procs.free_port()}", [("GET /health", "/health", "health")]
    )
    assert len(fired) == 1 and fired[0]["error"].startswith("ConnectionRefusedError("), fired
