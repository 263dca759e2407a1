"""Log faults: the API says something in its log on every data request (control.json flags), and the
fault sends the requests that make it say so, as the platform's own traffic would."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from nbaverify.sandbox.faults.model import Fault, Reach, Step

LOGS = "checks/test_logs.py"


def _traffic(paths: list[str], concurrency: int = 10) -> Step:
    """Authenticated GETs, side by side (the slow fault's requests take 1.2 s each)."""
    def send(sb: Reach) -> None:
        headers = {"Authorization": f"Bearer {sb.mint_token()}"}
        with (httpx.Client(base_url=sb.api_url, verify=sb.tls_context(), timeout=10, headers=headers) as client,
              ThreadPoolExecutor(concurrency) as pool):
            replies = list(pool.map(client.get, paths))
        refused = [f"{r.request.url.path} {r.status_code}" for r in replies if r.status_code != 200]
        assert not refused, f"the fault's requests were refused: {refused[:3]}"

    return send


PLAYERS = [f"/api/players/{n}" for n in range(1, 21)]

FAULTS: tuple[Fault, ...] = (
    Fault(
        name="error_log_flood", area="api", api_flags=("log_errors",),
        breaks="every data request logs an error (the cache is unreachable): 40 error lines in a minute",
        caught_by=(f"{LOGS}::check_error_lines_under_threshold",),
        expect=(r"API log \(3 stream\(s\) of pods of deployment nba-stats/api, .*\): \d+ error line\(s\), \d+ an hour "
                r"\(limit 10\); most frequent: \d+x 'Cache error: connect ECONNREFUSED"),
        apply=_traffic(PLAYERS * 2),
    ),
    Fault(
        name="stack_traces_logged", area="api", api_flags=("log_stack_traces",),
        breaks="data requests log a caught exception with its stack trace, quoting the DSN and the caller's token",
        caught_by=(f"{LOGS}::check_no_stack_traces_logged",),
        expect=r"API log \(.*\): \d+ stack trace\(s\); the first in nba-stats/Pod/api-\S+ container api at [\d:]+Z: "
               r"'.*cache refresh failed",
        apply=_traffic(PLAYERS[:3]),
    ),
    Fault(
        name="slow_responses_logged", area="api", api_flags=("slow_api",),
        breaks="data requests take 1.2 s and the timing middleware logs each: 20 slow-response warnings",
        caught_by=(f"{LOGS}::check_slow_responses_logged",),
        expect=r"API log \(.*\): \d+ slow-response warning\(s\) \(over 1000ms\), \d+ an hour \(limit 10\); worst: "
               r"/api/players/\{id\} \d+x p95 1\d{3}ms max 1\d{3}ms",
        apply=_traffic(PLAYERS),
    ),
)
