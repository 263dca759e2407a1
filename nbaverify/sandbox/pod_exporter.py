"""A SYNTHETIC exporter, a test double named as such: the request metrics of the api pods of a
scaled sandbox.

    python -m nbaverify.sandbox.pod_exporter --state-dir DIR --port-base N

At `sandbox up --scale N` with N > 1, the Kubernetes double serves N - 1 more tenants, each with the
api Deployment's pods; this serves, for each of those pods, the series a pod of the API exposes
(`http_requests_total` by method, route and status, `http_request_duration_seconds` buckets by
method, route and status code), labelled with its namespace and pod, and Prometheus scrapes it as
the job `nba-api-pods`. So Prometheus holds about N times the platform's request series, and the
suite's queries are measured against them. Nothing else about it is real: every pod serves a steady,
healthy request rate, so it adds series, not faults.
"""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from nbaverify.sandbox.layout import Layout

API_PODS = 3  # the api Deployment's replicas in fixtures/k8s
ROUTES = (
    "/api/players",
    "/api/players/{id}",
    "/api/players/{id}/stats",
    "/api/projections/{player_id}",
    "/api/games/{id}/stats",
    "/health",
)
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
RATE_PER_ROUTE = 2.0  # requests a second a route a pod: 200 answers; one in a hundred is a 404
# of the requests, how many finish within a bucket
SHARE_BELOW = {0.005: 0.2, 0.01: 0.6, 0.025: 0.9, 0.05: 0.98}


def pods(scale: int) -> list[tuple[str, str]]:
    """(namespace, pod) of every api pod of tenants 2..scale: the namespaces as the double names
    them."""
    return [
        (f"nba-stats-{tenant:03d}", f"api-{tenant:03d}-{replica}")
        for tenant in range(2, scale + 1)
        for replica in range(API_PODS)
    ]


def exposition(scale: int, started: float, now: float) -> str:
    """The Prometheus text of every pod, its counters grown at a steady rate since `started`."""
    requests = RATE_PER_ROUTE * (now - started)
    lines = [
        "# HELP http_requests_total HTTP requests (synthetic: nbaverify.sandbox.pod_exporter)",
        "# TYPE http_requests_total counter",
    ]
    histogram = [
        "# HELP http_request_duration_seconds HTTP request duration (synthetic)",
        "# TYPE http_request_duration_seconds histogram",
    ]
    for namespace, pod in pods(scale):
        where = f'namespace="{namespace}",pod="{pod}"'
        for route in ROUTES:
            lines.append(
                f'http_requests_total{{{where},method="GET",route="{route}",status="200"}}'
                f" {requests * 0.99:.1f}"
            )
            lines.append(
                f'http_requests_total{{{where},method="GET",route="{route}",status="404"}}'
                f" {requests * 0.01:.1f}"
            )
            labels = f'{where},method="GET",route="{route}",status_code="200"'
            for bucket in BUCKETS:
                histogram.append(
                    f'http_request_duration_seconds_bucket{{{labels},le="{bucket}"}} '
                    f"{requests * SHARE_BELOW.get(bucket, 1.0):.1f}"
                )
            histogram.append(
                f'http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {requests:.1f}'
            )
            histogram.append(
                f"http_request_duration_seconds_sum{{{labels}}} {requests * 0.008:.3f}"
            )
            histogram.append(f"http_request_duration_seconds_count{{{labels}}} {requests:.1f}")
    return "\n".join(lines + histogram) + "\n"


def main() -> None:
    layout = Layout.from_service_argv(__doc__)
    scale = int(layout.scale_file.read_text().strip() or 1) if layout.scale_file.exists() else 1
    started = time.time()

    class Handler(BaseHTTPRequestHandler):
        """The synthetic exporter's HTTP side: every GET gets the tenants' api pod series, with 200
        on /metrics and 404 elsewhere."""

        def do_GET(self) -> None:
            body = exposition(scale, started, time.time()).encode()
            self.send_response(200 if self.path == "/metrics" else 404)
            self.send_header("content-type", "text/plain; version=0.0.4")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", layout.pod_exporter_port), Handler).serve_forever()


if __name__ == "__main__":
    main()
