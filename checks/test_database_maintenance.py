"""Vacuum, analyze and wraparound: the tables are kept, and their sizes go into the evidence.

Guide: Performance Tuning / Database Optimization / Query Performance (VACUUM ANALYZE, ANALYZE);
Maintenance Schedule / Quarterly Tasks / Capacity planning (table and index sizes).
"""

import pytest

from nbaverify.probes import database as probes

pytestmark = [pytest.mark.area("database")]

QUERY_PERFORMANCE = "Performance Tuning / Database Optimization / Query Performance"


def large_tables(db, expect):
    return [t for t in probes.tables(db) if t["live"] + t["dead"] >= expect["database.indexes.large_table_rows"]]


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(QUERY_PERFORMANCE)
def check_dead_tuples(db, expect, evidence):
    limit = expect["database.maintenance.max_dead_tuple_ratio"]
    every = probes.tables(db)
    # capacity planning: every table's size lands in the run record
    evidence["sizes"] = {f"{t['schema']}.{t['table']}": {"rows": t["live"], "table_bytes": t["table_bytes"],
                                                        "index_bytes": t["index_bytes"]} for t in every}
    bloated = []
    for t in large_tables(db, expect):
        ratio = t["dead"] / max(1, t["live"] + t["dead"])
        if ratio > limit:
            why = "autovacuum is disabled on it" if t["autovacuum_off"] else "autovacuum is not keeping up"
            bloated.append(f"{t['schema']}.{t['table']} {t['dead']} dead of {t['live'] + t['dead']} rows "
                           f"({ratio:.0%}, {why})")
    assert not bloated, f"dead rows above {limit:.0%} on {db.where}: {'; '.join(bloated)}; run VACUUM ANALYZE"


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(QUERY_PERFORMANCE)
def check_vacuum_and_analyze_recent(db, expect, evidence):
    """Overdue only where a table changed since its last VACUUM or ANALYZE past autovacuum's own trigger."""
    vacuum_h, analyze_h = expect["database.maintenance.max_vacuum_age_h"], expect["database.maintenance.max_analyze_age_h"]
    settings, reset_at = probes.autovacuum_settings(db), probes.stats_reset(db)
    overdue = []
    for t in large_tables(db, expect):
        overdue += probes.maintenance_due(t, settings, vacuum_h, analyze_h, reset_at)
        evidence[f"{t['schema']}.{t['table']}"] = {"modified_since_analyze": t["modified_since_analyze"],
                                                   "inserted_since_vacuum": t["inserted_since_vacuum"], "dead": t["dead"]}
    assert not overdue, (
        f"on {db.where}: {'; '.join(overdue)} (limits {vacuum_h:g}h / {analyze_h:g}h); the planner works from "
        "stale statistics: VACUUM ANALYZE the table and check autovacuum")


@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(QUERY_PERFORMANCE)
def check_transaction_id_age(db, expect, evidence):
    limit = expect["database.maintenance.max_xid_age"]
    ages = probes.xid_ages(db)
    evidence["xid_age"] = {a["database"]: a["age"] for a in ages}
    old = [f"{a['database']} {a['age']}" for a in ages if a["age"] > limit]
    assert not old, (
        f"transaction-ID age above {limit} on {db.where}: {', '.join(old)} (wraparound stops writes at 2^31); "
        "VACUUM FREEZE the oldest tables and look for long transactions holding the horizon")
