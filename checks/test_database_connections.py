"""The primary database answers and its activity is visible to the monitoring role.

Guide: System Monitoring / Health Checks / Database Health (`SELECT * FROM pg_stat_activity`).
"""

import pytest

pytestmark = [pytest.mark.area("database")]

DATABASE_HEALTH = "System Monitoring / Health Checks / Database Health"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(DATABASE_HEALTH)
def check_primary_accepts_connections(db):
    reachable, why = db.ping()
    assert reachable, (
        f"primary database {db.where} does not accept connections as {db.user}: {why}; "
        "check the PostgreSQL server and its logs")
    row = db.one("SELECT pg_is_in_recovery() AS in_recovery")
    assert not row["in_recovery"], (
        f"database.dsn_env points at {db.where}, which is in recovery (a replica), expected the primary")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(DATABASE_HEALTH)
def check_activity_visible(db, evidence):
    """The monitoring role sees every session's query, not '<insufficient privilege>' (pg_monitor)."""
    rows = db.rows(
        "SELECT state, query = '<insufficient privilege>' AS hidden FROM pg_stat_activity "
        "WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'")
    hidden = sum(1 for r in rows if r["hidden"])
    evidence["client_sessions"] = len(rows)
    evidence["active"] = sum(1 for r in rows if r["state"] == "active")
    assert hidden == 0, (
        f"pg_stat_activity on {db.where} hides {hidden} of {len(rows)} session(s) from role {db.user} "
        "('<insufficient privilege>'); GRANT pg_monitor TO that role so long queries can be seen")
