"""Database roles: the application is no superuser and owns only its schema; the suite cannot write.

Guide: Security Best Practices / Access Control / RBAC Configuration; DESIGN.md Safety (read-only at
the server).
"""

import pytest

from nbaverify.probes import database as probes

RBAC_CONFIGURATION = "Security Best Practices / Access Control / RBAC Configuration"
PRIVILEGES = ("superuser", "createrole", "replication", "bypassrls")

pytestmark = [pytest.mark.area("security"), pytest.mark.runbook(RBAC_CONFIGURATION)]


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
def check_app_roles_are_not_privileged(db, expect):
    """The application's roles (`database.security.app_roles`: `nba_app`) are not superuser,
    createrole, replication or bypassrls.

    A role of the list that does not exist fails too. An application role needs none of these
    attributes (`ALTER ROLE
    ... NOSUPERUSER` and the like).

    When it fails: Check with `SELECT rolname, rolsuper, rolcreaterole, rolreplication, rolbypassrls
    FROM pg_roles` and remove the attribute named (`ALTER ROLE nba_app NOSUPERUSER`, `NOCREATEROLE`,
    ...) once no migration relies on it. A missing role means `database.security.app_roles` names
    the wrong one: fix the profile's `[expectations]`.
    """
    names = expect["database.security.app_roles"]
    found = {r["role"]: r for r in probes.roles(db, names)}
    missing = [n for n in names if n not in found]
    assert not missing, (
        f"application role(s) {', '.join(missing)} do not exist on {db.where} (expectations"
        " app_roles)"
    )
    privileged = [
        f"{name} has {', '.join(k.upper() for k in PRIVILEGES if r[k])}"
        for name, r in found.items()
        if any(r[k] for k in ("superuser", "createrole", "replication", "bypassrls"))
    ]
    assert not privileged, (
        f"on {db.where}: {'; '.join(privileged)}; an application role needs none of these: ALTER"
        " ROLE ... NOSUPERUSER"
    )


@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("warning")
def check_app_roles_own_only_their_schema(db, expect):
    """The application's roles own nothing outside `database.security.app_owned_schemas` (`public`).

    Neither a schema nor a table, view, materialized view, sequence or foreign table; temporary and
    TOAST schemas are not counted. The first five found are named.

    When it fails: For each object named, decide with its owner where it belongs: move it (`ALTER
    TABLE ... SET SCHEMA public`) or give it another owner (`ALTER ... OWNER TO`). A schema the
    application owns by design goes into `database.security.app_owned_schemas` in the profile's
    `[expectations]`.
    """
    schemas = expect["database.security.app_owned_schemas"]
    owned = probes.owned_outside(db, expect["database.security.app_roles"], schemas)
    described = ", ".join(f"{o['role']} owns {o['kind']} {o['name']}" for o in owned[:5])
    assert not owned, (
        f"on {db.where}: {described}, outside the allowed schema(s) {', '.join(schemas)}"
    )


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.severity("critical")
def check_suite_session_is_read_only(db):
    """The suite's own database session cannot write: the server refuses a write, and the monitoring
    role has no write grant.

    Proved with the most harmless write there is (`CREATE TEMP TABLE`, gone with the session), which
    the server must refuse as a read-only transaction; an accepted one suggests a pooler dropping
    the `default_transaction_read_only` startup option. Then no table may be writable (INSERT,
    UPDATE, DELETE or TRUNCATE) by the role: it needs only `pg_monitor` and SELECT.

    When it fails: A write accepted: most likely a pooler drops `default_transaction_read_only`; set
    it on the role too (`check_monitor_role_read_only_by_default`). Writable tables: list the role's
    grants (`SELECT table_name, privilege_type FROM information_schema.role_table_grants WHERE
    grantee = 'MONITOR_ROLE'`) and revoke the writes.
    """
    assert probes.write_is_refused(db), (
        f"the suite's session on {db.where} accepted a write (CREATE TEMP TABLE): it is not"
        " read-only at the server; is a pooler dropping the default_transaction_read_only startup"
        " option?"
    )
    writable = probes.writable_tables(db)
    assert not writable, (
        f"monitoring role {db.user} on {db.where} may write to {len(writable)} table(s)"
        f" ({', '.join(writable[:3])}); it needs only pg_monitor and SELECT"
    )


@pytest.mark.monthly
@pytest.mark.severity("warning")
def check_monitor_role_read_only_by_default(db):
    """The monitoring role itself is set `default_transaction_read_only = on`.

    A second guard, beyond the guide: the suite's session is read-only already
    (`check_suite_session_is_read_only`), and the role's own setting keeps it so where a pooler
    drops the session option. Set it with `ALTER ROLE ... SET default_transaction_read_only = on`.

    When it fails: Run `ALTER ROLE MONITOR_ROLE SET default_transaction_read_only = on`, as a
    superuser, for the monitoring role the message names, and confirm with `SELECT rolconfig FROM
    pg_roles WHERE rolname = 'MONITOR_ROLE'`.
    """
    assert probes.role_read_only_setting(db), (
        f"monitoring role {db.user} on {db.where} lacks ALTER ROLE ... SET"
        " default_transaction_read_only = on; a pooler that drops the session option would leave"
        " it able to write"
    )
