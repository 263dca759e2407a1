"""The daily review of the API's error log, as checks: error lines an hour, stack traces,
slow-response warnings per path, and what of the window the log could not cover.

The log is read from where the profile's [logs] says (pod logs through the Kubernetes API, or files
on the hosts), over expectations.logs.window_h; every sample line in a message or evidence is
scrubbed of tokens and credentials first.

Guide: Maintenance Schedule / Daily Tasks (Review error logs); Troubleshooting / Debugging
Procedures / API Debugging (`kubectl logs -f deployment/api`); Performance Tuning / API Performance
/ Response Time Optimization (the timing middleware's `Slow response: ${ctx.path} took ${ms}ms`).
"""

import re
from collections import Counter

import pytest

from nbaverify.log_records import ERROR_LEVELS
from nbaverify.probes import logs

pytestmark = [
    pytest.mark.area("api"),
    pytest.mark.runbook("Maintenance Schedule / Daily Tasks / Review error logs"),
]

SLOW = "Performance Tuning / API Performance / Response Time Optimization"
DEBUGGING = "Troubleshooting / Debugging Procedures / API Debugging"


@pytest.fixture(scope="module")
def daily_logs(api_logs, expect):
    return api_logs.last(expect["logs.window_h"] * 3600)


def _where(record) -> str:
    """Its stream (pod and container, or host and file) and, when the line says, its time."""
    return record.stream + (f" at {record.at:%H:%M:%SZ}" if record.at else "")


def _shape(message: str) -> str:
    """Lines that differ only in their numbers are one kind of line."""
    return re.sub(r"\d+", "N", message.strip())[:120]


@pytest.mark.daily
@pytest.mark.severity("critical")
def check_error_lines_under_threshold(daily_logs, expect, evidence):
    """The API's log holds at most `logs.max_error_lines_per_hour` (10) error and fatal lines an
    hour over the review window.

    The log is read from where the profile's `[logs]` says: every pod of the api Deployment through
    the Kubernetes API (the previous container too, where one restarted within the window), or log
    files on the hosts (with their first rotation). The window is `logs.window_h` (24 h). Levels are
    read from plain lines (`ERROR ...`, `level=error ...`) and JSON ones (winston's `level`, pino's
    numeric levels); `critical` and `crit` count as fatal, `err` as error. A log younger than an
    hour counts as an hour: three lines in a minute are three, not 180 an hour.

    Lines that differ only in their numbers are one kind; the most frequent kinds (`logs.samples`,
    3) are quoted, scrubbed of tokens and credentials first.

    When it fails: Read the most frequent error the message quotes (the evidence's `most_frequent`
    has the rest) in the API log (`kubectl logs -f deployment/api`) and follow it to its cause: the
    database, a dependency, a bug. A log knowingly noisier sets `logs.max_error_lines_per_hour` in
    the profile's `[expectations]`.
    """
    errors = [r for r in daily_logs.records if r.level in ERROR_LEVELS]
    covered = daily_logs.covered_s()
    rate = logs.per_hour(len(errors), covered)
    limit = expect["logs.max_error_lines_per_hour"]
    example = {}
    for record in errors:  # one line of each kind, as it was written
        example.setdefault(_shape(record.message), record.headline())
    kinds = Counter(_shape(r.message) for r in errors).most_common(expect["logs.samples"])
    evidence.update(
        read=daily_logs.describe(),
        error_lines=len(errors),
        per_hour=round(rate, 1),
        most_frequent=[f"{count}x {example[kind]}" for kind, count in kinds],
    )
    top = f"; most frequent: {kinds[0][1]}x '{example[kinds[0][0]]}'" if kinds else ""
    assert rate <= limit, (
        f"API log ({daily_logs.describe()}): {len(errors)} error line(s), {rate:.0f} an hour "
        f"(limit {limit:g}){top}"
    )


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(DEBUGGING)
def check_no_stack_traces_logged(daily_logs, expect, evidence):
    """The API's log over the review window holds no stack trace.

    A stack trace is an exception nobody handled, or handled by printing it: Node frames (indented
    `at ...` lines after a record) or a Python `Traceback (most recent call last):`. The first is
    quoted with its pod and container (or host and file) and its time; up to `logs.samples` (3) go
    into the evidence, scrubbed of tokens and credentials. The log is read from where the profile's
    `[logs]` says: every pod of the api Deployment through the Kubernetes API (the previous
    container too, where one restarted within the window), or log files on the hosts (with their
    first rotation). The window is `logs.window_h` (24 h).

    When it fails: Find the trace the message points at, by its pod and container (or host and file)
    and time (`kubectl logs POD -c CONTAINER -n NAMESPACE --since=24h`), and fix the code that
    throws or prints it: an error is caught and logged as one line.
    """
    traced = [r for r in daily_logs.records if r.traced]
    evidence.update(
        read=daily_logs.describe(),
        stack_traces=len(traced),
        samples=[f"{r.stream}: {r.sample(3)}" for r in traced[: expect["logs.samples"]]],
    )
    if traced:
        pytest.fail(
            f"API log ({daily_logs.describe()}): {len(traced)} stack trace(s); the first in"
            f" {_where(traced[0])}: '{traced[0].headline()}'",
            pytrace=False,
        )


