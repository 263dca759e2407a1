"""The monthly access review, as checks: from the refused requests the API logs with their client, a
client trying token after token (a brute force), a client hammering past the rate limit, and a route
on which tokens fail at scale (its refused share, against every request the metrics count); the top
offenders, their routes and user agents, in the evidence.

Guide: Maintenance Schedule / Monthly Tasks (Review access logs); Security Best Practices /
Authentication & Authorization (the JWT middleware's 401s) and Rate Limiting (100 per 15 minutes).
"""

import fnmatch
import time
from collections import Counter, defaultdict

import pytest

from nbaverify.probes import logs

pytestmark = [
    pytest.mark.area("security"),
    pytest.mark.runbook("Maintenance Schedule / Monthly Tasks / Review access logs"),
]

AUTH = "Security Best Practices / Authentication & Authorization"
RATE = "Security Best Practices / Authentication & Authorization / Rate Limiting"


@pytest.fixture(scope="module")
def refused(api_logs, expect):
    """(the month's log, its refusals from other clients, the suite's own refusals)."""
    return _refused(api_logs.last(expect["access.window_h"] * 3600), expect)


def _refused(
    window: logs.LogWindow, expect
) -> tuple[logs.LogWindow, list[logs.Refusal], list[logs.Refusal]]:
    ignored = tuple(expect["access.ignore_user_agents"])
    everything = logs.refusals(window.records)
    own = [r for r in everything if ignored and r.agent.startswith(ignored)]
    return window, [r for r in everything if r not in own], own


def _offenders(
    found: list[logs.Refusal], covered_s: float, top: int
) -> list[tuple[str, int, float, str]]:
    """(client, count, an hour, what it did) of the clients most refused, the most first."""
    by_client: dict[str, list[logs.Refusal]] = defaultdict(list)
    for refusal in found:
        by_client[refusal.client].append(refusal)
    ranked = sorted(by_client.items(), key=lambda item: -len(item[1]))[:top]
    return [
        (
            client,
            len(hits),
            logs.per_hour(len(hits), covered_s),
            ", ".join(
                f"{n}x {route}"
                for route, n in Counter(f"{h.method} {h.path}" for h in hits).most_common(2)
            )
            + f' (ua "{Counter(h.agent for h in hits).most_common(1)[0][0]}")',
        )
        for client, hits in ranked
    ]


def _review(refused, expect, evidence, statuses: set[int], limit_key: str, what: str) -> None:
    window, found, own = refused
    mine = [r for r in found if r.status in statuses]
    covered = window.covered_s()
    offenders = _offenders(mine, covered, expect["access.top_offenders"])
    limit = expect[limit_key]
    evidence.update(
        read=window.describe(),
        refused=len(mine),
        suite_own_not_counted=sum(r.status in statuses for r in own),
        by_route=dict(
            Counter(f"{r.method} {r.path}" for r in mine).most_common(
                expect["access.top_offenders"]
            )
        ),
        top_offenders=[f"{c}: {n} ({rate:.0f} an hour): {did}" for c, n, rate, did in offenders],
    )
    over = [(c, n, rate, did) for c, n, rate, did in offenders if rate > limit]
    if over:
        client, count, rate, did = over[0]
        pytest.fail(
            f"API log ({window.describe()}): client {client} {what} {count} times ({rate:.0f} an"
            f" hour, limit {limit:g}): {did}"
            + (f"; {len(over) - 1} more client(s) over the limit" if len(over) > 1 else ""),
            pytrace=False,
        )


@pytest.mark.monthly
@pytest.mark.severity("critical")
@pytest.mark.runbook(AUTH)
def check_no_token_brute_force(refused, expect, evidence):
    """No client is refused (401/403) more than `access.max_refused_per_client_per_hour` (30) times
    an hour in the API's log.

    Many refused tokens from one client are someone guessing, or a stolen token replayed after
    revocation. Refusals are the API's `Access refused: <status> <method> <path> from <client>
    ua="..."` lines (or a combined-format access log's), read from the API's log over
    `access.window_h` (720 h, 30 days); a log younger than an hour counts as an hour. The suite's
    own probes (a user agent starting with one of `access.ignore_user_agents`, `nbaverify`) are
    shown in the evidence, not counted. The top offenders (`access.top_offenders`, 5) go into the
    evidence with their most frequent routes and user agent.

    When it fails: Read the client, its routes and user agent in the message and the evidence's
    `top_offenders`. A client of your own with a stale or revoked token needs a valid one; an
    unknown client guessing tokens goes to the security team (Escalation Path) to block at the edge.
    """
    _review(
        refused,
        expect,
        evidence,
        {401, 403},
        "access.max_refused_per_client_per_hour",
        "was refused (401/403)",
    )


