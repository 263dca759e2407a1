"""Database faults: the primary and the streaming replica (Database Health, Replication lag)."""

from __future__ import annotations

from nbaverify.sandbox.faults import fault

REPLICATION = "checks/test_database_replication.py"
CONNECTIONS = "checks/test_database_connections.py"
HEALTH = "checks/test_health.py"

# Enough WAL to exceed the sandbox's max_lag_bytes (1 MiB) at once, so the fault is visible
# without waiting for seconds to pass; the API's live feed keeps writing after it.
LAG_BURST_MB = 4


def _stop_primary(sb):
    sb.cluster.primary.stop()


def _stop_replica(sb):
    sb.cluster.replica.stop()


def _pause_replay(sb):
    with sb.cluster.replica.admin() as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    sb.cluster.write_wal(LAG_BURST_MB)


def _resume_replay(sb):
    if sb.cluster.replica.running() and sb.cluster.replay_paused():
        with sb.cluster.replica.admin() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")


fault(
    name="db_down", area="database",
    breaks="the primary PostgreSQL is stopped: the API's /health/detailed turns 503 and the suite cannot connect",
    caught_by=(f"{CONNECTIONS}::check_primary_accepts_connections", f"{HEALTH}::check_health_detailed_all_ok"),
    expect=r"primary|database",
    apply=_stop_primary, revert=lambda sb: sb.cluster.primary.start(),
)

fault(
    name="replica_stopped", area="database",
    breaks="the streaming replica is stopped: no walsender in pg_stat_replication, /health/detailed says replica down",
    caught_by=(f"{REPLICATION}::check_replicas_streaming", f"{HEALTH}::check_health_detailed_all_ok"),
    expect=r"replica",
    apply=_stop_replica, revert=lambda sb: sb.cluster.replica.start(),
)

fault(
    name="replica_lag", area="database",
    breaks="WAL replay on the replica is paused while the primary keeps writing: lag in bytes and seconds grows",
    caught_by=(f"{REPLICATION}::check_replication_lag",),
    expect=r"lag .*bytes",
    apply=_pause_replay, revert=_resume_replay,
)

fault(
    name="health_lies", area="api",
    breaks="the replica is stopped but /health/detailed still reports it ok (a health endpoint that does not look)",
    caught_by=(f"{HEALTH}::check_health_detailed_agrees_with_suite", f"{REPLICATION}::check_replicas_streaming"),
    expect=r"replica",
    apply=_stop_replica, revert=lambda sb: sb.cluster.replica.start(),
)
