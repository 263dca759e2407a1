"""Backups: WAL archiving works and the newest base backup is recent.

Guide: Maintenance Schedule / Daily Tasks / Check backup status; Troubleshooting / Recovery
Procedures / Database Recovery (npm run db:restore restores from these).
"""

import time
from pathlib import Path

import pytest

from nbaverify.clients.scratch_restore import ScratchRestore
from nbaverify.errors import CheckError
from nbaverify.probes import backups, restore
from nbaverify.probes import database as probes

pytestmark = [pytest.mark.area("database")]

BACKUP_STATUS = "Maintenance Schedule / Daily Tasks / Check backup status"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(BACKUP_STATUS, "Troubleshooting / Recovery Procedures / Database Recovery")
def check_wal_archiving_enabled(db, evidence):
    """`archive_mode` is on: the primary archives its WAL.

    A warning, beyond the guide (it asks for backups, not for a WAL archive): without one a restore
    can only return to the last base backup, with no point-in-time recovery. Set `archive_mode` and
    `archive_command`.

    When it fails: Check `SHOW archive_mode` and `SHOW archive_command` on the primary. Turning it
    on needs `archive_mode = on`, an `archive_command` and a server restart: plan it with the
    database team. A team that relies on base backups alone waives it with an owner and an expiry.
    """
    state = probes.archiver(db)
    evidence["archive_mode"] = state["mode"]
    assert state["mode"] != "off", (
        f"archive_mode is off on {db.where}: no WAL archive, so a restore can only return to the"
        " last base backup (no point-in-time recovery); set archive_mode and archive_command"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(BACKUP_STATUS, "Troubleshooting / Recovery Procedures / Database Recovery")
def check_wal_archiving_not_failing(db, evidence):
    """WAL archiving has not failed since its last success, as `pg_stat_archiver` records it.

    Failing is a failure on record (`failed_count`) later than the last success, or with no success
    at all: check `archive_command` and the archive's disk. Skipped when `archive_mode` is off
    (`check_wal_archiving_enabled` says so). The archiver's state goes into the evidence.

    When it fails: Run `SELECT * FROM pg_stat_archiver` on the primary and read the PostgreSQL log
    for the `archive_command` error on the WAL file named (full disk, permissions, unreachable
    archive). Fix that cause: until archiving succeeds WAL piles up in `pg_wal`, so watch the
    primary's disk (`check_disk_usage`).
    """
    state = probes.archiver(db)
    evidence.update({k: str(v) for k, v in state.items()})
    if state["mode"] == "off":
        pytest.skip(
            f"archive_mode is off on {db.where}: no archiving to fail (see"
            " check_wal_archiving_enabled)"
        )
    failing = (
        bool(state["failed_count"])
        and state["last_failed_time"] is not None
        and (
            state["last_archived_time"] is None
            or state["last_failed_time"] > state["last_archived_time"]
        )
    )
    assert not failing, (
        f"WAL archiving is failing on {db.where}: last failure {state['last_failed_wal']} at"
        f" {state['last_failed_time']:%Y-%m-%d %H:%M:%S}, last success"
        f" {state['last_archived_wal'] or 'never'}; check archive_command and the archive's disk"
        " (pg_stat_archiver)"
    )


@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(BACKUP_STATUS, "Troubleshooting / Recovery Procedures / Database Recovery")
def check_base_backup_recent(expect, evidence):
    """The newest base backup started within `database.backups.max_age_h` (26 h).

    Backups are the plain `pg_basebackup` directories under `database.backups.dir`, which the
    suite's host must be able to read; each one's start is the `START TIME` of its `backup_label`.
    26 hours is a daily schedule with two hours of slack. Skipped as not configured while
    `database.backups.dir` is empty (the default); a directory with no backup in it fails.

    When it fails: List `database.backups.dir` (`ls -lt`) and read the backup job's schedule and
    last log (the CronJob or cron entry that runs `pg_basebackup`), and the free space where it
    writes. Once the cause is fixed, take a backup by hand rather than wait a day.
    """
    directory = expect["database.backups.dir"]
    if not directory:
        pytest.skip("not configured: expectations.database.backups.dir")
    limit = expect["database.backups.max_age_h"]
    found = backups.newest(Path(directory))
    assert found is not None, f"no base backup (a directory with a backup_label) under {directory}"
    evidence.update(
        newest=found.path.name, started=found.started.isoformat(), age_h=round(found.age_h(), 2)
    )
    assert found.age_h() <= limit, (
        f"newest base backup {found.path} started {found.started:%Y-%m-%d %H:%M} UTC,"
        f" {found.age_h():.0f}h ago (limit {limit:g}h); the backup job has stopped: check its"
        " schedule and logs"
    )


@pytest.mark.monthly
@pytest.mark.severity("critical")
@pytest.mark.safety("writes")
@pytest.mark.runbook(
    "Troubleshooting / Recovery Procedures / Database Recovery",
    "Maintenance Schedule / Monthly Tasks / Test recovery procedures",
)
def check_restore_drill(db, read_source, expect, evidence):
    """The newest base backup restores, and its data matches the live database table by table.

    The guide's `db:restore` / `db:verify`, done where it cannot hurt: `pg_verifybackup` checks the
    backup against its manifest (where it has one); a copy is started on a private Unix socket with
    the PostgreSQL server binaries of the suite's host; each table of
    `database.backups.verify_tables` (`teams`, `players`, `games`, `player_stats`, `game_stats`) is
    compared, row count and an order-independent content fingerprint, with the replica, else the
    primary. List tables that do not change between the backup and the drill, or counts will differ.

    `pg_verifybackup`, starting the copy, and each comparison's statement are bounded by
    `database.backups.restore_timeout_s` (120 s); each phase's time goes into the evidence. The copy
    is stopped and deleted afterwards; the target is only read. Skipped as not configured while
    `database.backups.dir` is empty.

    When it fails: Read which phase failed: a `pg_verifybackup` error means a damaged backup (take a
    new one and keep the old for study); a copy that did not start quotes its server log; differing
    tables mean the backup is wrong or those tables change between backup and drill (list only
    stable ones in `database.backups.verify_tables`).
    """
    directory = expect["database.backups.dir"]
    if not directory:
        pytest.skip("not configured: expectations.database.backups.dir")
    found = backups.newest(Path(directory))
    assert found is not None, (
        f"no base backup (a directory with a backup_label) under {directory} to restore"
    )
    timeout = expect["database.backups.restore_timeout_s"]
    # its phases timed on their own: a drill that grows with the data is bounded by verify_tables
    # and the timeout
    timing = evidence["timing_s"] = {}
    started = time.monotonic()
    problem = restore.verify_backup(found.path, timeout)
    timing["pg_verifybackup"] = round(time.monotonic() - started, 2)
    assert problem is None, (
        f"backup {found.path} fails pg_verifybackup: {problem}; it would not restore"
    )
    # each table's fingerprint reads every row of it, on both sides: bounded by the drill's own
    # time, not the statement timeout of the quick checks (at --scale 100, 50M box scores took
    # longer than 10 s)
    budget_ms = int(timeout * 1000)
    source, dbname = read_source.patient(budget_ms), db.dbname
    try:
        started = time.monotonic()
        with ScratchRestore(found.path, user=db.user, timeout_s=timeout) as scratch:
            restored = scratch.database(dbname, budget_ms)
            timing["restore_and_start"] = round(time.monotonic() - started, 2)
            differences = []
            for table in expect["database.backups.verify_tables"]:
                started = time.monotonic()
                try:
                    got, want = (
                        restore.fingerprint(restored, table),
                        restore.fingerprint(source, table),
                    )
                except CheckError as exc:
                    if "gave up waiting for the statement" not in str(exc):
                        raise
                    raise CheckError(
                        f"comparing table {table} of the restored backup {found.path.name} with"
                        f" {source.where} took longer than restore_timeout_s ({timeout:g}s a"
                        " statement): list fewer or smaller tables in"
                        " database.backups.verify_tables, or raise the timeout"
                    ) from None
                timing[f"compare {table}"] = round(time.monotonic() - started, 2)
                evidence[table] = {"rows": got.rows, "matches": got == want}
                if got != want:
                    differences.append(
                        f"{table}: {got.rows} rows restored vs {want.rows} in {source.role}"
                        + (" (same count, different content)" if got.rows == want.rows else "")
                    )
            restored.close()
    finally:
        source.close()
    assert not differences, (
        f"backup {found.path.name} restored, but its data differs from {source.where}:"
        f" {'; '.join(differences)}"
    )
