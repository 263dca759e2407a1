"""Database roles: the application is no superuser and owns only its schema; the suite cannot write.

Guide: Security Best Practices / Access Control; DESIGN.md Safety (read-only at the server).
"""

import pytest

from nbaverify.probes import database as probes

pytestmark = [pytest.mark.area("security")]

ACCESS_CONTROL = "Security Best Practices / Access Control"


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(ACCESS_CONTROL)
def check_app_roles_are_not_privileged(db, expect):
    names = expect["database.security.app_roles"]
    found = {r["role"]: r for r in probes.roles(db, names)}
    missing = [n for n in names if n not in found]
    assert not missing, f"application role(s) {', '.join(missing)} do not exist on {db.where} (expectations app_roles)"
    privileged = [f"{name} has {', '.join(k.upper() for k in ('superuser', 'createrole', 'replication', 'bypassrls') if r[k])}"
                  for name, r in found.items() if any(r[k] for k in ("superuser", "createrole", "replication", "bypassrls"))]
    assert not privileged, (
        f"on {db.where}: {'; '.join(privileged)}; an application role needs none of these: ALTER ROLE ... NOSUPERUSER")


@pytest.mark.monthly
@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook(ACCESS_CONTROL)
def check_app_roles_own_only_their_schema(db, expect):
    schemas = expect["database.security.app_owned_schemas"]
    owned = probes.owned_outside(db, expect["database.security.app_roles"], schemas)
    described = ", ".join(f"{o['role']} owns {o['kind']} {o['name']}" for o in owned[:5])
    assert not owned, f"on {db.where}: {described}, outside the allowed schema(s) {', '.join(schemas)}"


@pytest.mark.gate
@pytest.mark.monthly
@pytest.mark.severity("critical")
@pytest.mark.runbook(ACCESS_CONTROL)
def check_suite_session_is_read_only(db):
    """Prove it: a write from the suite's own session is refused by the server."""
    assert probes.write_is_refused(db), (
        f"the suite's session on {db.where} accepted a write (CREATE TEMP TABLE): it is not read-only at the server; "
        "is a pooler dropping the default_transaction_read_only startup option?")
    writable = probes.writable_tables(db)
    assert not writable, (
        f"monitoring role {db.user} on {db.where} may write to {len(writable)} table(s) ({', '.join(writable[:3])}); "
        "it needs only pg_monitor and SELECT")


@pytest.mark.monthly
@pytest.mark.severity("warning")
@pytest.mark.runbook(ACCESS_CONTROL)
def check_monitor_role_read_only_by_default(db):
    """Defence in depth beyond the guide: the suite's session is read-only already (checked above)."""
    assert probes.role_read_only_setting(db), (
        f"monitoring role {db.user} on {db.where} lacks ALTER ROLE ... SET default_transaction_read_only = on; "
        "a pooler that drops the session option would leave it able to write")
