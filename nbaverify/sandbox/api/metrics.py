"""The API's Prometheus metrics (Contract 2), in a registry of their own."""

from __future__ import annotations

import os
import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


def by_route() -> bool:
    """CACHE_METRICS_BY_ROUTE=1: the cache counters carry a route label, so each route's series is
    created on its first hit or miss (a platform's choice; before any, the counters are declared and
    have no series)."""
    return os.environ.get("CACHE_METRICS_BY_ROUTE") == "1"


class ApiMetrics:
    """The reference API's Prometheus metrics (Contract 2), in a registry of their own: requests and
    their durations by route, the response cache's hits and misses, the open WebSockets and messages
    pushed, and the pool's connections.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "http_requests_total",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration",
            ["method", "route"],
            registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        labels = ["route"] if by_route() else []
        self.cache_hits = Counter("cache_hits", "Response cache hits", labels, registry=r)
        self.cache_misses = Counter("cache_misses", "Response cache misses", labels, registry=r)
        self.websockets = Gauge(
            "websocket_connections_active", "Open /ws/live connections", registry=r
        )
        self.ws_messages = Counter(
            "websocket_messages_sent", "Messages pushed on /ws/live", registry=r
        )
        # the guide's pool: max 20, min 4 (Database Optimization / Connection Pool Settings)
        self.pool_size = Gauge("db_pool_connections", "Connections held by the pool", registry=r)
        self.pool_available = Gauge(
            "db_pool_connections_idle", "Idle connections in the pool", registry=r
        )
        self.pool_waiting = Gauge(
            "db_pool_requests_waiting", "Requests waiting for a connection", registry=r
        )
        self.pool_max = Gauge("db_pool_connections_max", "Pool maximum size", registry=r)

    def cache_counted(self, hit: bool, key: str) -> None:
        counter = self.cache_hits if hit else self.cache_misses
        if by_route():
            counter.labels(re.sub(r"/\d+", "/{id}", key.split("?", 1)[0])).inc()
        else:
            counter.inc()

    def observe_pool(self, stats: dict[str, int], max_size: int) -> None:
        self.pool_size.set(stats.get("pool_size", 0))
        self.pool_available.set(stats.get("pool_available", 0))
        self.pool_waiting.set(stats.get("requests_waiting", 0))
        self.pool_max.set(max_size)
