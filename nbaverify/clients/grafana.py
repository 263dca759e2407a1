"""`grafana`: the platform's Grafana, for the dashboards the guide names (GET /api/search)."""

from __future__ import annotations

import httpx

from nbaverify.clients import tls
from nbaverify.errors import CheckError, TargetUnreachable
from nbaverify.io_stats import IO


class Grafana:
    """Grafana's HTTP API with the profile's token (from [grafana] token_env; redacted like every
    secret)."""

    def __init__(self, url: str, *, token: str | None, timeout_s: float):
        self.url = url.rstrip("/")
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.url, headers=headers, timeout=timeout_s, verify=tls.for_url(self.url)
        )

    def dashboard_titles(self) -> set[str]:
        """Titles of Grafana's dashboards (GET /api/search?type=dash-db)."""
        try:
            with IO.timed("grafana"):
                reply = self._http.get("/api/search", params={"type": "dash-db"})
        except httpx.HTTPError as exc:
            raise TargetUnreachable("Grafana", self.url, str(exc) or type(exc).__name__) from None
        if reply.status_code != 200:
            raise CheckError(
                f"Grafana {self.url}/api/search answered {reply.status_code}: {reply.text[:80]}"
            )
        return {item.get("title", "") for item in reply.json()}

    def close(self) -> None:
        self._http.close()
