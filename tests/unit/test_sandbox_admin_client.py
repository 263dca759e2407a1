"""Rule: the sandbox's administrator client waits out a kube-apiserver that says it is busy, and
only that."""

import httpx
import pytest

from nbaverify.errors import SandboxError
from nbaverify.sandbox.kubernetes import admin


def client(replies: list[httpx.Response], monkeypatch) -> tuple[admin.Admin, list[str]]:
    seen: list[str] = []
    monkeypatch.setattr(admin.time, "sleep", lambda s: seen.append(f"sleep {s:g}"))

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return replies.pop(0)

    hands = admin.Admin.__new__(admin.Admin)
    hands.url = "https://127.0.0.1:6443"
    hands.http = httpx.Client(base_url=hands.url, transport=httpx.MockTransport(handle))
    return hands, seen


def busy() -> httpx.Response:
    return httpx.Response(
        429, headers={"Retry-After": "1"}, json={"message": "storage is (re)initializing"}
    )


def test_a_429_with_retry_after_is_tried_again_after_the_wait(monkeypatch):
    hands, seen = client(
        [busy(), busy(), httpx.Response(200, json={"items": [{"a": 1}]})], monkeypatch
    )
    assert hands.items("v1", "Pod", "nba") == [{"a": 1}]
    assert seen == ["GET /api/v1/namespaces/nba/pods", "sleep 1"] * 2 + [
        "GET /api/v1/namespaces/nba/pods"
    ]


def test_a_429_without_retry_after_or_past_the_budget_is_the_servers_answer(monkeypatch):
    hands, seen = client([httpx.Response(429, json={"message": "too many"})], monkeypatch)
    with pytest.raises(SandboxError, match=r"GET /api/v1/nodes: HTTP 429 too many"):
        hands.items("v1", "Node")
    monkeypatch.setattr(admin, "BUSY_WAIT_S", 0.5)
    hands, seen = client([busy()], monkeypatch)
    with pytest.raises(SandboxError, match="HTTP 429 storage is"):
        hands.items("v1", "Node")
    assert seen == ["GET /api/v1/nodes"]
