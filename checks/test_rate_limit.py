"""Rate limiting: past the limit the next request gets 429 with consistent headers; health is not
limited; the limiter counts every client by its own address, every data route, refused requests too,
over the guide's window.

Guide: Security Best Practices / Authentication & Authorization / Rate Limiting (100 per 15 minutes
per client). The checks that spend the suite's whole window are disruptive, so the plugin runs them
last; the others read the limiter's `RateLimit-Remaining` on a handful of requests within the
budget.
"""

import itertools
import random
import time
from typing import NamedTuple

import httpx
import pytest

from nbaverify import exposition
from nbaverify.probes import http, rate_limit

pytestmark = [pytest.mark.area("security")]

RATE_LIMITING = "Security Best Practices / Authentication & Authorization / Rate Limiting"
FORGED_NETWORK = "203.0.113"  # TEST-NET-3 (RFC 5737): an address no real client has
TURN_WAIT_S = 90  # the window check waits for a turn this near, to measure a whole window
NO_COUNT = (
    "no RateLimit-Remaining (nor X-RateLimit-Remaining): the limiter's count of this client cannot"
    " be seen (is the suite's address allowlisted?)"
)


def _views(api, requests) -> list:
    """Send (path, token, headers) requests in order; their replies and the limiter's view of each
    (or None). When the window turns between two of them, send the lot once more: counts from two
    windows compare nothing.
    """
    for _ in range(2):
        replies = [api.get(path, token=token, headers=headers) for path, token, headers in requests]
        views = [rate_limit.view(reply.headers, time.time()) for reply in replies]
        seen = [view for view in views if view is not None]
        if all(rate_limit.counted(a, b) is not None for a, b in itertools.pairwise(seen)):
            break
    return list(zip(replies, views, strict=True))


@pytest.fixture(scope="module")
def limited(api, expect):
    """Spend the window once, for the checks below: the 429 (or the last reply, when none came), the
    count, the time, and the limiter's view of each reply before it. Each request goes on a new
    connection, as a client's do through a balancer, so that each instance behind the address
    answers some."""
    limit, margin = expect["api.rate_limit.limit"], expect["api.rate_limit.margin"]
    path, token = expect["api.auth.probe_path"], api.token()
    views = []
    # never more than the limit plus a margin, however many the run already spent
    for sent in range(1, limit + margin + 1):  # noqa: B007 - read after the loop
        reply = api.get(path, token=token, headers={"connection": "close"}, expect_429=True)
        if reply.status_code == 429:
            break
        views.append(rate_limit.view(reply.headers, time.time()))
    return Limited(reply, sent, time.time(), views)


