"""The sandbox's PostgreSQL: a primary and a streaming replica from the system's server binaries.

Both listen on 127.0.0.1 and keep data and sockets under the state directory. When we are root
they run as the unprivileged `postgres` account (initdb refuses root). The sandbox administers
them as the `postgres` superuser over the Unix socket; the platform and the suite connect over
TCP with their own roles:

    nba_app            owns the schema; the reference API's role
    nbaverify_monitor  pg_monitor + SELECT, read-only at the server (default_transaction_read_only)
    replicator         REPLICATION, used by the replica's walreceiver
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from nbaverify import procs, shipped
from nbaverify.errors import SandboxError
from nbaverify.probes.backups import newest
from nbaverify.sandbox.layout import Layout

SQL_DIR = shipped.SQL
DATABASE = "nba"
REPLICA_NAME = "nba-replica"
REPLICATION_SLOT = "nba_replica"
FREEZE_ABOVE = 50_000  # well under the sandbox's max_xid_age (150,000)


bindir = procs.pg_bindir


def one_row(conn: psycopg.Connection, query: str, params: tuple = ()) -> tuple:
    """The one row a query on the sandbox's own servers always answers (an aggregate, a view's
    single row)."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise SandboxError(
            f"no row from the sandbox's PostgreSQL for: {' '.join(query.split())[:70]}"
        )
    return row


def scalar(conn: psycopg.Connection, query: str, params: tuple = ()) -> Any:
    return one_row(conn, query, params)[0]


@dataclass(frozen=True)
class Server:
    """One PostgreSQL server of the sandbox."""

    role: str  # "primary" or "replica"
    data: Path
    port: int
    socket_dir: Path
    log: Path

    def pg_ctl(
        self, *args: str, step: str, timeout: float = 60, binaries: Path | None = None
    ) -> str:
        argv = [str((binaries or bindir()) / "pg_ctl"), "-D", str(self.data), *args]
        return procs.run(argv, step=step, as_service=True, timeout=timeout)

    @property
    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def running(self) -> bool:
        pid_file = self.data / "postmaster.pid"
        return pid_file.exists() and procs.read_pid(pid_file, "postgres") is not None

    def start(self, binaries: Path | None = None) -> None:
        """Started with the machine's PostgreSQL, or with other binaries of the same major (a
        fault's)."""
        if self.running():
            return
        procs.ensure_port_free(self.port, f"sandbox PostgreSQL {self.role}")
        self.log.parent.mkdir(parents=True, exist_ok=True)
        procs.chown_to_service(self.log.parent)
        self.pg_ctl(
            "-l",
            str(self.log),
            "-w",
            "-t",
            "30",
            "start",
            step=f"start PostgreSQL {self.role}",
            binaries=binaries,
        )

    def stop(self) -> None:
        if self.running():
            self.pg_ctl("-m", "fast", "-w", "-t", "30", "stop", step=f"stop PostgreSQL {self.role}")

    def admin(self, dbname: str = DATABASE, autocommit: bool = True) -> psycopg.Connection:
        """A superuser connection over the Unix socket (trust auth, sandbox-only)."""
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname=dbname,
            autocommit=autocommit,
            connect_timeout=5,
        )

    def ready(self) -> bool:
        try:
            with self.admin(dbname="postgres") as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False


BASE_PLAYER_STATS_ROWS = 516_600
# seed.sql's 14 seasons: a scale of N seeds 14 x N of them
BASE_SEASONS = "generate_series(2012, 2025)"
# measured at scale 10 on this machine: the primary, the replica's copy, base backups and the seed's
# WAL archived took 4.4 GiB (0.44 a scale; 0.55 leaves room), and `up` 112 s, about 9 s of it a
# scale
DISK_GIB_PER_SCALE = 0.55
SEED_S_PER_SCALE = 9


def seed_disk_gib(scale: int) -> float:
    return 1.0 + DISK_GIB_PER_SCALE * scale


def seasons_for(seed_sql: str, scale: int) -> str:
    """The seed with 14 x scale seasons ending in 2025: player_stats and game_stats rows times
    scale."""
    assert BASE_SEASONS in seed_sql, "seed.sql no longer names its seasons as the scale expects"
    return seed_sql.replace(BASE_SEASONS, f"generate_series({2026 - 14 * scale}, 2025)")


