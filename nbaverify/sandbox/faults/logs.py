"""Log faults: the API says something in its log on every data request (control.json flags), and the
fault sends the requests that make it say so, as the platform's own traffic would."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from nbaverify import procs
from nbaverify.sandbox import local_http
from nbaverify.sandbox.faults.model import Fault, Reach, Step

LOGS = "checks/test_logs.py"
ACCESS = "checks/test_access_review.py"
# loopback too: a client of its own to the API, with its own rate-limit window
INTRUDER = "127.0.0.2"
OUTSIDER = "127.0.0.6"


def _client(sb: Reach, source: str = "127.0.0.1", **headers: str) -> httpx.Client:
    """A client of the API from a loopback address of its own choosing (another address is another
    client)."""
    transport = httpx.HTTPTransport(local_address=source, verify=sb.tls_context())
    return httpx.Client(base_url=sb.api_url, transport=transport, timeout=10, headers=headers)


def _traffic(paths: list[str], concurrency: int = 10) -> Step:
    """Authenticated GETs, side by side (the slow fault's requests take 1.2 s each)."""

    def send(sb: Reach) -> None:
        with (
            _client(sb, Authorization=f"Bearer {sb.mint_token()}") as client,
            ThreadPoolExecutor(concurrency) as pool,
        ):
            replies = list(pool.map(client.get, paths))
        refused = [f"{r.request.url.path} {r.status_code}" for r in replies if r.status_code != 200]
        assert not refused, f"the fault's requests were refused: {refused[:3]}"

    return send


def _brute_force(sb: Reach) -> None:
    """300 forged tokens from one client: the API refuses the first 100 (401), then rate limits it
    (429)."""
    # heavy: PyJWT (~30 ms here: it loads cryptography); only the faults that forge tokens need it
    import jwt

    with (
        _client(sb, INTRUDER, **{"User-Agent": "python-requests/2.31.0"}) as client,
        ThreadPoolExecutor(10) as pool,
    ):

        def guess(n: int) -> int:
            forged = jwt.encode(
                {"sub": f"guess-{n}"},
                f"guess-{n}-not-the-secret-0123456789abcdef",
                algorithm="HS256",
            )
            return client.get(
                "/api/players?limit=1", headers={"Authorization": f"Bearer {forged}"}
            ).status_code

        statuses = list(pool.map(guess, range(300)))
    assert 401 in statuses, f"the API did not refuse the forged tokens: {sorted(set(statuses))}"


def _live_feed_with_url_token(sb: Reach) -> None:
    """A client of the live feed as Contract 2 allows it, its token in the URL (`/ws/live?token=`),
    as browsers do."""
    import websocket  # websocket-client: only this fault and the live-feed checks open the feed

    url = (
        sb.api_url.replace("https://", "wss://").replace("http://", "ws://")
        + f"/ws/live?token={sb.mint_token()}"
    )
    feed = websocket.create_connection(url, timeout=10, sslopt={"context": sb.tls_context()})
    feed.close()


# a fleet's workers, each a client of its own to the API (and to its rate limiter)
STALE_CLIENTS = tuple(f"127.0.0.{n}" for n in range(10, 20))


def _stale_secret_clients(sb: Reach) -> None:
    """Ten clients call with tokens signed by the secret before the last rotation (a deploy that
    missed it): 20 refusals each, none past the per-client limit, 200 on one route. The request
    metrics start afresh first, as after a heal, so their window holds these and not the sandbox's
    earlier traffic."""
    # heavy: PyJWT (~30 ms here: it loads cryptography); only the faults that forge tokens need it
    import jwt

    sb.prometheus.reset()
    sb.prometheus.wait_scraped()
    stale = jwt.encode(
        {"sub": "stats-ingest", "exp": int(time.time()) + 600},
        "the-secret-before-the-rotation-0123456789",
        algorithm="HS256",
    )
    statuses = []
    for source in STALE_CLIENTS:
        with _client(
            sb, source, **{"User-Agent": "stats-ingest/3.2", "Authorization": f"Bearer {stale}"}
        ) as client:
            statuses += [client.get("/api/players?limit=1").status_code for _ in range(20)]
    assert statuses.count(401) == len(statuses), (
        f"the stale tokens were not all refused: {sorted(set(statuses))}"
    )

    def counted() -> bool:
        found = (
            local_http.client()
            .get(
                f"{sb.prometheus.url}/api/v1/query",
                params={"query": 'sum(http_requests_total{status="401"})'},
            )
            .json()["data"]["result"]
        )
        return bool(found) and float(found[0]["value"][1]) >= len(statuses)

    procs.wait_until(counted, 30, "Prometheus to scrape the refused requests", interval=0.5)


def _token_minted_outside(sb: Reach) -> None:
    """Someone who holds the signing secret mints a token for a subject nobody issued and uses it:
    every call is accepted, and the API logs the subject the first time it presents itself."""
    token = sb.mint_token(subject="svc-backup-admin")
    with _client(
        sb, OUTSIDER, **{"User-Agent": "curl/8.5.0", "Authorization": f"Bearer {token}"}
    ) as client:
        statuses = [
            client.get(path).status_code
            for path in ("/api/players?limit=5", "/api/players/1", "/api/players/2")
        ]
    assert statuses == [200, 200, 200], f"the minted token was not accepted: {statuses}"


PLAYERS = [f"/api/players/{n}" for n in range(1, 21)]

FAULTS: tuple[Fault, ...] = (
    Fault(
        name="auth_bruteforce",
        area="security",
        breaks=(
            "one client (127.0.0.2) sends 300 forged tokens: 100 refused (401), then rate limited"
            " (429)"
        ),
        caught_by=(
            f"{ACCESS}::check_no_token_brute_force",
            f"{ACCESS}::check_no_client_hammering_the_limit",
        ),
        expect=(
            r"API log \(.*\): client 127\.0\.0\.2 was (refused \(401/403\) 100|rate limited \(429\)"
            r" 200) times "
            r"\(\d+ an hour, limit \d+\): \d+x GET /api/players \(ua \"python-requests/2\.31\.0\"\)"
        ),
        apply=_brute_force,
    ),
    Fault(
        name="token_minted_outside",
        area="security",
        breaks=(
            "a token for subject svc-backup-admin, which nobody issued, is minted with the signing"
            " secret and accepted from 127.0.0.6"
        ),
        caught_by=(f"{ACCESS}::check_token_subjects_known",),
        expect=(
            r"API log \(.*\): a token for subject 'svc-backup-admin', which"
            r" expectations\.access\.known_subjects "
            r"does not list, was accepted from 127\.0\.0\.6 \(ua 'curl/8\.5\.0'\): is the signing"
            r" secret minting "
            r"tokens outside your issuer\?$"
        ),
        apply=_token_minted_outside,
    ),
    Fault(
        name="stale_secret_clients",
        area="security",
        requires="prometheus",
        breaks=(
            "ten clients send tokens signed by the secret before the last rotation: 200 refused on"
            " GET /api/players, 20 a client (none past the per-client limit)"
        ),
        caught_by=(f"{ACCESS}::check_refused_share_per_route",),
        expect=(
            r"API log and request metrics \(.*\): GET /api/players: 200 of \d+ requests were"
            r" refused \(401/403\), "
            r"\d+% \(limit 25% of at least 100 requests; the suite's own probes not counted\); most"
            r" refused: "
            r"127\.0\.0\.1\d \(20\), 127\.0\.0\.1\d \(20\), 127\.0\.0\.1\d \(20\)$"
        ),
        apply=_stale_secret_clients,
    ),
    Fault(
        name="error_log_flood",
        area="api",
        api_flags=("log_errors",),
        breaks=(
            "every data request logs an error (the cache is unreachable): 40 error lines in a"
            " minute"
        ),
        caught_by=(f"{LOGS}::check_error_lines_under_threshold",),
        expect=(
            r"API log \(3 stream\(s\) of pods of deployment nba-stats/api, .*\): \d+ error"
            r" line\(s\), \d+ an hour "
            r"\(limit 10\); most frequent: \d+x 'Cache error: connect ECONNREFUSED"
        ),
        apply=_traffic(PLAYERS * 2),
    ),
    Fault(
        name="stack_traces_logged",
        area="api",
        api_flags=("log_stack_traces",),
        breaks=(
            "data requests log a caught exception with its stack trace, quoting the DSN and the"
            " caller's token"
        ),
        caught_by=(f"{LOGS}::check_no_stack_traces_logged",),
        expect=(
            r"API log \(.*\): \d+ stack trace\(s\); the first in nba-stats/Pod/api-\S+ container"
            r" api at [\d:]+Z: "
            r"'.*cache refresh failed"
        ),
        apply=_traffic(PLAYERS[:3]),
    ),
    Fault(
        name="tokens_logged",
        area="security",
        api_flags=("log_tokens",),
        breaks=(
            "every data request is logged with its Authorization header: the callers' bearer tokens"
            " land in the log"
        ),
        caught_by=(f"{LOGS}::check_no_tokens_logged",),
        expect=(
            r"API log \(.*\): \d+ line\(s\) hold a bearer token anyone who reads the log can"
            r" replay; the first in "
            r"nba-stats/Pod/api-\S+ container api at [\d:]+Z: '.*Request: authorization=.Bearer"
            r" \*\*\*"
        ),
        apply=_traffic(PLAYERS[:3]),
    ),
    Fault(
        name="tokens_in_access_log",
        area="security",
        api_flags=("access_log_query",),
        breaks=(
            "the API's access log writes each request line with its query, as nginx's combined"
            " format does: the live feed's ?token= lands in the log"
        ),
        caught_by=(f"{LOGS}::check_no_tokens_logged",),
        expect=(
            r"API log \(.*\): \d+ line\(s\) hold a bearer token anyone who reads the log can"
            r" replay; the first in "
            r"nba-stats/Pod/api-\S+ container api at [\d:]+Z: '\S+ - - \[[^\]]+\] .GET"
            r" /ws/live\?token=\*\*\*"
        ),
        apply=_live_feed_with_url_token,
    ),
    Fault(
        name="slow_responses_logged",
        area="api",
        api_flags=("slow_api",),
        breaks=(
            "data requests take 1.2 s and the timing middleware logs each: 20 slow-response"
            " warnings"
        ),
        caught_by=(f"{LOGS}::check_slow_responses_logged",),
        expect=(
            r"API log \(.*\): \d+ slow-response warning\(s\) \(over 1000ms\), \d+ an hour \(limit"
            r" 10\); worst: "
            r"/api/players/\{id\} \d+x p95 1\d{3}ms max 1\d{3}ms"
        ),
        apply=_traffic(PLAYERS),
    ),
)