class Limited(NamedTuple):
    """What spending the window drew: the last reply (the 429), how many were sent, when, and the
    count on each."""

    reply: httpx.Response
    sent: int
    at: float
    views: list[rate_limit.LimiterView | None]


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.safety("disruptive")
@pytest.mark.runbook(RATE_LIMITING, "Troubleshooting / Common Issues / API Issues")
def check_rate_limit_enforced(api, expect, limited, evidence):
    """Past the rate limit the next request gets a 429, while `/health` still answers 200.

    The guide's limit is 100 requests per 15 minutes per client (`api.rate_limit.limit`,
    `api.rate_limit.window_s`). With a valid token the check sends requests to `api.auth.probe_path`
    until a 429 comes, at most the limit plus `api.rate_limit.margin` (5) however many the run spent
    already: no 429 by then means rate limiting is off for this client. `/health` must not be
    limited while the client is (probes would kill healthy pods).

    Disruptive: it spends the suite's whole window, so it runs last; every other check shares
    `api.request_budget` (98) so as not to reach the limit first. The requests it sent and the run
    spent go into the evidence.

    When it fails: No 429: check that the guide's `rateLimit({ windowMs: 15 * 60 * 1000, max: 100
    })` covers `/api/*`, that the suite's address is not exempt, and that the pods share one store
    (each counting alone may not reach 100). `/health` limited: register the limiter after the
    health routes, or skip them.
    """
    limit, window, margin = (
        expect["api.rate_limit.limit"],
        expect["api.rate_limit.window_s"],
        expect["api.rate_limit.margin"],
    )
    path = expect["api.auth.probe_path"]
    reply, sent = limited.reply, limited.sent
    evidence.update(sent_by_this_check=sent, spent_by_run=api.spent)
    counts = [view.remaining for view in limited.views if view is not None]
    if reply.status_code != 429 and counts:
        pytest.fail(
            f"GET {api.url(path)}: {limit + margin} requests in a row and no 429 (limit {limit} per"
            f" {window // 60:g} minutes), though each carried a count (RateLimit-Remaining"
            f" {counts[0]} first, {counts[-1]} last): the limiter lets this client past the limit"
        )
    if reply.status_code != 429:
        pytest.fail(
            f"GET {api.url(path)}: {limit + margin} requests in a row and no 429 (limit {limit} per"
            f" {window // 60:g} minutes): rate limiting is off for this client"
        )
    health = api.get(expect["api.health_path"])
    assert health.status_code == 200, (
        f"GET {api.url(expect['api.health_path'])} returned {health.status_code} while the client"
        " was rate limited: health endpoints must not be limited (probes would kill healthy pods)"
    )


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.safety("disruptive")
@pytest.mark.runbook(RATE_LIMITING, "Troubleshooting / Common Issues / API Issues")
def check_rate_limit_headers(api, expect, limited):
    """The 429 carries `Retry-After` and `RateLimit-*` or `X-RateLimit-*` headers consistent with
    the limit.

    Read from the same 429 as `check_rate_limit_enforced` (the window is spent once): `Retry-After`
    in seconds, from 1 to the window (`api.rate_limit.window_s`, 900); `RateLimit-Limit` or
    `X-RateLimit-Limit` equal to the limit (`api.rate_limit.limit`, 100); `RateLimit-Remaining` or
    `X-RateLimit-Remaining` 0. The two spellings are express-rate-limit's and koa-ratelimit's.
    Skipped when no 429 came.

    A warning, beyond the guide: the headers let clients back off correctly.

    When it fails: Compare the headers the message quotes with the limiter's settings:
    express-rate-limit sends `RateLimit-*` with `standardHeaders: true`, `X-RateLimit-*` with
    `legacyHeaders`, and `Retry-After` on a 429. Values other than 100 per 15 minutes mean the
    limiter is configured otherwise than the guide.
    """
    limit, window = expect["api.rate_limit.limit"], expect["api.rate_limit.window_s"]
    path = expect["api.auth.probe_path"]
    reply = limited.reply
    if reply.status_code != 429:
        pytest.skip(
            f"no 429 from GET {api.url(path)} to read headers from (see check_rate_limit_enforced)"
        )
    headers = reply.headers
    limit_header = headers.get("ratelimit-limit") or headers.get("x-ratelimit-limit")
    remaining = headers.get("ratelimit-remaining") or headers.get("x-ratelimit-remaining")
    retry_after = headers.get("retry-after")
    problems = []
    if retry_after is None or not retry_after.isdigit() or not 0 < int(retry_after) <= window:
        problems.append(f"Retry-After is {retry_after!r} (want seconds, 1..{window})")
    if limit_header is None or limit_header.split(",")[0].strip().split(";")[0] != str(limit):
        problems.append(
            f"RateLimit-Limit (or X-RateLimit-Limit) is {limit_header!r} (want {limit})"
        )
    if remaining is None or remaining.strip() != "0":
        problems.append(
            f"RateLimit-Remaining (or X-RateLimit-Remaining) is {remaining!r} on a 429 (want 0)"
        )
    assert not problems, (
        f"429 from GET {api.url(path)}: {'; '.join(problems)}; clients cannot back off correctly"
    )


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.safety("disruptive")
@pytest.mark.runbook(RATE_LIMITING, "Security Best Practices / Data Protection / Data Sanitization")
def check_security_headers_on_429(api, limited, evidence):
    """The 429 carries every one of `helmet()`'s protections, as every other reply does.

    Read from the same 429 as `check_rate_limit_enforced` (the window is spent once); each finding
    of `check_security_header` is judged on it. koa-ratelimit and express-rate-limit answer the 429
    by throwing, so an error handler that rebuilds the reply (Koa's default one) drops the headers
    set before it. Skipped when no 429 came. Critical, as `check_security_headers_on_errors` (a 404)
    is: the guide applies `helmet()` to every reply.

    When it fails: Keep `app.use(helmet())` ahead of the limiter and let the error-handling
    middleware set the status and body only, never clear the headers; confirm with `curl -si` once
    the client is limited.
    """
    reply = limited.reply
    if reply.status_code != 429:
        pytest.skip(
            f"no 429 from {api.base_url} to read headers from (see check_rate_limit_enforced)"
        )
    missing = http.missing_protections(reply.headers, api.base_url.startswith("https://"))
    evidence.update(missing=missing)
    assert not missing, (
        f"the 429 of {api.base_url} came without helmet()'s protections: {'; '.join(missing)}; an "
        "error reply must keep the headers set before the error"
    )


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.safety("disruptive")
@pytest.mark.runbook(RATE_LIMITING)
def check_rate_limit_covers_websocket(api, expect, limited, evidence):
    """A client past its rate limit cannot open `WS /ws/live` either: the upgrade is refused 429.

    Once `check_rate_limit_enforced` has drawn its 429, one WebSocket handshake with a valid token.
    Koa and Express hand the HTTP upgrade to `ws` without running their middleware, so a limiter
    mounted with `app.use` never sees it: a flood of live-feed connections (each a socket and a
    subscriber held open) goes uncounted. A warning, beyond the guide's limiter; skipped when no 429
    came.

    When it fails: Count the upgrade in the server's `upgrade` handler before `wss.handleUpgrade`
    (run the limiter on a context of the request, refuse with `HTTP/1.1 429`), or limit connections
    at the ingress (ingress-nginx `limit-connections`).
    """
    path = expect["api.auth.probe_path"]
    if limited.reply.status_code != 429:
        pytest.skip(
            f"no 429 from GET {api.url(path)}: this client is not limited (see"
            " check_rate_limit_enforced)"
        )
    result = api.subscribe(api.token(), expect["api.websocket.message_within_s"], expect_429=True)
    evidence.update(websocket=result.detail)
    assert result.status == 429, (
        f"{api.ws_url()} with a valid token, while GET {api.url(path)} answered this client 429:"
        f" {'accepted' if result.accepted else 'refused'} ({result.detail}), not refused 429: the"
        " rate limiter does not count the WebSocket upgrade; run it in the server's upgrade"
        " handler before handleUpgrade"
    )


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.safety("disruptive")
@pytest.mark.runbook(RATE_LIMITING)
def check_rate_limit_one_count_per_client(api, expect, limited, evidence):
    """Every instance behind the API's address counts a client in one shared window: the count falls
    by one each request.

    Read from the requests that spent the window for `check_rate_limit_enforced`, each sent on a new
    connection (so a balancer hands them to every instance in turn): their `RateLimit-Remaining` (or
    `X-RateLimit-Remaining`) must fall by one from each to the next. A count that stays or rises
    again, beyond one turn of the window, means the replies carry more than one count for this
    client: instances each keeping their own store (koa-ratelimit's or express-rate-limit's memory
    store under PM2 cluster mode, or several pods) let through the limit times their number. Skipped
    when fewer than three replies carry a count.

    When it fails: Give the limiter one store every instance shares (koa-ratelimit's `driver:
    'redis'`, express-rate-limit's `rate-limit-redis`), or count at the ingress (ingress-nginx's
    `limit-rpm` per address).
    """
    path = expect["api.auth.probe_path"]
    seen = [view for view in limited.views if view is not None]
    if len(seen) < 3:
        pytest.skip(
            f"only {len(seen)} of the {limited.sent} requests to GET {api.url(path)} carried"
            f" {NO_COUNT}"
        )
    remaining = [view.remaining for view in seen]
    stalls = rate_limit.stalls(seen, expect["api.rate_limit.limit"])
    evidence.update(remaining=remaining)
    assert not stalls, (
        f"GET {api.url(path)}, {len(remaining)} requests on new connections: RateLimit-Remaining"
        f" did not fall {len(stalls)} times (e.g. {stalls[0][1]} after {stalls[0][0]}; first"
        f" {remaining[0]}, last {remaining[-1]}): the replies carry more than one count for this"
        " client, so each instance lets through the whole limit; give the limiter one shared store"
        " (koa-ratelimit driver 'redis')"
    )


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.safety("disruptive")
@pytest.mark.runbook(RATE_LIMITING)
def check_rate_limit_window(api, expect, limited, evidence):
    """The limiter's window is the guide's 15 minutes: 100 requests a minute must not pass.

    Measured, not read from a setting: when this run's first request to `/api/` opened a window (its
    `RateLimit-Remaining` one below the limit), the seconds its `RateLimit-Reset` (or
    `X-RateLimit-Reset`) gave are the window. Otherwise the check waits for the window that the 429
    of `check_rate_limit_enforced` ends, when it ends within 90 s, and reads a fresh one. A window
    that began before this run and ends later than that is not measured: skipped, saying how long it
    lasts at least. Fails when the window is shorter than `api.rate_limit.window_s` (900) by more
    than 5 %.

    When it fails: Set the limiter's window to the guide's (`windowMs: 15 * 60 * 1000`;
    koa-ratelimit: `duration`, in milliseconds); a limit of 100 over a shorter window lets a client
    send that many again and again.
    """
    limit, window = expect["api.rate_limit.limit"], expect["api.rate_limit.window_s"]
    path = expect["api.auth.probe_path"]
    reply, at = limited.reply, limited.at
    if reply.status_code != 429:
        pytest.skip(
            f"no 429 from GET {api.url(path)}: no window to measure (see check_rate_limit_enforced)"
        )
    first = (
        rate_limit.view(api.first_limited[1], api.first_limited[0]) if api.first_limited else None
    )
    ends_in = rate_limit.reset_in(reply.headers, at)
    if first is not None and first.remaining == limit - 1 and first.reset_in_s is not None:
        measured, how = first.reset_in_s, "from this run's first request, which opened it"
    elif ends_in is None:
        pytest.skip(
            f"the 429 from GET {api.url(path)} says neither Retry-After nor when the window resets,"
            " and this run's first request did not open the window: its length cannot be measured"
        )
    elif ends_in <= TURN_WAIT_S:
        time.sleep(ends_in + 1)
        fresh = rate_limit.view(
            api.get(path, token=api.token(), expect_429=True).headers, time.time()
        )
        if fresh is None or fresh.reset_in_s is None or fresh.remaining != limit - 1:
            pytest.skip(
                f"GET {api.url(path)} after the 429's window ended did not carry"
                " RateLimit-Remaining one below the limit and a reset: the new window cannot be"
                " measured"
            )
        measured, how = fresh.reset_in_s, "from the first request after the 429's window ended"
    else:
        at_least = (at - api.first_limited[0] if api.first_limited else 0) + ends_in
        if at_least >= window * 0.95:
            measured, how = at_least, "at least: the window began before this run"
        else:
            pytest.skip(
                "the window began before this run (other requests from this address) and ends in "
                f"{ends_in:.0f} s: it lasts at least {at_least:.0f} s, not measured"
            )
    evidence.update(window_s=round(measured), measured=how)
    assert measured >= window * 0.95, (
        f"GET {api.url(path)}: the rate-limit window lasts {measured:.0f} s ({how}), not {window}"
        f" s: {limit} requests per {measured / 60:.0f} min pass, not {limit} per {window / 60:.0f};"
        f" set the limiter's windowMs to {window * 1000}"
    )


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(RATE_LIMITING)
def check_rate_limit_ignores_forwarded_for(api, expect, evidence):
    """A forged `X-Forwarded-For` does not give the client a fresh rate-limit window.

    Two requests with a valid token to `api.auth.probe_path`: one plain, one with `X-Forwarded-For`
    set to an address of TEST-NET-3 (RFC 5737, no real client). The limiter must count both against
    this client: the second's `RateLimit-Remaining` below the first's. The same or more means the
    limiter keys clients on the header, so any client escapes the limit by writing a new address in
    it; no count on the second means the forged address is let through. Skipped when the replies
    carry no remaining count (the suite allowlisted, or a limiter without headers).

    When it fails: Trust `X-Forwarded-For` only as far as your own ingress writes it: Koa `app.proxy
    = true` only behind a proxy that overwrites the header (nginx `proxy_set_header X-Forwarded-For
    $remote_addr`) or with `app.maxIpsCount = 1`; express `app.set('trust proxy', 1)`, never `true`.
    """
    path, token = expect["api.auth.probe_path"], api.token()
    address = f"{FORGED_NETWORK}.{random.randint(1, 254)}"
    (_, before), (forged, after) = _views(
        api, [(path, token, None), (path, token, {"x-forwarded-for": address})]
    )
    evidence.update(
        forged_address=address,
        remaining_plain=before and before.remaining,
        remaining_forged=after and after.remaining,
    )
    if before is None:
        pytest.skip(f"GET {api.url(path)} carries {NO_COUNT}")
    assert after is not None, (
        f"GET {api.url(path)} with a forged X-Forwarded-For ({address}) came back"
        f" {forged.status_code} without RateLimit-Remaining, while the same request without it had"
        f" {before.remaining} left: the limiter lets the forged address through; trust"
        " X-Forwarded-For only as your ingress writes it"
    )
    assert after.remaining < before.remaining, (
        f"GET {api.url(path)}: with a forged X-Forwarded-For ({address}) RateLimit-Remaining was"
        f" {after.remaining}, after {before.remaining} without it: the limiter counts the forged"
        " address as a new client, so any client escapes the limit by writing the header; trust"
        " X-Forwarded-For only as your ingress writes it (Koa: app.proxy behind a proxy that"
        " overwrites it, or app.maxIpsCount = 1)"
    )


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(RATE_LIMITING)
def check_rate_limit_counts_clients_apart(api, expect, evidence):
    """Other clients' requests do not count in this client's window: every user has a window of
    their own.

    Two requests with a valid token to `api.auth.probe_path`, with other clients' requests reaching
    the API between them (counted by its `http_requests_total` on `/api` routes at
    `api.metrics.path`; the check waits up to `api.rate_limit.others_wait_s`, 10 s, for one). The
    second's `RateLimit-Remaining` must be one below the first's. Lower means requests this client
    did not send were counted in its window: the limiter keys everyone on one address, as an API
    behind an ingress sees every user when it does not trust the ingress's `X-Forwarded-For`, and
    all users share 100 requests per 15 minutes. Skipped when no other client's request came in that
    time (a platform nobody uses cannot tell), when the replies carry no count, or when `/metrics`
    cannot be read.

    When it fails: Key the limiter on the client, not the ingress: trust the ingress's
    `X-Forwarded-For` as far as it writes it (Koa: `app.proxy = true` with `app.maxIpsCount = 1`;
    express: `app.set('trust proxy', 1)`; nginx: `proxy_set_header X-Forwarded-For
    $proxy_add_x_forwarded_for`), then confirm with this check and
    `check_rate_limit_ignores_forwarded_for`.
    """
    path, token, metrics = expect["api.auth.probe_path"], api.token(), expect["api.metrics.path"]
    ((_, first),) = _views(api, [(path, token, None)])
    # after the first reply: what comes now comes between the two
    counted = since = _api_requests(api, metrics)
    if since is None:
        pytest.skip(
            f"GET {api.url(metrics)} gave no http_requests_total: other clients' requests cannot be"
            " counted"
        )
    deadline = time.monotonic() + expect["api.rate_limit.others_wait_s"]
    while counted <= since and time.monotonic() < deadline:
        time.sleep(0.25)
        counted = _api_requests(api, metrics) or counted
    ((_, second),) = _views(api, [(path, token, None)])
    others = counted - since
    evidence.update(
        remaining_first=first and first.remaining,
        remaining_second=second and second.remaining,
        other_requests=others,
    )
    if first is None or second is None:
        pytest.skip(f"GET {api.url(path)} carries {NO_COUNT}")
    fell = rate_limit.counted(first, second)
    if fell is None:
        pytest.skip(
            f"GET {api.url(path)}: the window turned between the check's two requests; nothing to"
            " compare"
        )
    assert fell <= 1, (
        f"GET {api.url(path)}: RateLimit-Remaining went from {first.remaining} to"
        f" {second.remaining} across one request of this client, while other clients sent"
        f" {others:.0f} to /api: {fell - 1} request(s) this client did not send were counted in its"
        " window, so the limiter does not tell clients apart (behind an ingress, all users share"
        " one window of the limit); key it on the client's own address from the ingress's"
        " X-Forwarded-For"
    )
    if others < 1:
        pytest.skip(
            f"no other client's request reached {api.base_url} in"
            f" {expect['api.rate_limit.others_wait_s']:g} s (http_requests_total on /api rose by"
            " this check's own only): whether clients share one window cannot be told"
        )


