"""WS /ws/live: refuses a connection without a valid token, and pushes live updates to one with it.

Contract 2 (WS /ws/live, token as ?token=); guide: System Monitoring / Metrics Collection /
Application Metrics (WebSocket connection stats).
"""

import pytest

pytestmark = [pytest.mark.area("api")]

APP_METRICS = "System Monitoring / Metrics Collection / Application Metrics"


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook("Security Best Practices / Authentication & Authorization / API Security")
@pytest.mark.parametrize("token_kind", ["none", "forged"])
def check_live_feed_refuses_without_valid_token(api, expect, token_kind):
    token = None if token_kind == "none" else "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."
    result = api.subscribe(token, expect["api.websocket.message_within_s"])
    assert not result.accepted, (
        f"{api.ws_url()} accepted a connection with {'no' if token_kind == 'none' else 'a forged'} "
        f"token and sent {result.detail!r}; expected a refusal (HTTP 401/403 or close 1008)")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(APP_METRICS)
def check_live_feed_delivers(api, expect, evidence):
    wait = expect["api.websocket.message_within_s"]
    result = api.subscribe(api.token(), wait)
    evidence.update(first_message_s=round(result.seconds, 3), message=result.detail[:80])
    assert result.accepted, f"{api.ws_url()} refused a valid token: {result.detail}"
    assert not result.detail.startswith("no message"), (
        f"{api.ws_url()} accepted the connection but sent nothing within {wait:g}s")