@pytest.mark.daily
@pytest.mark.area("security")
@pytest.mark.severity("warning")
@pytest.mark.runbook("Security Best Practices / Authentication & Authorization / API Security")
def check_no_tokens_logged(daily_logs, expect, evidence):
    """The API's log over the review window holds no bearer token.

    A signed JWT written into a line (an Authorization header logged with a request, a `?token=` in
    a logged URL, an error that quotes the caller's token) can be replayed by anyone who reads the
    log, until it expires. The first line is named with its pod and container (or host and file) and
    its time, and quoted with the token blanked; up to `logs.samples` (3) go into the evidence,
    blanked too. The log is read as the other log checks read it, over `logs.window_h` (24 h).

    When it fails: Find the line the message points at and remove what writes the token: log the
    token's subject (`sub`), never the `Authorization` header, the token or a URL that carries it; a
    WebSocket that takes its token in the URL (`/ws/live?token=`) is logged without the query.
    Tokens that were written there stay valid until they expire: rotate the signing secret if they
    live long.
    """
    holding = logs.holding_tokens(daily_logs.records)
    evidence.update(
        read=daily_logs.describe(),
        lines_with_tokens=len(holding),
        samples=[f"{r.stream}: {r.sample(1)}" for r in holding[: expect["logs.samples"]]],
    )
    if holding:
        pytest.fail(
            f"API log ({daily_logs.describe()}): {len(holding)} line(s) hold a bearer token anyone"
            f" who reads the log can replay; the first in {_where(holding[0])}:"
            f" '{holding[0].sample(1)}'",
            pytrace=False,
        )


@pytest.mark.daily
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(SLOW, DEBUGGING)
def check_slow_responses_logged(daily_logs, expect, evidence):
    """The timing middleware's slow-response warnings number at most
    `logs.max_slow_responses_per_hour` (10) an hour over the window.

    The lines are the guide's `Slow response: ${ctx.path} took ${ms}ms` (responses over 1000 ms,
    `api.slow_response_ms`), counted per path with ids folded (`/api/players/{id}`; UUIDs and long
    hex segments too, the query string dropped). The most frequent paths (`logs.worst_paths`, 5) go
    into the evidence with their count and their logged p95 and max. A log younger than an hour
    counts as an hour.

    The log is read from where the profile's `[logs]` says: every pod of the api Deployment through
    the Kubernetes API (the previous container too, where one restarted within the window), or log
    files on the hosts (with their first rotation). The window is `logs.window_h` (24 h).

    When it fails: Take the worst paths the message names and look at their queries
    (`check_plan_time`, `check_no_slow_statements`) and the api pods' CPU
    (`check_cpu_not_throttled`, the HPA); `kubectl logs deployment/api
    | grep 'Slow response'` shows when they cluster.
    """
    paths = logs.slow_paths(daily_logs.records)
    count = sum(p.count for p in paths)
    rate = logs.per_hour(count, daily_logs.covered_s())
    limit = expect["logs.max_slow_responses_per_hour"]
    slow_ms = expect["api.slow_response_ms"]
    shown = [
        f"{p.path} {p.count}x p95 {p.p95_ms:.0f}ms max {p.max_ms:.0f}ms"
        for p in paths[: expect["logs.worst_paths"]]
    ]
    evidence.update(
        read=daily_logs.describe(), slow_responses=count, per_hour=round(rate, 1), worst_paths=shown
    )
    assert rate <= limit, (
        f"API log ({daily_logs.describe()}): {count} slow-response warning(s) (over {slow_ms}ms), "
        f"{rate:.0f} an hour (limit {limit:g}); worst: {', '.join(shown[:3])}"
    )


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(DEBUGGING)
def check_log_window_covered(daily_logs, evidence):
    """The log review read its whole window: what it could not read is named, never passed over.

    The gaps: a container that restarted more than once within the window (the kubelet keeps only
    the previous container's log, so the earlier lines are lost); a stream cut at `logs.limit_bytes`
    (20,000,000 bytes); on hosts, rotations that are compressed or older than `.1`, which are not
    read. The streams read and the window's start go into the evidence.

    When it fails: Read the gap named: lines lost to restarts point at `check_containers_healthy`; a
    cut at `logs.limit_bytes` means the day's log outgrew it (raise it in the profile's
    `[expectations]`, or log less); on hosts, keep `.1` uncompressed (logrotate's `delaycompress`).
    """
    evidence.update(
        read=daily_logs.describe(),
        streams=[s.name for s in daily_logs.streams],
        window_from=daily_logs.start.strftime("%Y-%m-%d %H:%M:%SZ"),
    )
    gaps = daily_logs.gaps
    assert not gaps, f"the log review does not cover its window: {'; '.join(gaps)}"