@pytest.mark.monthly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RATE)
def check_no_client_hammering_the_limit(refused, expect, evidence):
    """No client is rate limited (429) more than `access.max_rate_limited_per_client_per_hour` (100)
    times an hour in the API's log.

    A client limited that often keeps hammering past the limit. Refusals are the API's `Access
    refused: <status> <method> <path> from <client> ua="..."` lines (or a combined-format access
    log's), read from the API's log over `access.window_h` (720 h, 30 days); a log younger than an
    hour counts as an hour. The suite's own probes (a user agent starting with one of
    `access.ignore_user_agents`, `nbaverify`) are shown in the evidence, not counted. The top
    offenders (`access.top_offenders`, 5) go into the evidence with their most frequent routes and
    user agent.

    When it fails: Read the client, its routes and user agent in the evidence's `top_offenders`. A
    client of your own must back off on a 429 (honour `Retry-After`) or be given its own limit; an
    unknown one goes to the security team to block. Waive it, with an owner and an expiry, only
    while a known client is being fixed.
    """
    _review(
        refused,
        expect,
        evidence,
        {429},
        "access.max_rate_limited_per_client_per_hour",
        "was rate limited (429)",
    )


@pytest.mark.monthly
@pytest.mark.severity("warning")
@pytest.mark.runbook(AUTH)
def check_refused_share_per_route(refused, prom, expect, evidence):
    """No route with at least `access.min_route_requests` (100) requests has more than
    `access.max_refused_share` (25 %) of them refused (401/403).

    The refusals come from the API's log over `access.window_h` (720 h), where the suite's own
    probes say who they are (`access.ignore_user_agents`) and are not counted: the request metrics
    cannot tell them apart (a forged-token probe is a 401 like any other). Every request comes from
    Prometheus, `increase(http_requests_total[<the log's window>])` by method and route. Both are
    judged over the part of the window both hold (Prometheus's
    `prometheus_tsdb_lowest_timestamp_seconds` where it keeps less than the log). Route templates
    such as `/api/players/{id}` and `/api/players/:id`, and the log's paths with their ids folded,
    are one route; routes the log refused that the metrics do not know are listed in the evidence.
    A route's requests are never taken as fewer than the log's refusals on it: a series new in the
    window (a route's first 401 since the API started) counts nothing before its first scrape.

    A route where tokens fail at scale is a client deployed with a stale secret, or guessing spread
    over many clients, which the per-client check does not see. A warning: refused requests harm
    nothing by themselves.

    When it fails: Read the route and its most refused clients in the message. A few clients refused
    again and again are usually deployed with a stale `JWT_SECRET` or token: check their
    configuration against the API's. Refusals spread over many clients look like guessing: hand them
    to the security team.
    """
    window = refused[0]
    # Prometheus may keep less than the log: both are judged over what both hold
    oldest = prom.oldest_sample()
    if oldest is not None and time.time() - oldest < window.covered_s():
        window = window.last(time.time() - oldest)
    _, found, _own = _refused(window, expect)
    seconds = int(window.covered_s()) + 1
    totals: dict[str, float] = defaultdict(float)
    # every route with a sample in the window, 0 where increase() has none to count (a series new
    # in the window, all of its requests before its first scrape): the route is known, and judged
    counted = f"sum by (method, route) (increase(http_requests_total[{seconds}s]))"
    known = f"sum by (method, route) (0 * last_over_time(http_requests_total[{seconds}s]))"
    for sample in prom.query(f"{counted} or {known}"):
        labels = sample["metric"]
        if labels.get("route"):
            totals[logs.route_key(labels.get("method", "GET"), labels["route"])] += float(
                sample["value"][1]
            )
    shares, unmatched = logs.refused_shares(found, totals)
    limit, least = expect["access.max_refused_share"], expect["access.min_route_requests"]
    evidence.update(
        read=window.describe(),
        unmatched_routes=unmatched,
        routes=[
            f"{s.route}: {s.refused} of {s.total:.0f} refused ({s.share:.0%})"
            for s in shares[: expect["access.top_offenders"]]
        ],
    )
    over = [s for s in shares if s.total >= least and s.share > limit]
    if over:
        worst = over[0]
        clients = ", ".join(f"{client} ({n})" for client, n in worst.clients)
        pytest.fail(
            f"API log and request metrics ({window.describe()}): {worst.route}: {worst.refused} of"
            f" {worst.total:.0f} requests were refused (401/403), {worst.share:.0%} (limit"
            f" {limit:.0%} of at least {least} requests; the suite's own probes not counted); most"
            f" refused: {clients}"
            + (f"; {len(over) - 1} more route(s) over the limit" if len(over) > 1 else ""),
            pytrace=False,
        )


