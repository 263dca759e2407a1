"""One HTTP client for the sandbox's own plain-HTTP services (Prometheus, Alertmanager).

`httpx.get()` builds a client for each call, and every client loads the CA bundle (30-50 ms of CPU
here) though these URLs are http://: polled every 50 ms while a service starts, that was most of a
core. This client is built once. It keeps no connection alive: the services restart under it (a
fresh history), and a pooled connection to a stopped process would fail the next call.
"""

from __future__ import annotations

import functools

import httpx


@functools.cache
def client() -> httpx.Client:
    return httpx.Client(timeout=5, limits=httpx.Limits(max_keepalive_connections=0))