def _api_requests(api, path: str) -> float | None:
    """The API's own count of requests to /api routes (http_requests_total, every status), or None
    when unread."""
    reply = api.get(path)
    if reply.status_code != 200:
        return None
    try:
        family = exposition.families(reply.text).get("http_requests_total")
    except ValueError:
        return None
    if family is None:
        return None
    return sum(
        sample.value
        for sample in family.samples
        if sample.name == "http_requests_total"
        and sample.labels.get("route", "").startswith("/api")
    )


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(RATE_LIMITING)
def check_rate_limit_counts_refused_requests(api, expect, evidence):
    """A request refused for want of a token counts against the window: the limiter runs before the
    JWT middleware.

    Three requests to `api.auth.probe_path`: with a valid token, without one (401), with a valid
    token again. Between the first and the third `RateLimit-Remaining` must fall by at least two. By
    one means the refused request was not counted: token guessing and floods without a token are
    never limited. Skipped when the replies carry no remaining count, or when the request without a
    token is not refused (`check_auth_enforced` judges that).

    When it fails: Register the limiter ahead of the JWT middleware (`app.use('/api/', limiter)`
    before `app.use('/api/', requireJwt)`; with @koa/router, `router.use(limiter)` before
    `router.use(requireJwt)`).
    """
    path, token = expect["api.auth.probe_path"], api.token()
    (_, before), (refused, _), (_, after) = _views(
        api, [(path, token, None), (path, None, None), (path, token, None)]
    )
    evidence.update(
        remaining_before=before and before.remaining,
        refused_status=refused.status_code,
        remaining_after=after and after.remaining,
    )
    if before is None or after is None:
        pytest.skip(f"GET {api.url(path)} carries {NO_COUNT}")
    if refused.status_code not in (401, 403):
        pytest.skip(
            f"GET {api.url(path)} without a token answered {refused.status_code}, not 401: nothing"
            " refused to count (see check_auth_enforced)"
        )
    counted = rate_limit.counted(before, after)
    assert counted is None or counted >= 2, (
        f"GET {api.url(path)} without a token was refused {refused.status_code} and not counted:"
        f" RateLimit-Remaining went from {before.remaining} to {after.remaining} across it and the"
        " next request with a token (want 2 fewer): requests refused for their token are not"
        " limited, so token guessing never is; register the limiter before the JWT middleware"
    )


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(RATE_LIMITING)
def check_rate_limit_covers_every_route(api, expect, evidence):
    """Every listed data route counts against the window: each reply carries `RateLimit-Remaining`,
    one fewer each.

    One request with a valid token to `api.auth.probe_path` and to each of
    `api.performance.endpoints` (the key data routes), in order. A reply without the remaining
    count, or a count that did not fall since the previous reply, names a route the limiter does not
    cover. Skipped when no reply carries the count (the suite allowlisted, or a limiter without
    headers).

    When it fails: Mount the limiter on the whole prefix ahead of every router (`app.use('/api/',
    limiter)`); a route registered on its own router or app beside the limited one is not counted.
    """
    paths = list(
        dict.fromkeys([expect["api.auth.probe_path"], *expect["api.performance.endpoints"]])
    )
    token = api.token()
    answers = _views(api, [(path, token, None) for path in paths])
    evidence.update(
        {path: view and view.remaining for path, (_, view) in zip(paths, answers, strict=True)}
    )
    if all(view is None for _, view in answers):
        pytest.skip(f"none of the replies to {', '.join(paths)} carries {NO_COUNT}")
    gaps, previous = [], None
    for path, (reply, view) in zip(paths, answers, strict=True):
        if view is None:
            gaps.append(f"GET {path} ({reply.status_code}) carries no RateLimit-Remaining")
            continue
        if previous is not None and rate_limit.counted(previous, view) == 0:
            gaps.append(
                f"GET {path} was not counted (RateLimit-Remaining {view.remaining} before and"
                " after it)"
            )
        previous = view
    assert not gaps, (
        f"on {api.base_url}: {'; '.join(gaps)}: the limiter does not cover every data route; mount"
        " it on /api/ ahead of every router"
    )
