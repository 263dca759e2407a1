"""Rule: young objects are not stale; a message states only what was observed (database
maintenance)."""

from nbaverify.probes.database import maintenance_due

SETTINGS = {
    "autovacuum_vacuum_threshold": 50,
    "autovacuum_vacuum_scale_factor": 0.2,
    "autovacuum_vacuum_insert_threshold": 1000,
    "autovacuum_vacuum_insert_scale_factor": 0.2,
    "autovacuum_analyze_threshold": 50,
    "autovacuum_analyze_scale_factor": 0.1,
}
RESET = "2026-11-30T08:00:00+00:00"


def table(**changes):
    row = {
        "schema": "public",
        "table": "player_stats",
        "reltuples": 516600.0,
        "live": 516600,
        "dead": 0,
        "modified_since_analyze": 0,
        "inserted_since_vacuum": 0,
        "vacuum_age_h": 900.0,
        "analyze_age_h": 900.0,
    }
    return {**row, **changes}


def due(row):
    return maintenance_due(row, SETTINGS, 168, 168, RESET)


def test_a_loaded_and_analyzed_table_that_has_not_changed_is_healthy_however_old_its_analyze():
    assert due(table()) == []


def test_after_a_statistics_reset_an_unchanged_table_is_healthy():
    assert due(table(vacuum_age_h=None, analyze_age_h=None)) == []


def test_a_table_changed_since_its_last_analyze_is_overdue_and_said_so_truthfully():
    [problem] = due(table(modified_since_analyze=90000, analyze_age_h=None))
    assert (
        problem
        == "public.player_stats has 90000 rows changed since its last ANALYZE (autovacuum analyzes"
        " past 51710), no ANALYZE on record since the statistics reset at 2026-11-30T08:00:00Z"
    )
    assert "never" not in problem  # it was analyzed once: the reset only forgot when


def test_never_is_said_only_of_a_table_postgres_never_vacuumed_nor_analyzed():
    problems = due(
        table(
            reltuples=-1.0,
            modified_since_analyze=34440,
            inserted_since_vacuum=34440,
            vacuum_age_h=None,
            analyze_age_h=None,
        )
    )
    assert [p.rsplit(", ", 1)[1] for p in problems] == [
        "never analyzed (pg_class.reltuples is -1)",
        "never vacuumed (pg_class.reltuples is -1)",
    ]


def test_a_recent_analyze_is_not_overdue_even_with_changes_since():
    assert due(table(modified_since_analyze=90000, analyze_age_h=2.0)) == []