@pytest.mark.monthly
@pytest.mark.severity("warning")
@pytest.mark.runbook(AUTH)
def check_token_subjects_known(api_logs, expect, evidence):
    """Every subject the API accepted a token for matches `access.known_subjects` (shell patterns).

    A valid token for a subject nobody issued means the signing secret mints tokens outside the
    issuer (leaked, or shared with a service nobody registered). The list is empty by default, so
    the check skips as not configured until a team lists its issuer's subjects, with the suite's own
    (`nbaverify`, `nbaverify-load-*`).

    It needs the API to log the subjects it accepts, `Token accepted: sub="..." from <ip> ua="..."`
    (both reference APIs write it the first time each subject presents itself from each client:
    bounded, not a line a request); the guide's middleware does not, and such a platform's check
    skips saying so instead of passing. Read over `access.window_h` (720 h). The suite's own probes
    (a user agent starting with one of `access.ignore_user_agents`, `nbaverify`) are shown in the
    evidence, not counted: `check_odd_claims_never_crash` signs tokens whose `sub` is an object or a
    number, which a platform may accept and log.

    A warning: the list may simply be out of date.

    When it fails: Find who holds the token: the message names the subject, client address and user
    agent. A subject your issuer does grant goes into `access.known_subjects` in the profile's
    `[expectations]`; one nobody issued means `JWT_SECRET` has leaked: escalate to the security
    team, who rotate it (Monthly Tasks: Rotate credentials).
    """
    known = expect["access.known_subjects"]
    if not known:
        pytest.skip(
            "not configured: expectations.access.known_subjects (the subjects your issuer grants"
            " tokens to)"
        )
    window = api_logs.last(expect["access.window_h"] * 3600)
    seen = logs.acceptances(window.records)
    if not seen:
        pytest.skip(
            f"the API's log names no subject it accepted a token for ({window.describe()}): it"
            ' writes no `Token accepted: sub="..." from <ip>` line'
        )
    ignored = tuple(expect["access.ignore_user_agents"])
    # the suite's odd-claims probes: a sub that is no string
    own = [a for a in seen if a.agent.startswith(ignored)]
    unknown = [
        a
        for a in seen
        if a not in own and not any(fnmatch.fnmatchcase(a.subject, pattern) for pattern in known)
    ]
    by_subject: dict[str, list[logs.Acceptance]] = defaultdict(list)
    for acceptance in unknown:
        by_subject[acceptance.subject].append(acceptance)
    evidence.update(
        read=window.describe(),
        subjects=sorted({a.subject for a in seen})[:50],
        suite_own_not_counted=sorted({a.subject for a in own})[:20],
        unknown={
            s: sorted({f"{a.client} ua={a.agent!r}" for a in hits})
            for s, hits in by_subject.items()
        },
    )
    if by_subject:
        subject, hits = next(iter(by_subject.items()))
        pytest.fail(
            f"API log ({window.describe()}): a token for subject {subject!r}, which"
            " expectations.access.known_subjects does not list, was accepted from"
            f" {', '.join(sorted({a.client for a in hits}))} (ua {hits[0].agent!r}): is the signing"
            " secret minting tokens outside your issuer?"
            + (f"; {len(by_subject) - 1} more unknown subject(s)" if len(by_subject) > 1 else ""),
            pytrace=False,
        )
