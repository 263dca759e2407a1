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
@pytest.mark.runbook(DATABASE_HEALTH, "Troubleshooting / Common Issues / Database Issues")
def check_primary_accepts_connections(db):
    """The primary database accepts the monitoring role's connection and is not in recovery.

    Connected through the profile's `database.dsn_env`; `pg_is_in_recovery()` true means that DSN
    points at a replica, not the primary.

    When it fails: Run `pg_isready -h HOST -p PORT` against the server named and read its PostgreSQL
    log; check that the DSN in `database.dsn_env` and the monitoring role's password still hold. 'in
    recovery' means that DSN points at a replica (after a failover?): point `database.dsn_env` at
    the current primary.
    """
    reachable, why = db.ping()
    assert reachable, (
        f"primary database {db.where} does not accept connections as {db.user}: {why}; "
        "check the PostgreSQL server and its logs"
    )
    row = db.single("SELECT pg_is_in_recovery() AS in_recovery")
    assert not row["in_recovery"], (
        f"database.dsn_env points at {db.where}, which is in recovery (a replica), expected the"
        " primary"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(DATABASE_HEALTH)
def check_activity_visible(db, evidence):
    """`pg_stat_activity` shows the monitoring role every client session's query, none
    `<insufficient privilege>`.

    Without `pg_monitor` other users' queries are hidden, and long queries cannot be seen: `GRANT
    pg_monitor TO` the suite's role. The number of client sessions, and of active ones, goes into
    the evidence.

    When it fails: Run `GRANT pg_monitor TO MONITOR_ROLE` on the primary, as a superuser, for the
    role the message names (the monitoring role's grants are listed in the README); until then the
    long-query and blocking checks cannot see other users' sessions.
    """
    rows = db.rows(
        # without pg_monitor, other users' rows come back with backend_type NULL too: do not filter
        # on it
        "SELECT state, query = '<insufficient privilege>' AS hidden FROM pg_stat_activity WHERE pid"
        " <> pg_backend_pid() AND (backend_type = 'client backend' OR backend_type IS NULL)"
    )
    hidden = sum(1 for r in rows if r["hidden"])
    evidence["client_sessions"] = len(rows)
    evidence["active"] = sum(1 for r in rows if r["state"] == "active")
    assert hidden == 0, (
        f"pg_stat_activity on {db.where} hides {hidden} of {len(rows)} session(s) from role"
        f" {db.user} ('<insufficient privilege>'); GRANT pg_monitor TO that role so long queries"
        " can be seen"
    )


def connection_share(db, evidence) -> tuple[float, str, str]:
    """check_postgres 'backends': connections in use as a share of max_connections, and the busiest
    clients."""
    usage = probes.connection_usage(db)
    usable = usage["max_connections"] - usage["reserved"]
    ratio = usage["in_use"] / usable
    evidence.update(usage, ratio=round(ratio, 3))
    top = ", ".join(
        f"{r['application']} ({r['user']}) {r['n']}"
        for r in probes.connections_by_application(db)[:3]
    )
    return (
        ratio,
        f"{usage['in_use']} of {usable} usable connections in use on {db.where} ({ratio:.0%}",
        top,
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(
    "System Monitoring / Metrics Collection / Database Metrics",
    "Performance Tuning / Database Optimization / Connection Pool Settings",
)
def check_connection_headroom(db, expect, evidence):
    """Client connections in use stay under `database.connections.critical_ratio` (90 %) of the
    usable connections.

    Past that share new connections will soon be refused; `check_connection_usage_below_warning`
    warns earlier. Counted as check_postgres's `backends` counts them: client backends in
    `pg_stat_activity` against the usable connections, `max_connections` less
    `superuser_reserved_connections`. The busiest three applications are named; the counts go into
    the evidence.

    When it fails: Run `SELECT usename, application_name, state, count(*) FROM pg_stat_activity
    GROUP BY 1, 2, 3 ORDER BY 4 DESC` on the primary. Many `idle` sessions mean pools sized too
    large or leaking (the guide's `max: 20` per instance); many `active` ones a slow database.
    Raising `max_connections` needs a restart: a last resort.
    """
    ratio, seen, top = connection_share(db, evidence)
    critical = expect["database.connections.critical_ratio"]
    assert ratio < critical, (
        f"{seen} >= critical {critical:.0%}); busiest: {top}; new connections will soon be refused"
    )


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(
    "System Monitoring / Metrics Collection / Database Metrics",
    "Performance Tuning / Database Optimization / Connection Pool Settings",
)
def check_connection_usage_below_warning(db, expect, evidence):
    """Client connections in use stay under `database.connections.warning_ratio` (70 %) of the
    usable connections.

    A warning: headroom for a traffic spike is thin; `check_connection_headroom` is the critical
    line. Counted as check_postgres's `backends` counts them: client backends in `pg_stat_activity`
    against the usable connections, `max_connections` less `superuser_reserved_connections`. The
    busiest three applications are named; the counts go into the evidence.

    When it fails: Run `SELECT usename, application_name, state, count(*) FROM pg_stat_activity
    GROUP BY 1, 2, 3 ORDER BY 4 DESC` and check the pools against the API's replicas (up to 10 by
    the HPA, 20 each). A team that knowingly runs nearer the limit sets
    `database.connections.warning_ratio` in its profile's `[expectations]`.
    """
    ratio, seen, top = connection_share(db, evidence)
    warning = expect["database.connections.warning_ratio"]
    assert ratio < warning, (
        f"{seen} >= warning {warning:.0%}); busiest: {top}; headroom for a traffic spike is thin"
    )


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(
    "Performance Tuning / Database Optimization / Connection Pool Settings",
    "System Monitoring / Metrics Collection / Database Metrics",
)
def check_connections_per_application(db, expect, evidence):
    """No client holds more database connections than the guide's pool maximum,
    `database.connections.max_per_application` (20).

    Client backends in `pg_stat_activity`, grouped by `application_name`, user and client address
    (every group goes into the evidence): the guide's `new Pool({ max: 20 })` is one pool a process,
    so ten API pods under one `application_name` may hold 200 between them, 20 each. More than the
    maximum from one client means its pool is configured larger, or connections leak past it (a
    pooler in between is one client for everyone behind it).

    When it fails: Look at the client named: `SELECT state, count(*) FROM pg_stat_activity WHERE
    application_name = 'NAME' AND client_addr = 'ADDR' GROUP BY 1`. Many idle connections point at a
    pool configured above 20; many `idle in transaction` or growing counts at a leak in the client.
    Behind a pooler (pgbouncer), raise `database.connections.max_per_application` to the pooler's
    own size.
    """
    limit = expect["database.connections.max_per_application"]
    groups = probes.connections_by_client(db)
    evidence["by_client"] = {
        f"{g['application']} ({g['user']}) from {g['client']}": g["n"] for g in groups
    }
    over = [
        f"{g['application']} ({g['user']}) from {g['client']} holds {g['n']}"
        for g in groups
        if g["n"] > limit
    ]
    assert not over, (
        f"on {db.where}: {'; '.join(over)} connections, more than the pool maximum of {limit} a"
        " client (guide: Pool max 20); its pool is configured larger, or connections leak past it"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Troubleshooting / Debugging Procedures / Database Debugging")
def check_no_idle_in_transaction(db, expect):
    """No session stays idle in a transaction longer than
    `database.connections.max_idle_in_transaction_s` (60 s).

    Such a session holds locks and stops vacuum: fix the client that left the transaction open.
    Measured from the session's `state_change`; the first three are named with pid, user,
    application, how long, and the first line of their last query.

    When it fails: Look at the sessions named (`SELECT pid, usename, application_name, now() -
    state_change, query FROM pg_stat_activity WHERE state = 'idle in transaction'`) and fix the
    client that leaves its transaction open. Ending one (`pg_terminate_backend`) or setting
    `idle_in_transaction_session_timeout` is the DBAs' call.
    """
    limit = expect["database.connections.max_idle_in_transaction_s"]
    idle = probes.sessions_in_state(db, "idle in transaction", limit, since="state_change")
    described = "; ".join(
        f"pid {s['pid']} ({s['user']}, {s['application'] or 'no application_name'}) idle "
        f"{s['age_s']:.0f}s after: {probes.first_line(s['query'])}"
        for s in idle[:3]
    )
    assert not idle, (
        f"{len(idle)} session(s) idle in transaction longer than {limit:g}s on {db.where}:"
        f" {described}; they hold locks and stop vacuum: fix the client that left the transaction"
        " open"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("Troubleshooting / Debugging Procedures / Database Debugging")
def check_no_long_running_queries(db, expect):
    """No query has been running longer than the guide's 5 minutes
    (`database.connections.max_query_s`, 300 s).

    Active client sessions, measured from `query_start`; the first three are named with pid, user,
    duration and the query's first line. The guide kills such queries (`pg_terminate_backend(pid)`,
    after checking what it is); the suite only reports them, never terminates.

    When it fails: Run the guide's `SELECT pid, query, state FROM pg_stat_activity WHERE state !=
    'idle'` and find out what each named pid is and whose (a migration, a report, a runaway). Only
    then may the operators use the guide's `pg_terminate_backend(pid)`; a known long job is waived
    with an owner and an expiry.
    """
    limit = expect["database.connections.max_query_s"]
    running = probes.sessions_in_state(db, "active", limit, since="query_start")
    described = "; ".join(
        f"pid {s['pid']} ({s['user']}) running {s['age_s']:.0f}s: {probes.first_line(s['query'])}"
        for s in running[:3]
    )
    assert not running, (
        f"{len(running)} query(ies) running longer than {limit:g}s on {db.where}: {described}; "
        "the guide's recovery is pg_terminate_backend(pid) after checking what it is"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Troubleshooting / Common Issues / Database Issues")
def check_no_blocked_sessions(db, expect):
    """No session waits on a lock longer than `database.connections.max_lock_wait_s` (5 s).

    Sessions whose `wait_event_type` is `Lock`, measured from their `query_start`, named with the
    relation they wait on and the pids blocking them (`pg_blocking_pids`). A warning, beyond the
    guide: a blocked session is a symptom (requests stall).

    When it fails: Look at the blocking pids named: `SELECT pid, usename, state, now() - xact_start,
    query FROM pg_stat_activity WHERE pid IN (...)`; often an idle transaction or a long migration
    (`check_no_idle_in_transaction`, `check_no_long_running_queries`). Fix the client that holds the
    lock; ending the blocker is the DBAs' call.
    """
    limit = expect["database.connections.max_lock_wait_s"]
    waits = probes.lock_waits(db, limit)
    described = "; ".join(
        f"pid {w['pid']} ({w['user']}) waiting {w['wait_s']:.0f}s on {w['relation'] or 'a lock'}"
        f" held by pid {', '.join(map(str, w['blocked_by'])) or '?'}:"
        f" {probes.first_line(w['query'], 50)}"
        for w in waits[:3]
    )
    assert not waits, (
        f"{len(waits)} session(s) blocked on locks longer than {limit:g}s on {db.where}:"
        f" {described}"
    )


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Troubleshooting / Common Issues / Database Issues")
def check_no_new_deadlocks(db, target, history, evidence):
    """`pg_stat_database.deadlocks` has not grown since the previous run against the target.

    The counter is cumulative, so it is judged by its change since the previous run against the
    target (the history under `NBAVERIFY_STATE_DIR`), never by its totals: the run after an incident
    is fixed passes. The first run, and a run after a statistics reset (the counter went down),
    record the baseline and pass. The server log names the statements involved.

    When it fails: Search the PostgreSQL log since the previous run for `deadlock detected`: its
    DETAIL names the processes and statements. Make those transactions take their locks in one
    order; the next run passes once no new deadlock occurs.
    """
    now = probes.deadlocks(db)
    before = history.exchange(f"deadlocks:{db.where}", now)
    evidence.update(deadlocks_total=now, previous_run=before)
    if before is None or now < before:
        # first run, or statistics were reset: this run is the baseline
        return
    assert now == before, (
        f"{now - before} deadlock(s) on {db.where} since the previous run"
        f" (pg_stat_database.deadlocks {before} -> {now}); the server log names the statements"
        " involved"
    )