class Cluster:
    """The primary and its replica, initialised once and then started and stopped."""

    def __init__(self, layout: Layout, passwords: dict[str, str]):
        self.layout = layout
        self.passwords = passwords
        self.primary = Server(
            "primary",
            layout.primary_data,
            layout.primary_port,
            layout.socket_dir,
            layout.log_file("postgres-primary"),
        )
        self.replica = Server(
            "replica",
            layout.replica_data,
            layout.replica_port,
            layout.socket_dir,
            layout.log_file("postgres-replica"),
        )

    @property
    def initialised(self) -> bool:
        return (
            self.primary.initialised
            and self.replica.initialised
            and (self.layout.pg_dir / "seeded").exists()
        )

    @property
    def scale(self) -> int:
        """How many times the base data the cluster was seeded with (1 for a sandbox seeded before
        scales)."""
        words = (self.layout.pg_dir / "seeded").read_text().split() if self.initialised else []
        return (
            int(words[1]) if len(words) == 2 and words[0] == "scale" and words[1].isdigit() else 1
        )

    # -- first initialisation -------------------------------------------------------------------
    def initialise(self, say, scale: int = 1) -> None:
        if self.initialised:
            return
        need_gib = seed_disk_gib(scale)
        free_gib = shutil.disk_usage(self.layout.root).free / (1 << 30)
        if free_gib < need_gib:
            raise SandboxError(
                f"seeding scale {scale} needs about {need_gib:.0f} GiB under {self.layout.root} "
                f"(data, replica, base backup and WAL archive), {free_gib:.0f} GiB are free; "
                "choose a smaller --scale or another NBAVERIFY_SANDBOX_DIR"
            )
        if self.layout.pg_dir.exists():  # a half-finished earlier attempt: start clean
            if self.primary.initialised:
                self.primary.stop()
            shutil.rmtree(self.layout.pg_dir)
        for path in (self.layout.pg_dir, self.layout.socket_dir, self.layout.backups_dir / "wal"):
            path.mkdir(parents=True, exist_ok=True)
        procs.chown_to_service(self.layout.pg_dir)
        say("initialising PostgreSQL primary (initdb)")
        procs.run(
            [
                str(bindir() / "initdb"),
                "-D",
                str(self.primary.data),
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-instructions",
            ],
            step="initialise PostgreSQL (initdb)",
            as_service=True,
        )
        self._configure(
            self.primary,
            extra={
                "archive_mode": "on",
                # the WAL archive is what the backup-age check reads (Database Recovery)
                "archive_command": (
                    f"'test ! -f {self.layout.backups_dir}/wal/%f && cp %p"
                    f" {self.layout.backups_dir}/wal/%f'"
                ),
            },
        )
        (self.primary.data / "pg_hba.conf").write_text(
            "local   all          all                       trust\n"
            "local   replication  all                       trust\n"
            "host    all          all        127.0.0.1/32   scram-sha-256\n"
            "host    replication  replicator 127.0.0.1/32   scram-sha-256\n"
        )
        say("starting PostgreSQL primary")
        self.primary.start()
        say(
            f"creating roles, schema and seed data ({scale * BASE_PLAYER_STATS_ROWS:,} player_stats"
            " rows"
            + (
                f", scale {scale}: about {scale * SEED_S_PER_SCALE / 60:.0f} min"
                if scale > 1
                else ""
            )
            + ")"
        )
        self._create_roles_and_schema(scale)
        say("cloning the streaming replica (pg_basebackup)")
        self._clone_replica()
        say("taking the first base backup")
        self.base_backup()
        (self.layout.pg_dir / "seeded").write_text(f"scale {scale}\n")

    def _configure(self, server: Server, extra: dict[str, str]) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(server.port),
            "unix_socket_directories": f"'{server.socket_dir}'",
            "shared_preload_libraries": "'pg_stat_statements'",
            "wal_level": "replica",
            "max_wal_senders": "5",
            "max_replication_slots": "5",
            "hot_standby": "on",
            # off: feedback every 10 s holds back the xmin horizon, and a fault's revert VACUUM with
            # it
            "hot_standby_feedback": "off",
            "wal_retrieve_retry_interval": "'200ms'",  # a restarted primary is found again quickly
            "track_io_timing": "on",
            "shared_buffers": "'128MB'",
            # a disposable sandbox: durability traded for a fast seed, never for production
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "log_line_prefix": "'%m [%p] %u@%d '",
            **extra,
        }
        body = "".join(f"{key} = {value}\n" for key, value in settings.items())
        (server.data / "nbaverify.conf").write_text("# written by nbaverify sandbox\n" + body)
        conf = server.data / "postgresql.conf"
        if "include_if_exists = 'nbaverify.conf'" not in conf.read_text():
            with conf.open("a") as fh:
                fh.write("\ninclude_if_exists = 'nbaverify.conf'\n")
        procs.chown_to_service(server.data)

    def _create_roles_and_schema(self, scale: int) -> None:
        pw = self.passwords
        with self.primary.admin(dbname="postgres") as conn:
            for role, options in (
                ("nba_app", "LOGIN"),
                ("nbaverify_monitor", "LOGIN"),
                ("replicator", "LOGIN REPLICATION"),
            ):
                conn.execute(
                    sql.SQL("CREATE ROLE {} " + options + " PASSWORD {}").format(
                        sql.Identifier(role), sql.Literal(pw[role])
                    )
                )
            conn.execute("GRANT pg_monitor TO nbaverify_monitor")
            conn.execute("ALTER ROLE nbaverify_monitor SET default_transaction_read_only = on")
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER nba_app").format(sql.Identifier(DATABASE))
            )
        with self.primary.admin() as conn:
            conn.execute("CREATE EXTENSION pg_stat_statements")
            conn.execute("SET ROLE nba_app")
            for name in ("schema.sql", "seed.sql", "constraints.sql"):
                text = (SQL_DIR / name).read_text()
                conn.execute(seasons_for(text, scale) if name == "seed.sql" else text)
            conn.execute("RESET ROLE")
            conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO nbaverify_monitor")
            conn.execute(
                "ALTER DEFAULT PRIVILEGES FOR ROLE nba_app IN SCHEMA public GRANT SELECT ON TABLES"
                " TO nbaverify_monitor"
            )
            conn.execute("VACUUM ANALYZE")
            conn.execute("SELECT pg_create_physical_replication_slot(%s)", (REPLICATION_SLOT,))

    def reclone_replica(self) -> None:
        """A replica that left recovery (promoted) cannot stream again: clone it afresh."""
        self.replica.stop()
        shutil.rmtree(self.replica.data, ignore_errors=True)
        self._clone_replica()
        self.replica.start()

    def _clone_replica(self) -> None:
        procs.run(
            [
                str(bindir() / "pg_basebackup"),
                "-h",
                str(self.layout.socket_dir),
                "-p",
                str(self.primary.port),
                "-U",
                "postgres",
                "-D",
                str(self.replica.data),
                "-X",
                "stream",
                "-c",
                "fast",
            ],
            step="clone the replica (pg_basebackup)",
            as_service=True,
            timeout=300,
        )
        self._configure(self.replica, extra={"archive_mode": "off"})
        conninfo = (
            f"host=127.0.0.1 port={self.primary.port} user=replicator "
            f"password={self.passwords['replicator']} application_name={REPLICA_NAME}"
        )
        (self.replica.data / "postgresql.auto.conf").write_text(
            f"primary_conninfo = '{conninfo}'\nprimary_slot_name = '{REPLICATION_SLOT}'\n"
        )
        (self.replica.data / "standby.signal").write_text("")
        procs.chown_to_service(self.replica.data)
        os.chmod(self.replica.data, 0o700)

    # -- backups (the guide's db:restore reads these) ----------------------------------------------
    @property
    def base_backups(self) -> Path:
        return self.layout.backups_dir / "base"

    def base_backup(self) -> Path:
        """A plain-format base backup with its manifest (pg_verifybackup can check it), named by
        time."""
        self.base_backups.mkdir(parents=True, exist_ok=True)
        procs.chown_to_service(self.base_backups)
        target = self.base_backups / dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        procs.run(
            [
                str(bindir() / "pg_basebackup"),
                "-h",
                str(self.layout.socket_dir),
                "-p",
                str(self.primary.port),
                "-U",
                "postgres",
                "-D",
                str(target),
                "-X",
                "stream",
                "-c",
                "fast",
            ],
            step="take a base backup (pg_basebackup)",
            as_service=True,
            timeout=300,
        )
        for old in sorted(p for p in self.base_backups.iterdir() if p.is_dir())[:-2]:
            # keep the newest two
            shutil.rmtree(old, ignore_errors=True)
        return target

    def newest_backup_age_h(self) -> float | None:
        found = newest(self.base_backups) if self.base_backups.exists() else None
        return found.age_h() if found else None

    # -- statistics ------------------------------------------------------------------------------
    def fresh_statistics(self) -> None:
        """Zero the counters, restore vacuum/analyze facts, then the platform's hot lookups once."""
        # the live feed ages XIDs ~1/s; keep clear of the sandbox limit
        self.freeze(older_than=FREEZE_ABOVE)
        with self.primary.admin() as conn:
            conn.execute("SELECT pg_stat_reset()")
            conn.execute("SELECT pg_stat_statements_reset()")
            conn.execute("VACUUM ANALYZE")
        self.app_traffic()

    def shape(self, variant, say) -> None:
        """The variant's database choices: its WAL archive on or off (a restart of the primary when
        it changes), an index a team added, a table bulk-loaded just now (autovacuum has not come
        round to it yet).
        """
        with self.primary.admin() as conn:
            mode = scalar(conn, "SELECT setting FROM pg_settings WHERE name = 'archive_mode'")
            if mode != variant["archive_mode"]:
                say(f"archive_mode {variant['archive_mode']} on the primary (a restart)")
                conn.execute(f"ALTER SYSTEM SET archive_mode = '{variant['archive_mode']}'")
        if mode != variant["archive_mode"]:
            self.primary.stop()
            self.primary.start()
            self.wait_caught_up()
        with self.primary.admin() as conn:
            if variant["extra_indexes"] == "some":
                conn.execute(
                    "CREATE INDEX IF NOT EXISTS idx_players_name ON players (last_name, first_name)"
                )
            else:
                conn.execute("DROP INDEX IF EXISTS idx_players_name")
            conn.execute("DROP TABLE IF EXISTS box_score_archive")
            if variant["bulk_loaded"] == "yes":
                # as the app: its table, loaded by its own import job
                conn.execute("SET ROLE nba_app")
                conn.execute("CREATE TABLE box_score_archive AS SELECT * FROM game_stats")
        self.wait_caught_up()

    def freeze(self, older_than: int = 0) -> None:
        """VACUUM FREEZE every database whose XID age is above older_than (the sandbox's wraparound
        cure)."""
        with self.primary.admin(dbname="postgres") as conn:
            oldest = scalar(
                conn, "SELECT max(age(datfrozenxid)) FROM pg_database WHERE datallowconn"
            )
        if oldest > older_than:
            procs.run(
                [
                    str(bindir() / "vacuumdb"),
                    "-h",
                    str(self.layout.socket_dir),
                    "-p",
                    str(self.primary.port),
                    "-U",
                    "postgres",
                    "--all",
                    "--freeze",
                    "--quiet",
                ],
                step="freeze the databases (vacuumdb)",
            )

    def app_traffic(self, times: int = 1) -> None:
        with self.primary.admin() as conn:
            conn.execute("SET ROLE nba_app")
            for _ in range(times):
                for statement in (SQL_DIR / "warmup.sql").read_text().split(";"):
                    if "SELECT" in statement:
                        # a chunk may start with comments; PostgreSQL skips them
                        conn.execute(statement)

    # -- every start --------------------------------------------------------------------------
    def start(self, say) -> None:
        for server in (self.primary, self.replica):
            if not server.running():
                say(f"starting PostgreSQL {server.role} on 127.0.0.1:{server.port}")
                server.start()

    def stop(self) -> None:
        for server in (self.replica, self.primary):
            server.stop()

    def replay_paused(self) -> bool:
        with self.replica.admin() as conn:
            return bool(scalar(conn, "SELECT pg_get_wal_replay_pause_state() <> 'not paused'"))

    def streaming_lag_bytes(self) -> int | None:
        """Bytes the replica is behind, from the primary's view; None when it is not streaming."""
        with self.primary.admin() as conn:
            row = conn.execute(
                "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint FROM"
                " pg_stat_replication WHERE application_name = %s AND state = 'streaming'",
                (REPLICA_NAME,),
            ).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def wait_caught_up(self, timeout: float = 30) -> None:
        procs.wait_until(
            lambda: self.streaming_lag_bytes() == 0,
            timeout,
            f"the replica to stream and catch up (see {self.replica.log})",
        )

    def write_wal(self, megabytes: int) -> None:
        """WAL on the primary without growing a table: what a busy primary looks like to a
        replica."""
        with self.primary.admin() as conn:
            for _ in range(megabytes):
                conn.execute(
                    "SELECT pg_logical_emit_message(false, 'nbaverify', repeat('x', 1048576))"
                )
