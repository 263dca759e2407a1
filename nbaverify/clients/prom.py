"""`prom`: the Prometheus HTTP API as the suite sees it (httpx, a timeout on every call)."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import httpx

from nbaverify.clients import tls
from nbaverify.errors import CheckError, PromQLError, TargetUnreachable
from nbaverify.expectation_values import duration_seconds
from nbaverify.exposition import counter_value, families
from nbaverify.io_stats import IO


class Prometheus:
    """Queries, targets, rules and alerts. Unreachable once means unreachable for the whole run."""

    def __init__(self, url: str, timeout_s: float):
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout_s, verify=tls.for_url(self.url)
        )
        self._unreachable: TargetUnreachable | None = None

    def _get(self, path: str, **params) -> httpx.Response:
        if self._unreachable:
            raise self._unreachable
        try:
            with IO.timed("prometheus"):
                return self._http.get(path, params=params or None)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._unreachable = TargetUnreachable(
                "Prometheus", self.url, str(exc).splitlines()[-1] or type(exc).__name__
            )
            raise self._unreachable from None
        except httpx.HTTPError as exc:
            raise TargetUnreachable(
                "Prometheus", f"{self.url}{path}", str(exc) or type(exc).__name__
            ) from None

    def _data(self, path: str, **params) -> Any:
        reply = self._get(path, **params)
        try:
            body = reply.json()
        except ValueError:
            raise CheckError(
                f"Prometheus {self.url}{path} answered HTTP {reply.status_code} without JSON"
            ) from None
        if body.get("status") != "success":
            raise PromQLError(body.get("error", f"HTTP {reply.status_code}"))
        return body["data"]

    def ready(self) -> tuple[bool, str]:
        try:
            reply = self._get("/-/ready")
        except TargetUnreachable as exc:
            return False, exc.reason
        return reply.status_code == 200, reply.text.strip()[:80]

    def query(self, expr: str, at: float | None = None) -> list[dict]:
        """An instant query (now, or at an epoch time); PromQLError carries Prometheus' own message
        for a bad expression."""
        if at is None:
            return self._data("/api/v1/query", query=expr)["result"]
        return self._data("/api/v1/query", query=expr, time=f"{at:.3f}")["result"]

    def query_range(self, expr: str, start: float, end: float, step_s: float) -> list[dict]:
        """A range query: each series' values from `start` to `end` (epoch seconds) every
        `step_s`."""
        return self._data(
            "/api/v1/query_range",
            query=expr,
            start=f"{start:.3f}",
            end=f"{end:.3f}",
            step=f"{step_s:g}",
        )["result"]

    def declared(self, name: str) -> bool:
        """Does a scraped target declare this metric (its # TYPE / # HELP), samples or not? A
        labelled counter a client library creates on its first increment (prom-client,
        prometheus_client) is declared before it has a single series: exported, nothing counted yet.
        Looked up by its name and its family's (without _total, _count, _sum, _bucket, _created)."""
        family = re.sub(r"_(total|count|sum|bucket|created)$", "", name)
        return any(
            self._data("/api/v1/metadata", metric=candidate)
            for candidate in dict.fromkeys((name, family))
        )

    def targets(self) -> list[dict]:
        return self._data("/api/v1/targets", state="active")["activeTargets"]

    def wait_until_scraped(self, timeout_s: float) -> None:
        """Converge once: a Prometheus that just started has targets it has not scraped yet.

        Returns at once when every active target has been scraped at least once (any long-running
        Prometheus); otherwise polls, at most timeout_s, so checks judge scraped data, not a cold
        start. A Prometheus started within timeout_s may also have scraped a target before the
        target itself listened (a platform started all at once): a target down at the first look
        gets one more scrape before the checks judge it.
        """
        deadline = time.monotonic() + timeout_s
        waited = False
        down: dict[tuple[str, str], str] | None = None  # target -> its last scrape, when down
        while time.monotonic() < deadline:
            try:
                targets = self.targets()
            except (TargetUnreachable, CheckError):
                return  # the checks themselves will say so
            if targets and all(not t["lastScrape"].startswith("0001-") for t in targets):
                if down is None:
                    down = {
                        (t["scrapePool"], t["scrapeUrl"]): t["lastScrape"]
                        for t in targets
                        if t["health"] == "down"
                    }
                    if down and not self._started_within(timeout_s):
                        down = {}
                if not any(
                    down.get((t["scrapePool"], t["scrapeUrl"])) == t["lastScrape"] for t in targets
                ):
                    if waited:  # rate() needs two samples: one more scrape interval
                        time.sleep(
                            max(duration_seconds(t["scrapeInterval"]) for t in targets) + 0.5
                        )
                    return
            else:
                waited = True
            time.sleep(0.25)

    def _started_within(self, seconds: float) -> bool:
        try:
            started = self._data("/api/v1/status/runtimeinfo")["startTime"]
            age = dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(
                started.replace("Z", "+00:00")
            )
        except (TargetUnreachable, CheckError, KeyError, TypeError, ValueError):
            return False  # a Prometheus that does not say: judged as it stands
        return age.total_seconds() < seconds

    def alerting_rules(self) -> list[dict]:
        groups = self._data("/api/v1/rules", type="alert")["groups"]
        return [rule for group in groups for rule in group["rules"]]

    def alerts(self) -> list[dict]:
        return self._data("/api/v1/alerts")["alerts"]

    def alertmanagers(self) -> dict[str, list[str]]:
        """The Alertmanagers Prometheus sends to: {"active": [url...], "dropped": [url...]}."""
        data = self._data("/api/v1/alertmanagers")
        return {
            state: [a["url"] for a in data.get(f"{state}Alertmanagers", [])]
            for state in ("active", "dropped")
        }

    def notifications(self) -> dict[str, float]:
        """Its own counters (/metrics): alerts sent to Alertmanagers, errors sending them, alerts
        dropped (errors or a full queue), summed over Alertmanagers, and when the process
        started."""
        text = self._get("/metrics").text
        start = families(text).get("process_start_time_seconds")
        return {
            "sent": counter_value(text, "prometheus_notifications_sent"),
            "errors": counter_value(text, "prometheus_notifications_errors"),
            "dropped": counter_value(text, "prometheus_notifications_dropped"),
            "started": start.samples[0].value if start and start.samples else 0.0,
        }

    def oldest_sample(self) -> float | None:
        """When its storage begins (epoch seconds; its own /metrics), so a window is not judged past
        what it keeps; None where it does not say."""
        found = families(self._get("/metrics").text).get("prometheus_tsdb_lowest_timestamp_seconds")
        return found.samples[0].value if found and found.samples else None

    def close(self) -> None:
        self._http.close()
