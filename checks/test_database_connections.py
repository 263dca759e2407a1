"""The primary database answers and its activity is visible to the monitoring role.

Guide: System Monitoring / Health Checks / Database Health (`SELECT * FROM pg_stat_activity`).
"""

import pytest

from nbaverify.probes import database as probes

pytestmark = [pytest.mark.area("database")]

DATABASE_HEALTH = "System Monitoring / Health Checks / Database Health"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(DATABASE_HEALTH)
def check_primary_accepts_connections(db):
    reachable, why = db.ping()
    assert reachable, (
        f"primary database {db.where} does not accept connections as {db.user}: {why}; "
        "check the PostgreSQL server and its logs")
    row = db.single("SELECT pg_is_in_recovery() AS in_recovery")
    assert not row["in_recovery"], (
        f"database.dsn_env points at {db.where}, which is in recovery (a replica), expected the primary")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(DATABASE_HEALTH)
def check_activity_visible(db, evidence):
    """The monitoring role sees every session's query, not '<insufficient privilege>' (pg_monitor)."""
    rows = db.rows(
        # without pg_monitor, other users' rows come back with backend_type NULL too: do not filter on it
        "SELECT state, query = '<insufficient privilege>' AS hidden FROM pg_stat_activity "
        "WHERE pid <> pg_backend_pid() AND (backend_type = 'client backend' OR backend_type IS NULL)")
    hidden = sum(1 for r in rows if r["hidden"])
    evidence["client_sessions"] = len(rows)
    evidence["active"] = sum(1 for r in rows if r["state"] == "active")
    assert hidden == 0, (
        f"pg_stat_activity on {db.where} hides {hidden} of {len(rows)} session(s) from role {db.user} "
        "('<insufficient privilege>'); GRANT pg_monitor TO that role so long queries can be seen")


def connection_share(db, evidence) -> tuple[float, str, str]:
    """check_postgres 'backends': connections in use as a share of max_connections, and the busiest clients."""
    usage = probes.connection_usage(db)
    usable = usage["max_connections"] - usage["reserved"]
    ratio = usage["in_use"] / usable
    evidence.update(usage, ratio=round(ratio, 3))
    top = ", ".join(f"{r['application']} ({r['user']}) {r['n']}" for r in probes.connections_by_application(db)[:3])
    return ratio, f"{usage['in_use']} of {usable} usable connections in use on {db.where} ({ratio:.0%}", top


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("System Monitoring / Metrics Collection / Database Metrics")
def check_connection_headroom(db, expect, evidence):
    ratio, seen, top = connection_share(db, evidence)
    critical = expect["database.connections.critical_ratio"]
    assert ratio < critical, f"{seen} >= critical {critical:.0%}); busiest: {top}; new connections will soon be refused"


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("System Monitoring / Metrics Collection / Database Metrics")
def check_connection_usage_below_warning(db, expect, evidence):
    ratio, seen, top = connection_share(db, evidence)
    warning = expect["database.connections.warning_ratio"]
    assert ratio < warning, f"{seen} >= warning {warning:.0%}); busiest: {top}; headroom for a traffic spike is thin"


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Performance Tuning / Database Optimization / Connection Pool Settings")
def check_connections_per_application(db, expect, evidence):
    limit = expect["database.connections.max_per_application"]
    groups = probes.connections_by_application(db)
    evidence["by_application"] = {f"{g['application']} ({g['user']})": g["n"] for g in groups}
    over = [f"{g['application']} ({g['user']}) holds {g['n']}" for g in groups if g["n"] > limit]
    assert not over, (
        f"on {db.where}: {'; '.join(over)} connections, more than the pool maximum of {limit} "
        "(guide: Pool max 20); a pool is misconfigured or connections leak")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Troubleshooting / Debugging Procedures / Database Debugging")
def check_no_idle_in_transaction(db, expect):
    limit = expect["database.connections.max_idle_in_transaction_s"]
    idle = probes.sessions_in_state(db, "idle in transaction", limit, since="state_change")
    described = "; ".join(f"pid {s['pid']} ({s['user']}, {s['application'] or 'no application_name'}) idle "
                          f"{s['age_s']:.0f}s after: {probes.first_line(s['query'])}" for s in idle[:3])
    assert not idle, (
        f"{len(idle)} session(s) idle in transaction longer than {limit:g}s on {db.where}: {described}; "
        "they hold locks and stop vacuum: fix the client that left the transaction open")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("Troubleshooting / Debugging Procedures / Database Debugging")
def check_no_long_running_queries(db, expect):
    """The guide kills queries active longer than 5 minutes; the suite only reports them."""
    limit = expect["database.connections.max_query_s"]
    running = probes.sessions_in_state(db, "active", limit, since="query_start")
    described = "; ".join(f"pid {s['pid']} ({s['user']}) running {s['age_s']:.0f}s: {probes.first_line(s['query'])}"
                          for s in running[:3])
    assert not running, (
        f"{len(running)} query(ies) running longer than {limit:g}s on {db.where}: {described}; "
        "the guide's recovery is pg_terminate_backend(pid) after checking what it is")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Troubleshooting / Common Issues / Database Issues")
def check_no_blocked_sessions(db, expect):
    """Beyond the guide: a session waiting on a lock is a symptom (requests stall), named with who blocks it."""
    limit = expect["database.connections.max_lock_wait_s"]
    waits = probes.lock_waits(db, limit)
    described = "; ".join(f"pid {w['pid']} ({w['user']}) waiting {w['wait_s']:.0f}s on {w['relation'] or 'a lock'} "
                          f"held by pid {', '.join(map(str, w['blocked_by'])) or '?'}: {probes.first_line(w['query'], 50)}"
                          for w in waits[:3])
    assert not waits, f"{len(waits)} session(s) blocked on locks longer than {limit:g}s on {db.where}: {described}"


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Troubleshooting / Common Issues / Database Issues")
def check_no_new_deadlocks(db, target, history, evidence):
    """Deadlocks since the previous run against this target (pg_stat_database.deadlocks is cumulative)."""
    now = probes.deadlocks(db)
    before = history.exchange(f"deadlocks:{db.where}", now)
    evidence.update(deadlocks_total=now, previous_run=before)
    if before is None or now < before:  # first run, or statistics were reset: this run is the baseline
        return
    assert now == before, (
        f"{now - before} deadlock(s) on {db.where} since the previous run (pg_stat_database.deadlocks "
        f"{before} -> {now}); the server log names the statements involved")
