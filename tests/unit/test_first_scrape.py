"""The `prom` fixture's convergence on a Prometheus that just started, against a test double of its
two endpoints (/api/v1/targets, /api/v1/status/runtimeinfo) over real HTTP.

Found on the sandbox: started all at once, Prometheus scraped the API before the API listened, and
the first gate after `up` failed check_scrape_targets_up on a target that was up a second later.
"""

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nbaverify.clients.prom import Prometheus


class Double:
    """What Prometheus answers: its start time, and the API target's scrapes in turn (the last one
    repeats)."""

    def __init__(self, started_ago_s: float, scrapes: list[tuple[str, str]]):
        self.started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=started_ago_s)
        self.scrapes = scrapes  # (health, lastScrape)
        self.asked = 0

    def targets(self) -> list[dict]:
        health, last = self.scrapes[min(self.asked, len(self.scrapes) - 1)]
        self.asked += 1
        return [
            {
                "scrapePool": "prometheus",
                "scrapeUrl": "http://127.0.0.1:9090/metrics",
                "health": "up",
                "lastScrape": "2026-12-07T08:00:00Z",
                "scrapeInterval": "1s",
            },
            {
                "scrapePool": "nba-api",
                "scrapeUrl": "https://127.0.0.1:8443/metrics",
                "health": health,
                "lastScrape": last,
                "scrapeInterval": "1s",
            },
        ]


@pytest.fixture
def serve():
    servers = []

    def start(double: Double) -> Prometheus:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.startswith("/api/v1/targets"):
                    data = {"activeTargets": double.targets()}
                elif self.path == "/api/v1/status/runtimeinfo":
                    data = {"startTime": double.started.isoformat().replace("+00:00", "Z")}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                body = json.dumps({"status": "success", "data": data}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        client = Prometheus(f"http://127.0.0.1:{server.server_port}", timeout_s=5)
        servers.append((server, client))
        return client

    yield start
    for server, client in servers:
        client.close()
        server.shutdown()
        server.server_close()


REFUSED = ("down", "2026-12-07T08:00:00.1Z")
LATER_UP = ("up", "2026-12-07T08:00:02.1Z")
LATER_DOWN = ("down", "2026-12-07T08:00:02.1Z")


def test_a_young_prometheus_scrapes_a_down_target_again_before_the_checks(serve):
    double = Double(started_ago_s=3, scrapes=[REFUSED, REFUSED, REFUSED, LATER_UP])
    serve(double).wait_until_scraped(15)
    assert double.asked == 4  # returned at the scrape after the refused one, not before


def test_a_target_still_down_on_its_next_scrape_is_left_for_the_checks(serve):
    double = Double(started_ago_s=3, scrapes=[REFUSED, LATER_DOWN])
    serve(double).wait_until_scraped(15)
    assert double.asked == 2


def test_a_long_running_prometheus_is_judged_as_it_stands(serve):
    double = Double(started_ago_s=3600, scrapes=[REFUSED, LATER_UP])
    serve(double).wait_until_scraped(15)
    assert double.asked == 1
