"""Slow statements from pg_stat_statements, by mean time a call.

Guide: Maintenance Schedule / Weekly Tasks / Analyze slow queries; Troubleshooting / Database Issues / Slow queries.
"""

import pytest

from nbaverify.probes import database as probes

pytestmark = [pytest.mark.area("database")]


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook("Maintenance Schedule / Weekly Tasks / Analyze slow queries")
def check_no_slow_statements(db, expect, evidence):
    if not probes.statements_available(db):
        pytest.skip("not configured: the pg_stat_statements extension is not installed in the database")
    limit, min_calls = expect["database.slow_queries.max_mean_ms"], expect["database.slow_queries.min_calls"]
    top = probes.slow_statements(db, min_calls, expect["database.slow_queries.top"])
    evidence["top"] = [{"mean_ms": round(s["mean_ms"], 2), "calls": s["calls"], "user": s["user"],
                        "query": probes.first_line(s["query"], 200)} for s in top]
    slow = [s for s in top if s["mean_ms"] > limit]
    described = "; ".join(f"{s['mean_ms']:.0f}ms x {s['calls']} calls ({s['user']}): {probes.first_line(s['query'])}"
                          for s in slow[:3])
    assert not slow, f"{len(slow)} statement(s) average over {limit:g}ms on {db.where}: {described}; EXPLAIN ANALYZE them"
