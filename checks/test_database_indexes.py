"""Indexes: the guide's indexes exist and are valid; no duplicates; large tables are read by index.

Guide: Performance Tuning / Query Optimization (CREATE INDEX idx_player_stats, idx_game_stats);
Database Optimization / Index Maintenance (SELECT * FROM pg_stat_user_indexes).
"""

import pytest

from nbaverify.plugin import parametrize_from
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
@pytest.mark.severity("critical")
@pytest.mark.runbook(INDEX_MAINTENANCE)
def check_indexes_valid(db):
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
def check_no_unused_indexes_on_large_tables(db, expect, evidence):
    large = expect["database.indexes.large_table_rows"]
    unused = [i for i in probes.indexes(db)
              if i["table_rows"] >= large and i["scans"] == 0 and not i["unique"] and not i["primary"]]
    evidence["unused"] = {i["name"]: i["bytes"] for i in unused}
    assert not unused, (
        f"unused since statistics were reset on {db.where}: "
        + ", ".join(f"{i['name']} on {i['table']} ({i['bytes'] // 1024} kB)" for i in unused)
        + "; drop an index no query uses, or find the query that should")


@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(QUERY_OPTIMIZATION)
def check_large_tables_read_by_index(db, expect, evidence):
    large = expect["database.indexes.large_table_rows"]
    share_max = expect["database.indexes.max_seq_scan_share"]
    offenders = []
    for t in probes.tables(db):
        scans = t["seq_scan"] + t["idx_scan"]
        if t["live"] < large or scans == 0:
            continue
        share = t["seq_scan"] / scans
        evidence[t["table"]] = {"seq_scan": t["seq_scan"], "idx_scan": t["idx_scan"], "seq_share": round(share, 3)}
        if share > share_max:
            offenders.append(f"{t['schema']}.{t['table']} ({t['live']} rows): {t['seq_scan']} sequential vs "
                             f"{t['idx_scan']} index scans")
    assert not offenders, (
        f"sequential scans dominate on {db.where}: {'; '.join(offenders)} (limit {share_max:.0%}); "
        "a query lacks its index: EXPLAIN it")
