"""The `prom` fixture's convergence on a Prometheus that just started, against a test double of its
two endpoints (/api/v1/targets, /api/v1/status/runtimeinfo) over real HTTP.

Found on the sandbox: started all at once, Prometheus scraped the API before the API listened, and
the first gate after `up` failed check_scrape_targets_up on a target that was up a second later.
"""

import datetime as dt
from contextlib import ExitStack

import pytest

from nbaverify.clients.prom import Prometheus
from tests.unit.http_doubles import JsonHandler, serving


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
    with ExitStack() as stack:

        def start(double: Double) -> Prometheus:
            class Handler(JsonHandler):
                def do_GET(self):
                    if self.path.startswith("/api/v1/targets"):
                        data = {"activeTargets": double.targets()}
                    elif self.path == "/api/v1/status/runtimeinfo":
                        data = {"startTime": double.started.isoformat().replace("+00:00", "Z")}
                    else:
                        self.reply(404)
                        return
                    self.reply(200, {"status": "success", "data": data})

            client = Prometheus(stack.enter_context(serving(Handler)), timeout_s=5)
            stack.callback(client.close)
            return client

        yield start


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
