"""`alertmanager`: the platform's Alertmanager through its API v2 (status, silences), a timeout on
every call."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from nbaverify.clients import tls
from nbaverify.errors import CheckError, TargetUnreachable
from nbaverify.exposition import counter_value, families
from nbaverify.io_stats import IO


class Alertmanager:
    """Unreachable once means unreachable for the whole run."""

    def __init__(self, url: str, timeout_s: float):
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout_s, verify=tls.for_url(self.url)
        )
        self._unreachable: TargetUnreachable | None = None

    def _get(self, path: str) -> httpx.Response:
        if self._unreachable:
            raise self._unreachable
        try:
            with IO.timed("alertmanager"):
                return self._http.get(path)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._unreachable = TargetUnreachable(
                "Alertmanager", self.url, str(exc).splitlines()[-1] or type(exc).__name__
            )
            raise self._unreachable from None
        except httpx.HTTPError as exc:
            raise TargetUnreachable(
                "Alertmanager", f"{self.url}{path}", str(exc) or type(exc).__name__
            ) from None

    def _json(self, path: str) -> Any:
        reply = self._get(path)
        if reply.status_code != 200:
            raise CheckError(
                f"Alertmanager {self.url}{path} answered HTTP {reply.status_code}:"
                f" {reply.text[:80]}"
            )
        return reply.json()

    def ready(self) -> tuple[bool, str]:
        try:
            reply = self._get("/-/ready")
        except TargetUnreachable as exc:
            return False, exc.reason
        return reply.status_code == 200, f"HTTP {reply.status_code} {reply.text.strip()[:60]}"

    def loaded_config(self) -> str:
        """The configuration the running Alertmanager has loaded (YAML, secrets shown as
        <secret>)."""
        return str(self._json("/api/v2/status")["config"]["original"])

    def status(self) -> dict:
        """GET /api/v2/status: the cluster as this instance sees it, and the configuration it
        loaded."""
        return dict(self._json("/api/v2/status"))

    def silences(self) -> list[dict]:
        return list(self._json("/api/v2/silences"))

    def alerts(self, **labels: str) -> list[dict]:
        """Active (not silenced, not inhibited) alerts with these labels."""
        matchers = "&".join(f'filter={k}="{v}"' for k, v in labels.items())
        return list(
            self._json(f"/api/v2/alerts?active=true&silenced=false&inhibited=false&{matchers}")
        )

    def routed_to(self, **labels: str) -> set[str]:
        """The receivers the live Alertmanager has grouped the active alerts with these labels
        under: where it will notify them (GET /api/v2/alerts/groups; a silenced or inhibited alert
        is under none)."""
        query = [
            ("active", "true"),
            ("silenced", "false"),
            ("inhibited", "false"),
            *(("filter", f'{k}="{v}"') for k, v in labels.items()),
        ]
        groups = self._json(
            "/api/v2/alerts/groups?" + "&".join(f"{k}={quote(v)}" for k, v in query)
        )
        return {str(group["receiver"]["name"]) for group in groups if group.get("alerts")}

    def notifications(self) -> dict[str, float]:
        """Its own counters (/metrics), over every integration: notifications (each retried until it
        succeeds or gives up) sent and failed, the requests behind them (every attempt) and failed
        ones, and when it started.
        """
        text = self._get("/metrics").text
        start = families(text).get("process_start_time_seconds")
        return {
            "sent": counter_value(text, "alertmanager_notifications"),
            "failed": counter_value(text, "alertmanager_notifications_failed"),
            "requests": counter_value(text, "alertmanager_notification_requests"),
            "requests_failed": counter_value(text, "alertmanager_notification_requests_failed"),
            "started": start.samples[0].value if start and start.samples else 0.0,
        }

    def post_alert(
        self, labels: dict[str, str], annotations: dict[str, str], starts_at: str, ends_at: str
    ) -> None:
        """Send one alert as Prometheus would (POST /api/v2/alerts)."""
        if self._unreachable:
            raise self._unreachable
        body = [
            {"labels": labels, "annotations": annotations, "startsAt": starts_at, "endsAt": ends_at}
        ]
        try:
            with IO.timed("alertmanager"):
                reply = self._http.post("/api/v2/alerts", json=body)
        except httpx.HTTPError as exc:
            raise TargetUnreachable(
                "Alertmanager", f"{self.url}/api/v2/alerts", str(exc) or type(exc).__name__
            ) from None
        if reply.status_code != 200:
            raise CheckError(
                f"Alertmanager {self.url}/api/v2/alerts refused the alert: HTTP {reply.status_code}"
                f" {reply.text[:80]}"
            )

    def close(self) -> None:
        self._http.close()
