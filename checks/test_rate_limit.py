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
@pytest.mark.runbook(RATE_LIMITING, "Troubleshooting / Common Issues / API Issues")
def check_rate_limit_enforced(api, expect, limited, evidence):
    """Past the rate limit the next request gets a 429, while `/health` still answers 200.

    The guide's limit is 100 requests per 15 minutes per client (`api.rate_limit.limit`, `api.rate_limit.window_s`).
    With a valid token the check sends requests to `api.auth.probe_path` until a 429 comes, at most the limit plus
    `api.rate_limit.margin` (5) however many the run spent already: no 429 by then means rate limiting is off for this
    client. `/health` must not be limited while the client is (probes would kill healthy pods).

    Disruptive: it spends the suite's whole window, so it runs last; every other check shares `api.request_budget` (88)
    so as not to reach the limit first. The requests it sent and the run spent go into the evidence.

    When it fails: No 429: check that the guide's `rateLimit({ windowMs: 15 * 60 * 1000, max: 100 })` covers `/api/*`,
    that the suite's address is not exempt, and that the pods share one store (each counting alone may not reach 100).
    `/health` limited: register the limiter after the health routes, or skip them.
    """
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
@pytest.mark.runbook(RATE_LIMITING, "Troubleshooting / Common Issues / API Issues")
def check_rate_limit_headers(api, expect, limited):
    """The 429 carries `Retry-After` and `RateLimit-*` or `X-RateLimit-*` headers consistent with the limit.

    Read from the same 429 as `check_rate_limit_enforced` (the window is spent once): `Retry-After` in seconds, from 1
    to the window (`api.rate_limit.window_s`, 900); `RateLimit-Limit` or `X-RateLimit-Limit` equal to the limit
    (`api.rate_limit.limit`, 100); `RateLimit-Remaining` or `X-RateLimit-Remaining` 0. The two spellings are
    express-rate-limit's and koa-ratelimit's. Skipped when no 429 came.

    A warning, beyond the guide: the headers let clients back off correctly.

    When it fails: Compare the headers the message quotes with the limiter's settings: express-rate-limit sends
    `RateLimit-*` with `standardHeaders: true`, `X-RateLimit-*` with `legacyHeaders`, and `Retry-After` on a 429. Values
    other than 100 per 15 minutes mean the limiter is configured otherwise than the guide.
    """
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
