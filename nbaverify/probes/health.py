"""The API's own account of its health (Contract 2: /health and /health/detailed)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nbaverify.clients.api import ApiClient

RESPONSE_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*ms\s*$")


@dataclass(frozen=True)
class DetailedHealth:
    """The API's answer to /health/detailed (Contract 2): HTTP status, overall status, each
    component's entry, and `problem` when the body is not the JSON the contract promises; `runtime`
    where the API names its own.
    """

    http_status: int
    overall: str | None
    components: dict[str, dict] = field(default_factory=dict)
    problem: str | None = None  # the body was not the JSON Contract 2 promises
    # beyond Contract 2: {"name": "node", "version": "24.1.0"} where the API says
    runtime: dict | None = None

    def component_status(self, name: str) -> str | None:
        entry = self.components.get(name)
        return entry.get("status") if isinstance(entry, dict) else None


def detailed(api: ApiClient, path: str) -> DetailedHealth:
    reply = api.get(path)
    try:
        body = reply.json()
    except ValueError:
        return DetailedHealth(
            reply.status_code, None, problem=f"body is not JSON: {reply.text[:80]!r}"
        )
    if not isinstance(body, dict) or not isinstance(body.get("checks"), dict):
        return DetailedHealth(reply.status_code, None, problem="body has no 'checks' object")
    runtime = body.get("runtime")
    return DetailedHealth(
        reply.status_code,
        body.get("status"),
        body["checks"],
        runtime=runtime if isinstance(runtime, dict) else None,
    )


def response_time_ms(header: str | None) -> float | None:
    """The value of `X-Response-Time: <n>ms` (the guide's timing middleware), or None if
    unparseable."""
    match = RESPONSE_TIME.match(header or "")
    return float(match.group(1)) if match else None
