"""Vacuum, analyze and wraparound: the tables are kept, and their sizes go into the evidence.

Guide: Performance Tuning / Database Optimization / Query Performance (VACUUM ANALYZE, ANALYZE);
Maintenance Schedule / Quarterly Tasks / Capacity planning (table and index sizes).
"""

import pytest

from nbaverify.eventually import eventually
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
    """Overdue only where a table changed since its last VACUUM or ANALYZE past autovacuum's own trigger, and
    autovacuum has had its chance: a table that just passed the trigger (a bulk load minutes ago) is given one
    autovacuum_naptime, the launcher's own round, before it counts; one autovacuum may not touch counts at once."""
    vacuum_h, analyze_h = expect["database.maintenance.max_vacuum_age_h"], expect["database.maintenance.max_analyze_age_h"]
    settings, reset_at = probes.autovacuum_settings(db), probes.stats_reset(db)
    daemon, naptime = probes.autovacuum_daemon(db)

    def overdue() -> dict[str, tuple[list[str], bool]]:
        found = {}
        for t in large_tables(db, expect):
            problems = probes.maintenance_due(t, settings, vacuum_h, analyze_h, reset_at)
            evidence[f"{t['schema']}.{t['table']}"] = {"modified_since_analyze": t["modified_since_analyze"],
                                                       "inserted_since_vacuum": t["inserted_since_vacuum"], "dead": t["dead"]}
            if problems:
                found[f"{t['schema']}.{t['table']}"] = (problems, daemon and not t["autovacuum_off"])
        return found

    due = overdue()
    waited = ""
    if any(its_turn for _, its_turn in due.values()):
        wait_s = naptime + 10  # a round of the launcher, and the worker's own start
        evidence["waited_for_autovacuum_s"] = wait_s

        def handled():
            nonlocal due
            due = overdue()
            assert not any(its_turn for _, its_turn in due.values())

        try:
            eventually(handled, timeout=wait_s, interval=2.0)
        except AssertionError:
            waited = f"; waited autovacuum_naptime {naptime:g}s + 10s: autovacuum did not get to it"
    lines = [line + ("" if its_turn else (" (autovacuum is off for it)" if daemon else " (autovacuum is off)"))
             for problems, its_turn in due.values() for line in problems]
    assert not lines, (
        f"on {db.where}: {'; '.join(lines)} (limits {vacuum_h:g}h / {analyze_h:g}h{waited}); the planner works from "
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
