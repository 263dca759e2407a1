"""What the database checks ask PostgreSQL: sessions, locks, indexes, tables, plans, roles, backups.

Each function takes a `Database` (the read-only monitoring session) and returns plain rows;
the queries follow the guide's own (`pg_stat_activity`, `pg_stat_user_indexes`, EXPLAIN) and the
PostgreSQL documentation's monitoring chapter.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from nbaverify.clients.db import Database

Row = dict[str, Any]


def first_line(query: str | None, width: int = 80) -> str:
    text = " ".join((query or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


# -- sessions and locks (Troubleshooting / Debugging Procedures / Database Debugging) -----------
def connection_usage(db: Database) -> Row:
    return db.single(
        "SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS in_use, "
        "current_setting('max_connections')::int AS max_connections, "
        "current_setting('superuser_reserved_connections')::int AS reserved FROM pg_stat_activity"
    )


def connections_by_application(db: Database) -> list[Row]:
    return db.rows(
        "SELECT coalesce(nullif(application_name, ''), '(none)') AS application, usename AS user,"
        " count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1, 2"
        " ORDER BY n DESC"
    )


def connections_by_client(db: Database) -> list[Row]:
    """Client connections by application, user and client address: a pool is one process's, so an
    application whose pods each keep a pool (one address each) is counted pod by pod; the Unix
    socket is a client of its own.
    """
    return db.rows(
        "SELECT coalesce(nullif(application_name, ''), '(none)') AS application, usename AS user,"
        " coalesce(host(client_addr), 'the local socket') AS client, count(*) AS n FROM"
        " pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1, 2, 3 ORDER BY n DESC"
    )


def sessions_in_state(db: Database, state: str, older_than_s: float, since: str) -> list[Row]:
    """Client sessions in `state` for longer than older_than_s, measured from `since` (a timestamp
    column)."""
    assert since in ("xact_start", "query_start", "state_change")
    return db.rows(
        "SELECT pid, usename AS user, coalesce(application_name, '') AS application, "
        f"extract(epoch FROM now() - {since})::float AS age_s, query FROM pg_stat_activity "
        "WHERE backend_type = 'client backend' AND state = %s AND pid <> pg_backend_pid() "
        f"AND now() - {since} > make_interval(secs => %s) ORDER BY age_s DESC",
        (state, older_than_s),
    )


def lock_waits(db: Database, longer_than_s: float) -> list[Row]:
    return db.rows(
        "SELECT a.pid, a.usename AS user, pg_blocking_pids(a.pid) AS blocked_by, "
        "extract(epoch FROM now() - a.query_start)::float AS wait_s, a.query, "
        "(SELECT string_agg(DISTINCT l.relation::regclass::text, ', ') FROM pg_locks l "
        " WHERE l.pid = a.pid AND NOT l.granted AND l.relation IS NOT NULL) AS relation "
        "FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock' "
        "AND now() - a.query_start > make_interval(secs => %s) ORDER BY wait_s DESC",
        (longer_than_s,),
    )


def deadlocks(db: Database) -> int:
    return int(
        db.single("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")[
            "deadlocks"
        ]
    )


# -- indexes (Performance Tuning / Query Optimization; Database Optimization / Index Maintenance)
def indexes(db: Database) -> list[Row]:
    return db.rows(
        "SELECT n.nspname AS schema, t.relname AS table, c.relname AS name, i.indisvalid AS valid, "
        "i.indisready AS ready, i.indisunique AS unique, i.indisprimary AS primary, "
        # column names from pg_attribute: pg_get_indexdef would wait on a table someone has locked
        "array_to_string(ARRAY(SELECT coalesce(a.attname, '(expression)') "
        "  FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) "
        "  LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ORDER BY"
        " k.ord), ',') AS columns, "
        "CASE WHEN i.indpred IS NOT NULL THEN pg_get_expr(i.indpred, i.indrelid) END AS predicate,"
        " am.amname AS method, "
        "coalesce(s.idx_scan, 0) AS scans, c.relpages::bigint *"
        " current_setting('block_size')::bigint AS bytes, "
        # the storage's identity: a REINDEX or a re-created index gets a new one (young again)
        "c.oid::bigint AS oid, c.relfilenode::bigint AS relfilenode, "
        "coalesce(ts.n_live_tup, 0) AS table_rows "
        "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid ="
        " i.indrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace JOIN pg_am am ON am.oid = c.relam "
        "LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid "
        "LEFT JOIN pg_stat_user_tables ts ON ts.relid = i.indrelid "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE"
        " 'pg_toast%%' "
        "ORDER BY 1, 2, 3"
    )


def tables(db: Database) -> list[Row]:
    return db.rows(
        "SELECT s.relid::bigint AS relid, s.schemaname AS schema, s.relname AS table, s.n_live_tup"
        " AS live, "
        "s.n_dead_tup AS dead, s.n_mod_since_analyze AS modified_since_analyze, "
        "s.n_ins_since_vacuum AS inserted_since_vacuum, c.reltuples::float AS reltuples, "
        "s.seq_scan, coalesce(s.idx_scan, 0) AS idx_scan, "
        "greatest(s.last_vacuum, s.last_autovacuum) AS vacuumed, "
        "greatest(s.last_analyze, s.last_autoanalyze) AS analyzed, "
        "extract(epoch FROM now() - greatest(s.last_vacuum, s.last_autovacuum))::float / 3600 AS"
        " vacuum_age_h, "
        "extract(epoch FROM now() - greatest(s.last_analyze, s.last_autoanalyze))::float / 3600 AS"
        " analyze_age_h, "
        "coalesce(c.reloptions::text[] @> ARRAY['autovacuum_enabled=false'], false) AS"
        " autovacuum_off, "
        # sizes from relpages (as of the last VACUUM/ANALYZE): pg_table_size would wait on a locked
        # table
        "(c.relpages + coalesce(t.relpages, 0))::bigint * current_setting('block_size')::bigint AS"
        " table_bytes, "
        "(SELECT coalesce(sum(ic.relpages), 0) FROM pg_index ix JOIN pg_class ic ON ic.oid ="
        " ix.indexrelid "
        " WHERE ix.indrelid = c.oid)::bigint * current_setting('block_size')::bigint AS"
        " index_bytes "
        "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid LEFT JOIN pg_class t ON"
        " t.oid = c.reltoastrelid "
        "ORDER BY s.n_live_tup DESC"
    )


AUTOVACUUM_SETTINGS = (
    "autovacuum_vacuum_threshold",
    "autovacuum_vacuum_scale_factor",
    "autovacuum_vacuum_insert_threshold",
    "autovacuum_vacuum_insert_scale_factor",
    "autovacuum_analyze_threshold",
    "autovacuum_analyze_scale_factor",
)


def autovacuum_settings(db: Database) -> dict[str, float]:
    """The server's autovacuum trigger points (PostgreSQL docs, Routine Vacuuming / The Autovacuum
    Daemon)."""
    rows = db.rows(
        "SELECT name, setting::float AS value FROM pg_settings WHERE name = ANY(%s)",
        (list(AUTOVACUUM_SETTINGS),),
    )
    return {r["name"]: r["value"] for r in rows}


def autovacuum_daemon(db: Database) -> tuple[bool, float]:
    """Whether the autovacuum launcher runs (autovacuum and track_counts on), and its naptime in
    seconds: how long it may take to come round to a table that passed its trigger."""
    rows = {
        r["name"]: r["setting"]
        for r in db.rows(
            "SELECT name, setting FROM pg_settings WHERE name IN ('autovacuum', 'track_counts',"
            " 'autovacuum_naptime')"
        )
    }
    return rows.get("autovacuum") == "on" and rows.get("track_counts") == "on", float(
        rows.get("autovacuum_naptime", 60)
    )


def maintenance_due(
    table: Row,
    settings: dict[str, float],
    max_vacuum_age_h: float,
    max_analyze_age_h: float,
    stats_reset_at: str | None,
) -> list[str]:
    """What is overdue on a table, in words that are true of it; [] when nothing is.

    A table is overdue for ANALYZE only when it changed since the last one by more than autovacuum's
    own trigger (n_mod_since_analyze), and that ANALYZE is older than the limit or not on record;
    for VACUUM likewise, by its dead rows or its inserts since the last one. A freshly loaded and
    analyzed table is healthy, however long ago that was, as long as it has not changed since.
    """
    name, size = f"{table['schema']}.{table['table']}", max(table["reltuples"], 0.0)
    problems = []

    def not_recorded(what: str) -> str:
        if table["reltuples"] < 0:
            # pg_class.reltuples -1: never vacuumed nor analyzed (PostgreSQL 14+)
            return (
                f"never {'analyzed' if what == 'ANALYZE' else 'vacuumed'} (pg_class.reltuples"
                " is -1)"
            )
        when = f" since the statistics reset at {stats_reset_at[:19]}Z" if stats_reset_at else ""
        return f"no {what} on record{when}"

    analyze_at = (
        settings["autovacuum_analyze_threshold"]
        + settings["autovacuum_analyze_scale_factor"] * size
    )
    if table["modified_since_analyze"] > analyze_at and (
        table["analyze_age_h"] is None or table["analyze_age_h"] > max_analyze_age_h
    ):
        last = (
            not_recorded("ANALYZE")
            if table["analyze_age_h"] is None
            else f"last analyzed {table['analyze_age_h']:.0f}h ago"
        )
        problems.append(
            f"{name} has {table['modified_since_analyze']} rows changed since its last ANALYZE "
            f"(autovacuum analyzes past {analyze_at:.0f}), {last}"
        )
    dead_at = (
        settings["autovacuum_vacuum_threshold"] + settings["autovacuum_vacuum_scale_factor"] * size
    )
    inserts_at = (
        settings["autovacuum_vacuum_insert_threshold"]
        + settings["autovacuum_vacuum_insert_scale_factor"] * size
    )
    if (table["dead"] > dead_at or table["inserted_since_vacuum"] > inserts_at) and (
        table["vacuum_age_h"] is None or table["vacuum_age_h"] > max_vacuum_age_h
    ):
        last = (
            not_recorded("VACUUM")
            if table["vacuum_age_h"] is None
            else f"last vacuumed {table['vacuum_age_h']:.0f}h ago"
        )
        why = (
            f"{table['dead']} dead rows (autovacuum vacuums past {dead_at:.0f})"
            if table["dead"] > dead_at
            else (
                f"{table['inserted_since_vacuum']} rows inserted since its last VACUUM (autovacuum"
                f" vacuums past {inserts_at:.0f})"
            )
        )
        problems.append(f"{name} has {why}, {last}")
    return problems


def stats_reset(db: Database) -> str | None:
    """When this database's statistics counters were last reset (pg_stat_database.stats_reset), ISO
    8601."""
    row = db.single("SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()")
    return row["stats_reset"].astimezone(dt.UTC).isoformat() if row["stats_reset"] else None


def statements_reset(db: Database) -> str | None:
    """When pg_stat_statements was last reset (pg_stat_statements_info, PostgreSQL 14+), ISO
    8601."""
    try:
        row = db.one("SELECT stats_reset FROM pg_stat_statements_info")
    except psycopg.Error:
        return None
    return row["stats_reset"].astimezone(dt.UTC).isoformat() if row and row["stats_reset"] else None


def xid_ages(db: Database) -> list[Row]:
    return db.rows(
        "SELECT datname AS database, age(datfrozenxid)::bigint AS age FROM pg_database "
        "WHERE datallowconn ORDER BY age DESC"
    )


# -- plans ----------------------------------------------------------------------------------
def plan_nodes(plan: Row) -> list[Row]:
    nodes, todo = [], [plan["Plan"]]
    while todo:
        node = todo.pop()
        nodes.append(node)
        todo.extend(node.get("Plans", []))
    return nodes


def indexes_used(plan: Row) -> list[str]:
    return [n["Index Name"] for n in plan_nodes(plan) if "Index Name" in n]


def scan_summary(plan: Row) -> str:
    parts = []
    for node in plan_nodes(plan):
        if (node["Node Type"].endswith("Scan") and "Relation Name" in node) or "Index Name" in node:
            name = node.get("Index Name") or node.get("Relation Name")
            parts.append(f"{node['Node Type']} on {name}")
    return ", ".join(parts) or plan["Plan"]["Node Type"]


# -- statements (Maintenance Schedule / Weekly Tasks / Analyze slow queries) ------------------
def statements_available(db: Database) -> bool:
    return (
        db.single("SELECT count(*) AS n FROM pg_extension WHERE extname = 'pg_stat_statements'")[
            "n"
        ]
        == 1
    )


def statements(db: Database, limit: int = 5000) -> list[Row]:
    """This database's pg_stat_statements entries (calls and total time are cumulative), the busiest
    first."""
    return db.rows(
        "SELECT s.queryid::text || ':' || s.userid::text AS key, r.rolname AS user, s.calls,"
        " s.total_exec_time AS total_ms, s.query FROM pg_stat_statements s JOIN pg_roles r ON r.oid"
        " = s.userid WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname ="
        " current_database()) ORDER BY s.total_exec_time DESC LIMIT %s",
        (limit,),
    )


# -- roles (Security Best Practices / Access Control) ----------------------------------------
def roles(db: Database, names: list[str]) -> list[Row]:
    return db.rows(
        "SELECT rolname AS role, rolsuper AS superuser, rolcreaterole AS createrole, "
        "rolcreatedb AS createdb, rolreplication AS replication, rolbypassrls AS bypassrls "
        "FROM pg_roles WHERE rolname = ANY(%s)",
        (names,),
    )


def owned_outside(db: Database, role_names: list[str], schemas: list[str]) -> list[Row]:
    """Schemas and relations the roles own outside the allowed schemas."""
    return db.rows(
        "SELECT r.rolname AS role, 'schema' AS kind, n.nspname AS name FROM pg_namespace n JOIN"
        " pg_roles r ON r.oid = n.nspowner WHERE r.rolname = ANY(%(roles)s) AND NOT n.nspname ="
        " ANY(%(schemas)s) UNION ALL SELECT r.rolname, CASE c.relkind WHEN 'r' THEN 'table' WHEN"
        " 'v' THEN 'view' WHEN 'm' THEN 'materialized view'   WHEN 'S' THEN 'sequence' WHEN 'f'"
        " THEN 'foreign table' ELSE 'relation' END, n.nspname || '.' || c.relname FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner WHERE"
        " r.rolname = ANY(%(roles)s) AND NOT n.nspname = ANY(%(schemas)s) AND c.relkind IN"
        " ('r','v','m','S','f') AND n.nspname NOT LIKE 'pg_temp%%' AND n.nspname NOT LIKE"
        " 'pg_toast%%' ORDER BY 1, 2, 3",
        {"roles": role_names, "schemas": schemas},
    )


def writable_tables(db: Database) -> list[str]:
    """Tables the session's own role could write to: a monitoring role should have none."""
    found = db.rows(
        "SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid"
        " = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog',"
        " 'information_schema') AND n.nspname NOT LIKE 'pg_toast%%' AND has_table_privilege(c.oid,"
        " 'INSERT, UPDATE, DELETE, TRUNCATE') ORDER BY 1"
    )
    return [r["name"] for r in found]


def write_is_refused(db: Database) -> bool:
    """Try the most harmless write there is (a temp table, gone with the session)."""
    try:
        db.rows("CREATE TEMP TABLE nbaverify_write_probe (x int)")
    except psycopg.errors.ReadOnlySqlTransaction:
        return True
    return False


def role_read_only_setting(db: Database) -> bool:
    """Is default_transaction_read_only set on the role itself (defence beyond our session
    option)?"""
    row = db.single(
        "SELECT EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole"
        " WHERE r.rolname = current_user AND 'default_transaction_read_only=on' = ANY(s.setconfig))"
        " AS set"
    )
    return bool(row["set"])


# -- backups (Troubleshooting / Recovery Procedures / Database Recovery) ---------------------
def archiver(db: Database) -> Row:
    return db.single(
        "SELECT current_setting('archive_mode') AS mode, archived_count, last_archived_wal,"
        " last_archived_time, failed_count, last_failed_wal, last_failed_time, extract(epoch FROM"
        " now() - last_archived_time)::float / 3600 AS archived_age_h FROM pg_stat_archiver"
    )
