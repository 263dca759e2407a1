"""Rule: severity says what the gate does, and the README's check tables say it truly.

`critical` only where the guide demands it or for an outright hole; a best practice beyond the
guide is a `warning` (README, "What the checks cover"). The tables there are the statement of that
rule check by check: this test holds every check's marker to its row, so a severity never changes
without the README saying so.
"""

import re

import pytest

from nbaverify.shipped import CHECKOUT as PROJECT_ROOT

SEVERITIES = ("critical", "warning", "info")


def declared() -> dict[str, str]:
    found = {}
    for path in (PROJECT_ROOT / "checks").glob("test_*.py"):
        for markers, name in re.findall(r"((?:@pytest\.mark\.[^\n]+\n)+)def (check_\w+)", path.read_text()):
            found[name] = re.search(r'severity\("(\w+)"\)', markers).group(1)
    return found


def documented() -> dict[str, set[str]]:
    section = (PROJECT_ROOT / "README.md").read_text().split("## What the checks cover", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.replace("\\|", "/").strip().strip("|").split("|")]
        names = re.findall(r"`(check_\w+)", cells[0]) if len(cells) >= 4 else []
        if not names:
            continue
        levels = [word for word in re.findall(r"\w+", cells[2]) if word in SEVERITIES]
        pairs = zip(names, levels, strict=True) if len(levels) == len(names) else ((n, lv) for n in names for lv in levels)
        for name, level in pairs:
            rows.setdefault(name, set()).add(level)
    return rows


def test_every_check_has_a_row_with_its_severity():
    rows, markers = documented(), declared()
    assert set(markers) - set(rows) == set(), "checks missing from the README tables"
    wrong = {name: (markers[name], sorted(rows[name])) for name in markers if rows[name] != {markers[name]}}
    assert wrong == {}, "README severity differs from the marker (marker, README)"


@pytest.mark.parametrize("name", ["check_every_workload_isolated", "check_wal_archiving_enabled",
                                  "check_token_without_exp_refused", "check_tls_1_2_or_newer_only",
                                  "check_no_version_leak", "check_rate_limit_headers", "check_pool_gauges_exposed"])
def test_best_practices_beyond_the_guide_are_warnings(name):
    assert declared()[name] == "warning"


@pytest.mark.parametrize("name", ["check_token_refused", "check_primary_accepts_connections", "check_no_secret_access",
                                  "check_security_header", "check_rate_limit_enforced", "check_expected_index"])
def test_what_the_guide_demands_and_outright_holes_are_critical(name):
    assert declared()[name] == "critical"
