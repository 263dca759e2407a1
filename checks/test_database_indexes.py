"""Indexes: the guide's indexes exist and are valid; no duplicates; large tables are read by index.

Guide: Performance Tuning / Query Optimization (CREATE INDEX idx_player_stats, idx_game_stats);
Database Optimization / Index Maintenance (SELECT * FROM pg_stat_user_indexes).
"""

import pytest

from nbaverify.checking import parametrize_from
from nbaverify.probes import counters
from nbaverify.probes import database as probes

pytestmark = [pytest.mark.area("database")]

QUERY_OPTIMIZATION = "Performance Tuning / API Performance / Query Optimization"
INDEX_MAINTENANCE = "Performance Tuning / Database Optimization / Index Maintenance"


def pytest_generate_tests(metafunc):
    parametrize_from(metafunc, "expected_index", "database.indexes.expected")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(QUERY_OPTIMIZATION)
def check_expected_index(db, expected_index):
    """Each expected index exists on its table and columns, valid and ready.

    One case per entry of `database.indexes.expected`: the guide's `idx_player_stats` on
    `player_stats(player_id, game_date)` and `idx_game_stats` on `game_stats(game_id, team_id)`.
    Found by table and columns in order, whatever its name; one that is not valid and ready (a
    failed `CREATE INDEX CONCURRENTLY`) fails with the `REINDEX` to run, a missing one with the
    `CREATE INDEX`. Columns come from `pg_attribute`, so a locked table does not make the check
    wait.

    When it fails: Check with `SELECT indexname, indexdef FROM pg_indexes WHERE tablename =
    'TABLE'`, and that an invalid index is not still being built (`pg_stat_progress_create_index`).
    Then create it as the message says, on a live table with `CREATE INDEX CONCURRENTLY` (or
    `REINDEX INDEX CONCURRENTLY`), with the database team.
    """
    want = expected_index
    columns = ",".join(want["columns"])
    found = [
        i for i in probes.indexes(db) if i["table"] == want["table"] and i["columns"] == columns
    ]
    named = [i for i in probes.indexes(db) if i["name"] == want["name"]]
    assert found, (
        f"no index on {want['table']}({', '.join(want['columns'])}) on {db.where}"
        + (f" (index {want['name']} exists but covers ({named[0]['columns']}))" if named else "")
        + f"; recreate it: CREATE INDEX {want['name']} ON"
        f" {want['table']}({', '.join(want['columns'])})"
    )
    usable = [i for i in found if i["valid"] and i["ready"]]
    assert usable, (
        f"index {found[0]['name']} on {want['table']}({', '.join(want['columns'])}) on {db.where}"
        f" is not valid (a failed CREATE INDEX CONCURRENTLY?); REINDEX INDEX {found[0]['name']}"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(INDEX_MAINTENANCE)
def check_indexes_valid(db):
    """No index in the database is invalid or not ready.

    An invalid index (an interrupted `CREATE INDEX CONCURRENTLY` leaves one) is maintained on every
    write and serves no read: drop it or `REINDEX` it. A warning: the guide's own indexes are
    `check_expected_index`'s, which is critical.

    When it fails: First check no index is being built now (`SELECT * FROM
    pg_stat_progress_create_index`): a build in progress is invalid too. Then ask the named index's
    owner whether it is wanted, and `REINDEX INDEX CONCURRENTLY` it or `DROP INDEX CONCURRENTLY` it.
    """
    broken = [i for i in probes.indexes(db) if not (i["valid"] and i["ready"])]
    names = ", ".join(f"{i['schema']}.{i['name']} on {i['table']}({i['columns']})" for i in broken)
    assert not broken, (
        f"{len(broken)} invalid index(es) on {db.where}: {names}; they cost writes and serve no"
        " reads: drop them or REINDEX (an interrupted CREATE INDEX CONCURRENTLY leaves one)"
    )


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(INDEX_MAINTENANCE)
def check_no_duplicate_indexes(db):
    """No two indexes share the same table, columns, predicate and access method.

    Each copy slows every write: keep one. Every schema but the system ones is read.

    When it fails: Compare the named indexes in `pg_indexes` (`indexdef`) and keep the one a
    constraint owns or that is unique; drop the other with `DROP INDEX CONCURRENTLY` once the
    database team agrees.
    """
    seen: dict[tuple, list[str]] = {}
    for i in probes.indexes(db):
        key = (i["schema"], i["table"], i["columns"], i["predicate"], i["method"])
        seen.setdefault(key, []).append(i["name"])
    duplicates = [
        f"{key[1]}({key[2]}): {', '.join(names)}" for key, names in seen.items() if len(names) > 1
    ]
    assert not duplicates, (
        f"duplicate indexes on {db.where}: {'; '.join(duplicates)}; keep one (each copy slows every"
        " write)"
    )


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(INDEX_MAINTENANCE, "System Monitoring / Metrics Collection / Database Metrics")
def check_no_unused_indexes_on_large_tables(db, expect, history, evidence):
    """Every non-unique index on a large table was scanned at least once over the observation
    window.

    Large: at least `database.indexes.large_table_rows` (100,000) live rows; primary keys and unique
    indexes are not judged. `idx_scan` is cumulative, so scans are judged by their change since the
    previous run against the target (the history under `NBAVERIFY_STATE_DIR`), never by their
    totals, over a window of at least `database.indexes.unused_window_h` (144 h, six days, so a
    weekly run judges every week): a shorter one keeps the older baseline, saying so in the
    evidence. An index created or rebuilt within the window (a new `relfilenode`) is young, not
    unused. The first run against a target records the baseline (its evidence says so); after a
    statistics reset the counts since it are the change. Unused indexes are named with their size.

    When it fails: Check `idx_scan` of the index in `pg_stat_user_indexes` on the replica too: reads
    served there count only there, not on the primary this check reads. Unused everywhere: `DROP
    INDEX CONCURRENTLY` it with the database team; one kept on purpose is waived with `scope` = its
    name, an owner and an expiry.
    """
    large = expect["database.indexes.large_table_rows"]
    window_s = expect["database.indexes.unused_window_h"] * 3600
    candidates = {
        f"{i['schema']}.{i['name']}#{i['relfilenode']}": i
        for i in probes.indexes(db)
        if i["table_rows"] >= large and not i["unique"] and not i["primary"]
    }
    change = counters.since_last_run(
        history,
        f"index_scans:{db.where}",
        {key: {"scans": i["scans"]} for key, i in candidates.items()},
        epoch=probes.stats_reset(db),
        min_window_s=window_s,
    )
    if change is None:
        evidence["note"] = counters.first_run_note(window_s)
        return
    unused = [
        i
        for key, i in candidates.items()
        if key not in change.new and change.deltas[key]["scans"] == 0
    ]
    evidence.update(
        window=change.describe(),
        young=sorted(key.split("#")[0] for key in change.new),
        unused={i["name"]: i["bytes"] for i in unused},
    )
    assert not unused, (
        f"not scanned once {change.describe()} on {db.where}: "
        + ", ".join(f"{i['name']} on {i['table']} ({i['bytes'] // 1024} kB)" for i in unused)
        + "; drop an index no query uses, or find the query that should"
    )


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(QUERY_OPTIMIZATION)
def check_large_tables_read_by_index(db, expect, history, evidence):
    """Sequential scans are at most `database.indexes.max_seq_scan_share` (50 %) of each large
    table's scans since the previous run.

    Large: at least `database.indexes.large_table_rows` (100,000) live rows. `seq_scan` and
    `idx_scan` of `pg_stat_user_tables` are cumulative, so they are judged by their change since the
    previous run against the target (the history under `NBAVERIFY_STATE_DIR`), never by their
    totals: the run after an incident is fixed passes. The first run against a target records the
    baseline (its evidence says so); after a statistics reset the counts since it are the change. A
    table read mostly by sequential scans lacks an index for some query: EXPLAIN it.

    When it fails: Find the statements reading the table (`SELECT calls, query FROM
    pg_stat_statements WHERE query ILIKE '%TABLE%' ORDER BY calls DESC`), run the guide's `EXPLAIN
    ANALYZE` on the frequent ones, and add the index the plan lacks (`CREATE INDEX CONCURRENTLY`) or
    `ANALYZE` the table if its statistics are stale.
    """
    large = expect["database.indexes.large_table_rows"]
    share_max = expect["database.indexes.max_seq_scan_share"]
    every = {f"{t['schema']}.{t['table']}#{t['relid']}": t for t in probes.tables(db)}
    change = counters.since_last_run(
        history,
        f"table_scans:{db.where}",
        {key: {"seq_scan": t["seq_scan"], "idx_scan": t["idx_scan"]} for key, t in every.items()},
        epoch=probes.stats_reset(db),
    )
    if change is None:
        evidence["note"] = counters.first_run_note()
        return
    evidence["window"] = change.describe()
    offenders = []
    for key, t in every.items():
        seq, idx = change.deltas[key]["seq_scan"], change.deltas[key]["idx_scan"]
        if t["live"] < large or seq + idx == 0:
            continue
        share = seq / (seq + idx)
        evidence[t["table"]] = {"seq_scan": seq, "idx_scan": idx, "seq_share": round(share, 3)}
        if share > share_max:
            offenders.append(
                f"{t['schema']}.{t['table']} ({t['live']} rows): {seq:g} sequential vs {idx:g}"
                " index scans"
            )
    assert not offenders, (
        f"sequential scans dominate {change.describe()} on {db.where}: {'; '.join(offenders)} "
        f"(limit {share_max:.0%}); a query lacks its index: EXPLAIN it"
    )
