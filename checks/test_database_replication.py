"""Streaming replication: every replica streams, and its lag stays under the expectations.

Guide: System Monitoring / Health Checks / Database Health (`SELECT * FROM pg_stat_replication`);
Troubleshooting / Common Issues / Database Issues (Replication lag).
"""

import pytest

from nbaverify.eventually import eventually
from nbaverify.probes import replication
from nbaverify.thresholds import LagThreshold

pytestmark = [pytest.mark.area("database")]

DATABASE_HEALTH = "System Monitoring / Health Checks / Database Health"
REPLICATION_LAG = "Troubleshooting / Common Issues / Database Issues"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(DATABASE_HEALTH)
def check_replicas_streaming(db, expect, evidence):
    senders = replication.senders(db)
    streaming = [s for s in senders if s.state == "streaming"]
    wanted = expect["database.replication.min_streaming_replicas"]
    evidence["senders"] = [f"{s.label()}: {s.state}" for s in senders]
    seen = ", ".join(f"{s.label()} {s.state}" for s in senders) or "no walsender at all"
    assert len(streaming) >= wanted, (
        f"{len(streaming)} replica(s) streaming from primary {db.where}, expected at least {wanted} "
        f"(pg_stat_replication: {seen}); check that the replica is running and reaches the primary")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(REPLICATION_LAG)
def check_replication_lag(db, replica, expect, evidence):
    limit = LagThreshold.parse(expect["database.replication.max_lag"])

    def lag_within_limit():
        streaming = [s for s in replication.senders(db) if s.state == "streaming"]
        assert streaming, f"no replica is streaming from primary {db.where}, so no lag can be measured"
        view = replication.replica_view(replica)
        evidence["replica"] = {"where": replica.where, "unreplayed_bytes": view.unreplayed_bytes,
                               "lag_s": round(view.lag_s, 3), "replay_paused": view.replay_paused}
        problems = []
        for sender in streaming:
            lag_s = max(sender.replay_lag_s or 0.0, view.lag_s if len(streaming) == 1 else 0.0)
            lag_bytes = sender.lag_bytes or 0
            evidence[sender.name] = {"lag_bytes": lag_bytes, "lag_s": round(lag_s, 3)}
            if limit.exceeded(lag_bytes, lag_s):
                problems.append(f"{sender.label()} lag {lag_bytes} bytes and {lag_s:.1f}s (limit {limit.describe()})")
        hint = ("replay is paused on the replica (SELECT pg_wal_replay_resume())" if view.replay_paused
                else "check the replica's WAL replay, disk and CPU")
        assert not problems, f"replication from {db.where}: {'; '.join(problems)}; {hint}"

    # a moment's lag after a burst of writes is normal: fail only when it does not catch up
    eventually(lag_within_limit, timeout=expect["database.replication.settle_s"], interval=0.5)


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(DATABASE_HEALTH)
def check_replica_serves_reads(replica, evidence):
    """The replica answers read queries and is still a replica (in recovery), not a promoted copy."""
    row = replica.single("SELECT pg_is_in_recovery() AS in_recovery, (SELECT count(*) FROM teams) AS teams")
    evidence.update(row)
    assert row["in_recovery"], (
        f"replica {replica.where} is not in recovery: it was promoted and takes writes of its own "
        "(split brain); re-clone it from the primary before pointing readers at it")
