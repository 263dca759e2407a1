"""Streaming replication: every replica streams, and its lag stays under the expectations.

Guide: System Monitoring / Health Checks / Database Health (`SELECT * FROM pg_stat_replication`);
Troubleshooting / Common Issues / Database Issues (Replication lag).
"""

import pytest

from nbaverify.eventually import eventually
from nbaverify.expectation_values import LagThreshold
from nbaverify.probes import replication

pytestmark = [pytest.mark.area("database")]

DATABASE_HEALTH = "System Monitoring / Health Checks / Database Health"
REPLICATION_LAG = "Troubleshooting / Common Issues / Database Issues"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(DATABASE_HEALTH)
def check_replicas_streaming(db, expect, evidence):
    """At least `database.replication.min_streaming_replicas` (1) replicas are `streaming` in the
    primary's `pg_stat_replication`.

    Every walsender, with its name, client and state, goes into the evidence and the message. Too
    few streaming: check that the replica runs and reaches the primary.

    When it fails: On the replica, check PostgreSQL runs and read its log for the WAL receiver's
    error (authentication, `pg_hba.conf`, a WAL segment the primary already removed); `SELECT * FROM
    pg_stat_replication` on the primary shows who connects. Re-cloning a replica that lost its WAL
    is the database team's decision.
    """
    senders = replication.senders(db)
    streaming = [s for s in senders if s.state == "streaming"]
    wanted = expect["database.replication.min_streaming_replicas"]
    evidence["senders"] = [f"{s.label()}: {s.state}" for s in senders]
    seen = ", ".join(f"{s.label()} {s.state}" for s in senders) or "no walsender at all"
    assert len(streaming) >= wanted, (
        f"{len(streaming)} replica(s) streaming from primary {db.where}, expected at least {wanted}"
        f" (pg_stat_replication: {seen}); check that the replica is running and reaches the primary"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(REPLICATION_LAG, "System Monitoring / Metrics Collection / Database Metrics")
def check_replication_lag(db, replica, expect, evidence):
    """Each streaming replica's lag, in WAL bytes and in seconds, is within
    `database.replication.max_lag` (`16MB or 30s`).

    Bytes: `pg_wal_lsn_diff` of the primary's current WAL position and the replica's replay
    position. Seconds: the primary's `replay_lag` or, with a single streaming replica, the replica's
    own view (the time since its last replayed transaction while WAL waits), whichever is larger,
    since `replay_lag` stops growing while replay is paused. `max_lag` is written like
    check_postgres's `hot_standby_delay`: `16MB` or `30s` alone, `16MB and 30s` (over when both are
    exceeded), `16MB or 30s` (over when either is).

    A moment's lag after a burst of writes is normal: the lag is given
    `database.replication.settle_s` (5 s) to catch up. No replica streaming fails too; a paused
    replay is named in the message.

    When it fails: If replay is paused, ask who paused it and why, then follow the message (`SELECT
    pg_wal_replay_resume()`). Otherwise, in `pg_stat_replication`, `write_lag` or `flush_lag` mean
    network or disk, `replay_lag` alone the replica's CPU or a query holding replay. More lag by
    design: set `database.replication.max_lag` in the profile's `[expectations]`.
    """
    limit = LagThreshold.parse(expect["database.replication.max_lag"])

    def lag_within_limit():
        streaming = [s for s in replication.senders(db) if s.state == "streaming"]
        assert streaming, (
            f"no replica is streaming from primary {db.where}, so no lag can be measured"
        )
        view = replication.replica_view(replica)
        evidence["replica"] = {
            "where": replica.where,
            "unreplayed_bytes": view.unreplayed_bytes,
            "lag_s": round(view.lag_s, 3),
            "replay_paused": view.replay_paused,
        }
        problems = []
        for sender in streaming:
            lag_s = max(sender.replay_lag_s or 0.0, view.lag_s if len(streaming) == 1 else 0.0)
            lag_bytes = sender.lag_bytes or 0
            evidence[sender.name] = {"lag_bytes": lag_bytes, "lag_s": round(lag_s, 3)}
            if limit.exceeded(lag_bytes, lag_s):
                problems.append(
                    f"{sender.label()} lag {lag_bytes} bytes and {lag_s:.1f}s (limit"
                    f" {limit.describe()})"
                )
        hint = (
            "replay is paused on the replica (SELECT pg_wal_replay_resume())"
            if view.replay_paused
            else "check the replica's WAL replay, disk and CPU"
        )
        assert not problems, f"replication from {db.where}: {'; '.join(problems)}; {hint}"

    # a moment's lag after a burst of writes is normal: fail only when it does not catch up
    eventually(lag_within_limit, timeout=expect["database.replication.settle_s"], interval=0.5)


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(DATABASE_HEALTH)
def check_replica_serves_reads(replica, evidence):
    """The replica answers a read query and is still in recovery, not promoted.

    It reads `pg_is_in_recovery()` and the row count of `teams`. A replica out of recovery was
    promoted and takes writes of its own (split brain): re-clone it from the primary before pointing
    readers at it.

    When it fails: First ask whether a failover promoted it on purpose: then
    `database.replica_dsn_env` points at the new primary and must be updated. Only a promotion
    nobody planned is split brain: keep readers off it and leave the re-clone to the database team.
    """
    row = replica.single(
        "SELECT pg_is_in_recovery() AS in_recovery, (SELECT count(*) FROM teams) AS teams"
    )
    evidence.update(row)
    assert row["in_recovery"], (
        f"replica {replica.where} is not in recovery: it was promoted and takes writes of its own "
        "(split brain); re-clone it from the primary before pointing readers at it"
    )
