"""The monthly access review, as checks: from the refused requests the API logs with their client, a client
trying token after token (a brute force), and a client hammering past the rate limit; the top offenders,
their routes and user agents, in the evidence.

Guide: Maintenance Schedule / Monthly Tasks (Review access logs); Security Best Practices /
Authentication & Authorization (the JWT middleware's 401s) and Rate Limiting (100 per 15 minutes).
"""

from collections import Counter, defaultdict

import pytest

from nbaverify.probes import logs

pytestmark = [pytest.mark.area("security"), pytest.mark.runbook("Maintenance Schedule / Monthly Tasks")]

AUTH = "Security Best Practices / Authentication & Authorization"
RATE = "Security Best Practices / Rate Limiting"


@pytest.fixture(scope="module")
def refused(api_logs, expect):
    """(the month's log, its refusals from other clients, the suite's own refusals)."""
    window = api_logs.last(expect["access.window_h"] * 3600)
    ignored = tuple(expect["access.ignore_user_agents"])
    everything = logs.refusals(window.records)
    own = [r for r in everything if ignored and r.agent.startswith(ignored)]
    return window, [r for r in everything if r not in own], own


def _offenders(found: list[logs.Refusal], covered_s: float, top: int) -> list[tuple[str, int, float, str]]:
    """(client, count, an hour, what it did) of the clients most refused, the most first."""
    by_client: dict[str, list[logs.Refusal]] = defaultdict(list)
    for refusal in found:
        by_client[refusal.client].append(refusal)
    ranked = sorted(by_client.items(), key=lambda item: -len(item[1]))[:top]
    return [(client, len(hits), logs.per_hour(len(hits), covered_s),
             ", ".join(f"{n}x {route}" for route, n in Counter(f"{h.method} {h.path}" for h in hits).most_common(2))
             + f' (ua "{Counter(h.agent for h in hits).most_common(1)[0][0]}")') for client, hits in ranked]


def _review(refused, expect, evidence, statuses: set[int], limit_key: str, what: str) -> None:
    window, found, own = refused
    mine = [r for r in found if r.status in statuses]
    covered = window.covered_s()
    offenders = _offenders(mine, covered, expect["access.top_offenders"])
    limit = expect[limit_key]
    evidence.update(read=window.describe(), refused=len(mine), suite_own_not_counted=sum(r.status in statuses for r in own),
                    by_route=dict(Counter(f"{r.method} {r.path}" for r in mine).most_common(expect["access.top_offenders"])),
                    top_offenders=[f"{c}: {n} ({rate:.0f} an hour): {did}" for c, n, rate, did in offenders])
    over = [(c, n, rate, did) for c, n, rate, did in offenders if rate > limit]
    if over:
        client, count, rate, did = over[0]
        pytest.fail(f"API log ({window.describe()}): client {client} {what} {count} times ({rate:.0f} an hour, limit "
                    f"{limit:g}): {did}" + (f"; {len(over) - 1} more client(s) over the limit" if len(over) > 1 else ""),
                    pytrace=False)


@pytest.mark.monthly
@pytest.mark.severity("critical")
@pytest.mark.runbook(AUTH)
def check_no_token_brute_force(refused, expect, evidence):
    """Many refused tokens from one client: someone guessing, or a stolen token replayed after revocation."""
    _review(refused, expect, evidence, {401, 403}, "access.max_refused_per_client_per_hour", "was refused (401/403)")


@pytest.mark.monthly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RATE)
def check_no_client_hammering_the_limit(refused, expect, evidence):
    _review(refused, expect, evidence, {429}, "access.max_rate_limited_per_client_per_hour", "was rate limited (429)")
