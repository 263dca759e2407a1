"""How the scenarios send a request and report it: geventhttpclient's HTTPClient (the library under
Locust's FastHttpUser) with the user's keep-alive connections, each reply checked, each request
fired on Locust's request event as FastHttpUser fires it.

Why not FastHttpUser itself: its session (URL joining and parsing, a cookie jar, redirects, a
response wrapper, a context manager) costs more a request than this whole module, so a scenario on
it reached about 85 % of the rate plain Locust sends, and the report measured the generator's
ceiling rather than the platform's. What this client leaves out, on purpose: cookies (the API is
stateless, the token rides every request) and redirects (an API endpoint that redirects is reported
as its 3xx status, as a failure).
"""

from __future__ import annotations

import time
import zlib
from http.client import HTTPException
from urllib.parse import urlsplit

import common
from geventhttpclient import HTTPClient
from locust.exception import CatchResponseError

# FastHttpUser's timeouts, so a run behaves as it did on it
TIMEOUT_S = 60.0
# a request that failed on the way: refused, reset, timed out, TLS (OSError); a reply that is no
# HTTP (geventhttpclient's parse errors); a body that does not decode. Anything else is a scenario's
# bug, which Locust records as one and the run reports as such.
FAILURES = (OSError, HTTPException, zlib.error, ValueError)
# what the scenarios can read back, as a browser would offer it: the platform may compress
ACCEPT_ENCODING = "gzip, deflate"


class Sender:
    """One virtual user's way to the API: its token in every request, `concurrency` connections."""

    def __init__(self, request_event, token: str, concurrency: int = 1) -> None:
        base_url = common.config()["base_url"]
        # HTTPClient keeps the host and port only: an API under a path keeps its prefix here
        self.prefix = urlsplit(base_url).path.rstrip("/")
        self.http = HTTPClient.from_url(
            base_url,
            concurrency=concurrency,
            connection_timeout=TIMEOUT_S,
            network_timeout=TIMEOUT_S,
            ssl_context_factory=common.ssl_context,
            headers={
                "authorization": f"Bearer {token}",
                "accept-encoding": ACCEPT_ENCODING,
                "user-agent": "nbaverify-load",
            },
        )
        self.fire = request_event.fire

    def get(self, name: str, path: str, shape: str, since: float | None = None) -> None:
        """GET `path`, judge the reply by its expected shape, report it under `name`; its time
        counts from `since` (a perf_counter reading: the open model's intended send time) or from
        now."""
        start_time = time.time()
        started = time.perf_counter() if since is None else since
        body = b""
        failure: Exception | None = None
        try:
            with self.http.get(self.prefix + path) as reply:
                status, body = reply.status_code, reply.read()
                encoding = str(reply.get("content-encoding") or "identity").lower()
            why = common.problem(status, decoded(body, encoding), shape)
            if why:
                failure = CatchResponseError(why)  # what Locust's catch_response reports
        except FAILURES as exc:  # Locust names it in the report by its repr
            failure = exc
        self.fire(
            request_type="GET",
            name=name,
            response_time=(time.perf_counter() - started) * 1000,
            response_length=len(body),
            exception=failure,
            context={},
            start_time=start_time,
            url=path,
            response=None,
        )

    def close(self) -> None:
        self.http.close()


def decoded(body: bytes, encoding: str) -> bytes:
    """The body as the server meant it: gzip and deflate undone (the encodings we offer)."""
    if encoding == "identity" or not body:
        return body
    if encoding == "gzip":
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:  # "deflate" sent raw, without zlib's header, as some servers do
            return zlib.decompress(body, -zlib.MAX_WBITS)
    raise ValueError(f"a reply in content-encoding {encoding!r}, which the scenario did not offer")
