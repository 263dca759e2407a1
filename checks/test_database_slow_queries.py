"""Slow statements from pg_stat_statements, by mean time a call.

Guide: Maintenance Schedule / Weekly Tasks / Analyze slow queries; Troubleshooting / Database Issues / Slow queries.
"""

import pytest

from nbaverify.probes import counters
from nbaverify.probes import database as probes

pytestmark = [pytest.mark.area("database")]


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook("Maintenance Schedule / Weekly Tasks / Analyze slow queries")
def check_no_slow_statements(db, expect, history, evidence):
    """Mean time a call over the calls made since the previous run (pg_stat_statements is cumulative)."""
    if not probes.statements_available(db):
        pytest.skip("not configured: the pg_stat_statements extension is not installed in the database")
    limit, min_calls = expect["database.slow_queries.max_mean_ms"], expect["database.slow_queries.min_calls"]
    entries = {s["key"]: s for s in probes.statements(db)}
    change = counters.since_last_run(history, f"statements:{db.where}",
                                     {key: {"calls": s["calls"], "total_ms": s["total_ms"]} for key, s in entries.items()},
                                     epoch=probes.statements_reset(db))
    if change is None:
        evidence["note"] = counters.first_run_note()
        return
    recent = sorted(((d["total_ms"] / d["calls"], int(d["calls"]), entries[key]) for key, d in change.deltas.items()
                     if d["calls"] >= min_calls), key=lambda r: r[0], reverse=True)[: expect["database.slow_queries.top"]]
    evidence["window"] = change.describe()
    evidence["top"] = [{"mean_ms": round(mean, 2), "calls": calls, "user": s["user"], "query": probes.first_line(s["query"], 200)}
                       for mean, calls, s in recent]
    slow = [r for r in recent if r[0] > limit]
    described = "; ".join(f"{mean:.0f}ms x {calls} calls ({s['user']}): {probes.first_line(s['query'])}"
                          for mean, calls, s in slow[:3])
    assert not slow, (
        f"{len(slow)} statement(s) averaged over {limit:g}ms {change.describe()} on {db.where}: {described}; "
        "EXPLAIN ANALYZE them")
