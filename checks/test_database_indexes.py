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
    want = expected_index
    columns = ",".join(want["columns"])
    found = [i for i in probes.indexes(db) if i["table"] == want["table"] and i["columns"] == columns]
    named = [i for i in probes.indexes(db) if i["name"] == want["name"]]
    assert found, (
        f"no index on {want['table']}({', '.join(want['columns'])}) on {db.where}"
        + (f" (index {want['name']} exists but covers ({named[0]['columns']}))" if named else "")
        + f"; recreate it: CREATE INDEX {want['name']} ON {want['table']}({', '.join(want['columns'])})")
    usable = [i for i in found if i["valid"] and i["ready"]]
    assert usable, (
        f"index {found[0]['name']} on {want['table']}({', '.join(want['columns'])}) on {db.where} is not valid "
        f"(a failed CREATE INDEX CONCURRENTLY?); REINDEX INDEX {found[0]['name']}")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(INDEX_MAINTENANCE)
def check_indexes_valid(db):
    """Any invalid index (the guide's own are check_expected_index's, critical): it is maintained on every write
    and serves no read."""
    broken = [i for i in probes.indexes(db) if not (i["valid"] and i["ready"])]
    names = ", ".join(f"{i['schema']}.{i['name']} on {i['table']}({i['columns']})" for i in broken)
    assert not broken, (
        f"{len(broken)} invalid index(es) on {db.where}: {names}; they cost writes and serve no reads: "
        "drop them or REINDEX (an interrupted CREATE INDEX CONCURRENTLY leaves one)")


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(INDEX_MAINTENANCE)
def check_no_duplicate_indexes(db):
    seen: dict[tuple, list[str]] = {}
    for i in probes.indexes(db):
        key = (i["schema"], i["table"], i["columns"], i["predicate"], i["method"])
        seen.setdefault(key, []).append(i["name"])
    duplicates = [f"{key[1]}({key[2]}): {', '.join(names)}" for key, names in seen.items() if len(names) > 1]
    assert not duplicates, (
        f"duplicate indexes on {db.where}: {'; '.join(duplicates)}; keep one (each copy slows every write)")


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(INDEX_MAINTENANCE)
def check_no_unused_indexes_on_large_tables(db, expect, history, evidence):
    """An index not scanned over the whole observation window; one created or rebuilt within it is young."""
    large = expect["database.indexes.large_table_rows"]
    window_s = expect["database.indexes.unused_window_h"] * 3600
    candidates = {f"{i['schema']}.{i['name']}#{i['relfilenode']}": i for i in probes.indexes(db)
                  if i["table_rows"] >= large and not i["unique"] and not i["primary"]}
    change = counters.since_last_run(history, f"index_scans:{db.where}",
                                     {key: {"scans": i["scans"]} for key, i in candidates.items()},
                                     epoch=probes.stats_reset(db), min_window_s=window_s)
    if change is None:
        evidence["note"] = counters.first_run_note(window_s)
        return
    unused = [i for key, i in candidates.items() if key not in change.new and change.deltas[key]["scans"] == 0]
    evidence.update(window=change.describe(), young=sorted(key.split("#")[0] for key in change.new),
                    unused={i["name"]: i["bytes"] for i in unused})
    assert not unused, (
        f"not scanned once {change.describe()} on {db.where}: "
        + ", ".join(f"{i['name']} on {i['table']} ({i['bytes'] // 1024} kB)" for i in unused)
        + "; drop an index no query uses, or find the query that should")


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(QUERY_OPTIMIZATION)
def check_large_tables_read_by_index(db, expect, history, evidence):
    """The share of sequential scans on large tables since the previous run (the counters are cumulative)."""
    large = expect["database.indexes.large_table_rows"]
    share_max = expect["database.indexes.max_seq_scan_share"]
    every = {f"{t['schema']}.{t['table']}#{t['relid']}": t for t in probes.tables(db)}
    change = counters.since_last_run(history, f"table_scans:{db.where}",
                                     {key: {"seq_scan": t["seq_scan"], "idx_scan": t["idx_scan"]} for key, t in every.items()},
                                     epoch=probes.stats_reset(db))
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
            offenders.append(f"{t['schema']}.{t['table']} ({t['live']} rows): {seq:g} sequential vs {idx:g} index scans")
    assert not offenders, (
        f"sequential scans dominate {change.describe()} on {db.where}: {'; '.join(offenders)} "
        f"(limit {share_max:.0%}); a query lacks its index: EXPLAIN it")
