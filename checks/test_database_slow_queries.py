"""Slow statements from pg_stat_statements, by mean time a call.

Guide: Maintenance Schedule / Weekly Tasks / Analyze slow queries; Troubleshooting / Database Issues
/ Slow queries.
"""

import pytest

from nbaverify.probes import counters
from nbaverify.probes import database as probes

pytestmark = [pytest.mark.area("database")]


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(
    "Maintenance Schedule / Weekly Tasks / Analyze slow queries",
    "Troubleshooting / Common Issues / Database Issues",
)
def check_no_slow_statements(db, expect, history, evidence):
    """No statement averages more than `database.slow_queries.max_mean_ms` (500 ms) a call over the
    calls made since the previous run.

    From this database's `pg_stat_statements` entries: calls and time are cumulative, so they are
    judged by their change since the previous run against the target (the history under
    `NBAVERIFY_STATE_DIR`), never by their totals: the run after an incident is fixed passes.
    Statements with fewer than `database.slow_queries.min_calls` (5) calls in the window are not
    judged; the top `database.slow_queries.top` (10) by mean go into the evidence. The first run
    records the baseline; after a `pg_stat_statements` reset the counts since it are the change.
    Skipped as not configured when the extension is not installed in the database (it must be in
    `shared_preload_libraries` and created there).

    When it fails: Take the statements named (the evidence's `top` holds the rest) and run the
    guide's `EXPLAIN ANALYZE` on each with realistic values (a statement that writes: plain
    `EXPLAIN`, or inside `BEGIN; ... ROLLBACK`). Fix the missing index or the query with its owner;
    a known slow report is waived with an owner and an expiry.
    """
    if not probes.statements_available(db):
        pytest.skip(
            "not configured: the pg_stat_statements extension is not installed in the database"
        )
    limit, min_calls = (
        expect["database.slow_queries.max_mean_ms"],
        expect["database.slow_queries.min_calls"],
    )
    entries = {s["key"]: s for s in probes.statements(db)}
    change = counters.since_last_run(
        history,
        f"statements:{db.where}",
        {key: {"calls": s["calls"], "total_ms": s["total_ms"]} for key, s in entries.items()},
        epoch=probes.statements_reset(db),
    )
    if change is None:
        evidence["note"] = counters.first_run_note()
        return
    recent = sorted(
        (
            (d["total_ms"] / d["calls"], int(d["calls"]), entries[key])
            for key, d in change.deltas.items()
            if d["calls"] >= min_calls
        ),
        key=lambda r: r[0],
        reverse=True,
    )[: expect["database.slow_queries.top"]]
    evidence["window"] = change.describe()
    evidence["top"] = [
        {
            "mean_ms": round(mean, 2),
            "calls": calls,
            "user": s["user"],
            "query": probes.first_line(s["query"], 200),
        }
        for mean, calls, s in recent
    ]
    slow = [r for r in recent if r[0] > limit]
    described = "; ".join(
        f"{mean:.0f}ms x {calls} calls ({s['user']}): {probes.first_line(s['query'])}"
        for mean, calls, s in slow[:3]
    )
    assert not slow, (
        f"{len(slow)} statement(s) averaged over {limit:g}ms {change.describe()} on {db.where}:"
        f" {described}; EXPLAIN ANALYZE them"
    )
