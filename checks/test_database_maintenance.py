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
    return [
        t
        for t in probes.tables(db)
        if t["live"] + t["dead"] >= expect["database.indexes.large_table_rows"]
    ]


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(QUERY_PERFORMANCE, "System Monitoring / Metrics Collection / Database Metrics")
def check_dead_tuples(db, expect, evidence):
    """Dead rows are at most `database.maintenance.max_dead_tuple_ratio` (20 %) of each large
    table's rows.

    Large: at least `database.indexes.large_table_rows` (100,000) live and dead rows. A table over
    it is named with why (autovacuum disabled on it, or not keeping up): run `VACUUM ANALYZE`. For
    capacity planning every table's rows, table size and index size go into the evidence (sizes from
    `relpages`, so a locked table does not make the check wait).

    When it fails: Check the table's `n_dead_tup` and `last_autovacuum` in `pg_stat_user_tables`,
    and long transactions holding the horizon (`check_no_long_running_queries`,
    `check_no_idle_in_transaction`). Run the guide's `VACUUM ANALYZE table_name` in a quiet hour,
    and turn autovacuum back on where the message says it is off.
    """
    limit = expect["database.maintenance.max_dead_tuple_ratio"]
    every = probes.tables(db)
    # capacity planning: every table's size lands in the run record
    evidence["sizes"] = {
        f"{t['schema']}.{t['table']}": {
            "rows": t["live"],
            "table_bytes": t["table_bytes"],
            "index_bytes": t["index_bytes"],
        }
        for t in every
    }
    bloated = []
    for t in large_tables(db, expect):
        ratio = t["dead"] / max(1, t["live"] + t["dead"])
        if ratio > limit:
            why = (
                "autovacuum is disabled on it"
                if t["autovacuum_off"]
                else "autovacuum is not keeping up"
            )
            bloated.append(
                f"{t['schema']}.{t['table']} {t['dead']} dead of {t['live'] + t['dead']} rows "
                f"({ratio:.0%}, {why})"
            )
    assert not bloated, (
        f"dead rows above {limit:.0%} on {db.where}: {'; '.join(bloated)}; run VACUUM ANALYZE"
    )


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(QUERY_PERFORMANCE)
def check_vacuum_and_analyze_recent(db, expect, evidence):
    """No large table that changed past autovacuum's own trigger has gone without VACUUM or ANALYZE
    longer than the limits.

    Large: at least `database.indexes.large_table_rows` (100,000) live and dead rows. A table is
    overdue for ANALYZE only when `n_mod_since_analyze` passed autovacuum's analyze trigger (the
    server's threshold plus scale factor times its rows) and its last (auto)analyze is older than
    `database.maintenance.max_analyze_age_h` (168 h) or not on record; for VACUUM likewise, by its
    dead rows or `n_ins_since_vacuum` against the vacuum triggers, and `max_vacuum_age_h` (168 h). A
    loaded and analyzed table that has not changed since is healthy, however long ago that was;
    "never" is said only where `pg_class.reltuples` is -1.

    Autovacuum gets its chance: where it runs for an overdue table, the check waits one
    `autovacuum_naptime` (the launcher's own round) plus 10 s for it, and a message that gives up
    says so. The counters of each large table go into the evidence.

    When it fails: Read `last_autovacuum` and `last_autoanalyze` of the tables named in
    `pg_stat_user_tables`, and whether autovacuum is on (`SHOW autovacuum`, the table's
    `reloptions`). Run the guide's `VACUUM ANALYZE table_name`, then find why autovacuum did not
    (off, or its workers busy elsewhere).
    """
    vacuum_h, analyze_h = (
        expect["database.maintenance.max_vacuum_age_h"],
        expect["database.maintenance.max_analyze_age_h"],
    )
    settings, reset_at = probes.autovacuum_settings(db), probes.stats_reset(db)
    daemon, naptime = probes.autovacuum_daemon(db)

    def overdue() -> dict[str, tuple[list[str], bool]]:
        found = {}
        for t in large_tables(db, expect):
            problems = probes.maintenance_due(t, settings, vacuum_h, analyze_h, reset_at)
            evidence[f"{t['schema']}.{t['table']}"] = {
                "modified_since_analyze": t["modified_since_analyze"],
                "inserted_since_vacuum": t["inserted_since_vacuum"],
                "dead": t["dead"],
            }
            if problems:
                found[f"{t['schema']}.{t['table']}"] = (
                    problems,
                    daemon and not t["autovacuum_off"],
                )
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
    lines = [
        line
        + (
            ""
            if its_turn
            else (" (autovacuum is off for it)" if daemon else " (autovacuum is off)")
        )
        for problems, its_turn in due.values()
        for line in problems
    ]
    assert not lines, (
        f"on {db.where}: {'; '.join(lines)} (limits {vacuum_h:g}h / {analyze_h:g}h{waited}); the"
        " planner works from stale statistics: VACUUM ANALYZE the table and check autovacuum"
    )


@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(QUERY_PERFORMANCE)
def check_transaction_id_age(db, expect, evidence):
    """Every database's transaction-ID age (`age(datfrozenxid)`) is at most
    `database.maintenance.max_xid_age` (1,000,000,000).

    Wraparound stops writes at 2^31; autovacuum forces freezing at 200 million. Every database that
    allows connections is read, and its age goes into the evidence. Past the limit, `VACUUM FREEZE`
    the oldest tables and look for long transactions holding the horizon.

    When it fails: Find the oldest tables (`SELECT oid::regclass, age(relfrozenxid) FROM pg_class
    WHERE relkind = 'r' ORDER BY 2 DESC LIMIT 10`) and what holds the horizon: long transactions,
    `pg_prepared_xacts`, stale `pg_replication_slots`. Then `VACUUM FREEZE` those tables with the
    database team.
    """
    limit = expect["database.maintenance.max_xid_age"]
    ages = probes.xid_ages(db)
    evidence["xid_age"] = {a["database"]: a["age"] for a in ages}
    old = [f"{a['database']} {a['age']}" for a in ages if a["age"] > limit]
    assert not old, (
        f"transaction-ID age above {limit} on {db.where}: {', '.join(old)} (wraparound stops writes"
        " at 2^31); VACUUM FREEZE the oldest tables and look for long transactions holding the"
        " horizon"
    )
