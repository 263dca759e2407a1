"""What the unit tests' HTTP test doubles share: a quiet handler that answers JSON, and a stdlib
server on a free loopback port for the length of a test (real HTTP over a socket)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonHandler(BaseHTTPRequestHandler):
    def reply(self, status: int, payload=None) -> None:
        """Answer with `status` and, unless None, `payload` as JSON."""
        self.send_response(status)
        if payload is None:
            self.end_headers()
            return
        body = json.dumps(payload).encode()
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """The double's base URL while the block runs."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
