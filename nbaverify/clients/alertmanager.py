"""`alertmanager`: the platform's Alertmanager through its API v2 (status, silences), a timeout on every call."""

from __future__ import annotations

from typing import Any

import httpx

from nbaverify.errors import CheckError, TargetUnreachable
from nbaverify.io_stats import IO


class Alertmanager:
    """Unreachable once means unreachable for the whole run."""

    def __init__(self, url: str, timeout_s: float):
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s)
        self._unreachable: TargetUnreachable | None = None

    def _get(self, path: str) -> httpx.Response:
        if self._unreachable:
            raise self._unreachable
        try:
            with IO.timed("alertmanager"):
                return self._http.get(path)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._unreachable = TargetUnreachable("Alertmanager", self.url, str(exc).splitlines()[-1] or type(exc).__name__)
            raise self._unreachable from None
        except httpx.HTTPError as exc:
            raise TargetUnreachable("Alertmanager", f"{self.url}{path}", str(exc) or type(exc).__name__) from None

    def _json(self, path: str) -> Any:
        reply = self._get(path)
        if reply.status_code != 200:
            raise CheckError(f"Alertmanager {self.url}{path} answered HTTP {reply.status_code}: {reply.text[:80]}")
        return reply.json()

    def ready(self) -> tuple[bool, str]:
        try:
            reply = self._get("/-/ready")
        except TargetUnreachable as exc:
            return False, exc.reason
        return reply.status_code == 200, f"HTTP {reply.status_code} {reply.text.strip()[:60]}"

    def loaded_config(self) -> str:
        """The configuration the running Alertmanager has loaded (YAML, secrets shown as <secret>)."""
        return str(self._json("/api/v2/status")["config"]["original"])

    def cluster(self) -> dict:
        return dict(self._json("/api/v2/status").get("cluster") or {})

    def silences(self) -> list[dict]:
        return list(self._json("/api/v2/silences"))

    def close(self) -> None:
        self._http.close()
