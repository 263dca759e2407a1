"""A check that cannot fail is a defect: every check is named by a fault of the catalogue (the matrix then
proves it fails there), or this table says where else it is shown failing, or why it is not yet."""

from __future__ import annotations

import ast

from nbaverify import shipped
from nbaverify.sandbox.faults import CATALOGUE

PROVEN_ELSEWHERE = {
    "checks/test_patch_currency.py::check_release_data_current": "tests/sandbox/test_release_data.py (old release data)",
    "checks/test_patch_currency.py::check_postgres_supported": "tests/sandbox/test_release_data.py (no EOL major runs here)",
    "checks/test_patch_currency.py::check_postgres_eol_distant": "tests/sandbox/test_release_data.py",
    "checks/test_monitoring_dashboards.py::check_dashboards_in_grafana":
        "tests/unit/test_grafana_probe.py (no Grafana runs here: a named test double of /api/search)",
}
NOT_YET: dict[str, str] = {}  # a check with no honest fault yet, and why (none today)


def shipped_checks() -> set[str]:
    found = set()
    for path in sorted(shipped.CHECKS.glob("test_*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("check_"):
                found.add(f"checks/{path.name}::{node.name}")
    return found


def test_every_check_is_caught_by_a_fault_or_says_where_it_is_proven():
    caught = {c.split("[")[0] for fault in CATALOGUE.values() for c in fault.caught_by}
    unproven = shipped_checks() - caught - set(PROVEN_ELSEWHERE) - set(NOT_YET)
    assert not unproven, f"checks no fault fails and no test shows failing: {sorted(unproven)}"


def test_the_tables_name_only_checks_that_exist_and_no_fault_catches():
    caught = {c.split("[")[0] for fault in CATALOGUE.values() for c in fault.caught_by}
    for table in (PROVEN_ELSEWHERE, NOT_YET):
        assert set(table) <= shipped_checks() and not set(table) & caught, table
