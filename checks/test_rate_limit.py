"""Rate limiting: past the limit the next request gets 429 with consistent headers; health is not limited.

Guide: Security Best Practices / Authentication & Authorization / Rate Limiting (100 per 15 minutes
per client). Disruptive: it spends the suite's whole window, so the plugin runs it last.
"""

import pytest

pytestmark = [pytest.mark.area("security")]

RATE_LIMITING = "Security Best Practices / Authentication & Authorization / Rate Limiting"


@pytest.fixture(scope="module")
def limited(api, expect):
    """Spend the window once, for both checks below: the 429 (or the last reply, when none came) and the count."""
    limit, margin = expect["api.rate_limit.limit"], expect["api.rate_limit.margin"]
    path, token = expect["api.auth.probe_path"], api.token()
    # never more than the limit plus a margin, however many the run already spent
    for sent in range(1, limit + margin + 1):  # noqa: B007 - read after the loop
        reply = api.get(path, token=token, expect_429=True)
        if reply.status_code == 429:
            break
    return reply, sent


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.safety("disruptive")
@pytest.mark.runbook(RATE_LIMITING)
def check_rate_limit_enforced(api, expect, limited, evidence):
    limit, window, margin = (expect["api.rate_limit.limit"], expect["api.rate_limit.window_s"],
                             expect["api.rate_limit.margin"])
    path = expect["api.auth.probe_path"]
    reply, sent = limited
    evidence.update(sent_by_this_check=sent, spent_by_run=api.spent)
    if reply.status_code != 429:
        pytest.fail(f"GET {api.url(path)}: {limit + margin} requests in a row and no 429 (limit {limit} per "
                    f"{window // 60:g} minutes): rate limiting is off for this client")
    health = api.get(expect["api.health_path"])
    assert health.status_code == 200, (
        f"GET {api.url(expect['api.health_path'])} returned {health.status_code} while the client was rate limited: "
        "health endpoints must not be limited (probes would kill healthy pods)")


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.safety("disruptive")
@pytest.mark.runbook(RATE_LIMITING)
def check_rate_limit_headers(api, expect, limited):
    """Beyond the guide: Retry-After and the limit headers (RateLimit-* or X-RateLimit-*) let clients back off."""
    limit, window = expect["api.rate_limit.limit"], expect["api.rate_limit.window_s"]
    path = expect["api.auth.probe_path"]
    reply, _ = limited
    if reply.status_code != 429:
        pytest.skip(f"no 429 from GET {api.url(path)} to read headers from (see check_rate_limit_enforced)")
    headers = reply.headers
    limit_header = headers.get("ratelimit-limit") or headers.get("x-ratelimit-limit")
    remaining = headers.get("ratelimit-remaining") or headers.get("x-ratelimit-remaining")
    retry_after = headers.get("retry-after")
    problems = []
    if retry_after is None or not retry_after.isdigit() or not 0 < int(retry_after) <= window:
        problems.append(f"Retry-After is {retry_after!r} (want seconds, 1..{window})")
    if limit_header is None or limit_header.split(",")[0].strip().split(";")[0] != str(limit):
        problems.append(f"RateLimit-Limit (or X-RateLimit-Limit) is {limit_header!r} (want {limit})")
    if remaining is None or remaining.strip() != "0":
        problems.append(f"RateLimit-Remaining (or X-RateLimit-Remaining) is {remaining!r} on a 429 (want 0)")
    assert not problems, f"429 from GET {api.url(path)}: {'; '.join(problems)}; clients cannot back off correctly"
