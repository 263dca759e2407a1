"""The daily review of the API's error log, as checks: error lines an hour, stack traces, slow-response
warnings per path, and what of the window the log could not cover.

The log is read from where the profile's [logs] says (pod logs through the Kubernetes API, or files on
the hosts), over expectations.logs.window_h; every sample line in a message or evidence is scrubbed of
tokens and credentials first.

Guide: Maintenance Schedule / Daily Tasks (Review error logs); Troubleshooting / Debugging Procedures /
API Debugging (`kubectl logs -f deployment/api`); Performance Tuning / API Performance / Response Time
Optimization (the timing middleware's `Slow response: ${ctx.path} took ${ms}ms`).
"""

import re
from collections import Counter

import pytest

from nbaverify.probes import logs

pytestmark = [pytest.mark.area("api"), pytest.mark.runbook("Maintenance Schedule / Daily Tasks")]

SLOW = "Performance Tuning / API Performance / Response Time Optimization"
DEBUGGING = "Troubleshooting / Debugging Procedures / API Debugging"


@pytest.fixture(scope="module")
def daily_logs(api_logs, expect):
    return api_logs.last(expect["logs.window_h"] * 3600)


def _shape(message: str) -> str:
    """Lines that differ only in their numbers are one kind of line."""
    return re.sub(r"\d+", "N", message.strip())[:120]


@pytest.mark.daily
@pytest.mark.severity("critical")
def check_error_lines_under_threshold(daily_logs, expect, evidence):
    errors = [r for r in daily_logs.records if r.level in logs.ERROR_LEVELS]
    covered = daily_logs.covered_s()
    rate = logs.per_hour(len(errors), covered)
    limit = expect["logs.max_error_lines_per_hour"]
    example = {}
    for record in errors:  # one line of each kind, as it was written
        example.setdefault(_shape(record.message), record.headline())
    kinds = Counter(_shape(r.message) for r in errors).most_common(expect["logs.samples"])
    evidence.update(read=daily_logs.describe(), error_lines=len(errors), per_hour=round(rate, 1),
                    most_frequent=[f"{count}x {example[kind]}" for kind, count in kinds])
    top = f"; most frequent: {kinds[0][1]}x '{example[kinds[0][0]]}'" if kinds else ""
    assert rate <= limit, (f"API log ({daily_logs.describe()}): {len(errors)} error line(s), {rate:.0f} an hour "
                           f"(limit {limit:g}){top}")


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(DEBUGGING)
def check_no_stack_traces_logged(daily_logs, expect, evidence):
    """A stack trace in the log is an exception nobody handled, or handled by printing it."""
    traced = [r for r in daily_logs.records if r.traced]
    evidence.update(read=daily_logs.describe(), stack_traces=len(traced),
                    samples=[f"{r.stream}: {r.sample(3)}" for r in traced[:expect["logs.samples"]]])
    if traced:
        first = traced[0]
        when = f" at {first.at:%H:%M:%SZ}" if first.at else ""
        pytest.fail(f"API log ({daily_logs.describe()}): {len(traced)} stack trace(s); the first in {first.stream}"
                    f"{when}: '{first.headline()}'", pytrace=False)


@pytest.mark.daily
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(SLOW)
def check_slow_responses_logged(daily_logs, expect, evidence):
    """The timing middleware's warnings, per path with ids folded (/api/players/{id}), the worst first."""
    paths = logs.slow_paths(daily_logs.records)
    count = sum(p.count for p in paths)
    rate = logs.per_hour(count, daily_logs.covered_s())
    limit = expect["logs.max_slow_responses_per_hour"]
    slow_ms = expect["api.slow_response_ms"]
    shown = [f"{p.path} {p.count}x p95 {p.p95_ms:.0f}ms max {p.max_ms:.0f}ms" for p in paths[:expect["logs.worst_paths"]]]
    evidence.update(read=daily_logs.describe(), slow_responses=count, per_hour=round(rate, 1), worst_paths=shown)
    assert rate <= limit, (f"API log ({daily_logs.describe()}): {count} slow-response warning(s) (over {slow_ms}ms), "
                           f"{rate:.0f} an hour (limit {limit:g}); worst: {', '.join(shown[:3])}")


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(DEBUGGING)
def check_log_window_covered(daily_logs, evidence):
    """What the review could not read is named: lines lost to restarts, a cut at limit_bytes, a rotation."""
    evidence.update(read=daily_logs.describe(), streams=[s.name for s in daily_logs.streams],
                    window_from=daily_logs.start.strftime("%Y-%m-%d %H:%M:%SZ"))
    gaps = daily_logs.gaps
    assert not gaps, f"the log review does not cover its window: {'; '.join(gaps)}"
