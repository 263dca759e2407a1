"""Streaming replication, seen from the primary (pg_stat_replication) and from the replica."""

from __future__ import annotations

from dataclasses import dataclass

from nbaverify.clients.db import Database


@dataclass(frozen=True)
class Sender:
    """One walsender on the primary: a replica (or a backup) receiving WAL."""

    name: str
    client: str
    state: str
    lag_bytes: int | None
    replay_lag_s: float | None  # NULL when idle: the primary only times WAL it is waiting on

    def label(self) -> str:
        return f"{self.name} ({self.client})"


@dataclass(frozen=True)
class ReplicaView:
    """Replication as the replica itself sees it: in recovery or not, replay paused or not, the WAL
    received and not yet replayed (bytes), and the lag in seconds (0 when caught up)."""

    in_recovery: bool
    replay_paused: bool
    unreplayed_bytes: int
    lag_s: float  # since the last replayed transaction, when WAL is waiting; 0 when caught up


def senders(db: Database) -> list[Sender]:
    # System Monitoring / Health Checks / Database Health: SELECT * FROM pg_stat_replication
    rows = db.rows(
        "SELECT coalesce(nullif(application_name, ''), 'walreceiver') AS name, "
        "coalesce(host(client_addr), 'local') AS client, state, "
        "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS lag_bytes, "
        "extract(epoch FROM replay_lag)::float AS replay_lag_s "
        "FROM pg_stat_replication ORDER BY application_name"
    )
    return [
        Sender(r["name"], r["client"], r["state"], r["lag_bytes"], r["replay_lag_s"]) for r in rows
    ]


def replica_view(replica: Database) -> ReplicaView:
    # replay_lag on the primary stops growing while replay is paused, so the replica is asked too
    row = replica.single(
        "SELECT pg_is_in_recovery() AS in_recovery, CASE WHEN pg_is_in_recovery() THEN"
        " pg_get_wal_replay_pause_state() <> 'not paused' ELSE false END AS paused,"
        " coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint"
        " AS unreplayed, CASE WHEN pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()      THEN"
        " coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0) ELSE 0"
        " END::float AS lag_s"
    )
    assert row is not None
    return ReplicaView(row["in_recovery"], row["paused"], row["unreplayed"], row["lag_s"])
