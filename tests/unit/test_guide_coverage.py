"""Guide coverage is derived from the checks' own guide sections: every section a check names is one
the guide has, every check verifies an item, and every item is verified by a check or says why not
(fixtures/coverage.toml).
"""

import pytest

from nbaverify import catalogue, coverage, guide
from nbaverify.results import CheckResult


@pytest.fixture(scope="module")
def specs():
    return catalogue.collect()


def test_the_guide_is_read_as_its_items():
    items = guide.items()
    assert "Security Best Practices / Authentication & Authorization / API Security" in items
    # a scheduled task
    assert "Maintenance Schedule / Monthly Tasks / Test recovery procedures" in items
    assert "Support Procedures / Escalation Path" in items  # a section with no numbered items
    # a heading with items of its own is not one
    assert "Troubleshooting / Debugging Procedures" not in items
    assert guide.section(
        "Security Best Practices / Authentication & Authorization / Rate Limiting"
    ).startswith("2. **Rate Limiting**")
    assert "max: 100" in guide.section(
        "Security Best Practices / Authentication & Authorization / Rate Limiting"
    )
    # the path as the guide nests it only
    assert guide.section("Security Best Practices / Rate Limiting") is None


def test_every_section_a_check_names_is_the_guide_s(specs):
    unknown = sorted(
        {
            (s.check, section)
            for s in specs
            for section in s.sections
            if guide.section(section) is None
        }
    )
    assert not unknown, "runbook markers naming no section of the guide"


def test_every_check_verifies_an_item(specs):
    items = coverage.items()
    idle = sorted(
        {s.check for s in specs if not any(item.covered_by(s.sections) for item in items)}
    )
    assert not idle, (
        "checks whose runbook sections name no item of the guide (only a heading above items)"
    )


def test_every_item_is_verified_or_says_why_not(specs):
    bare = [
        item.section
        for item in coverage.items()
        if not coverage.checks_of(item, specs) and not (item.manual or item.planned or item.command)
    ]
    assert not bare


def test_every_note_names_an_item_and_says_something():
    items = set(guide.items())
    for note in coverage.notes():
        assert note["section"] in items, (
            f"coverage.toml names {note['section']!r}, not an item of the guide"
        )
        assert set(note) - {"section"} <= {"reading", "manual", "planned", "command"}, note
        assert set(note) - {"section"}, f"{note['section']}: a note that says nothing"


def _result(check: str, outcome: str, *sections: str) -> CheckResult:
    return CheckResult(
        id=f"checks/test_x.py::{check}",
        area="api",
        tiers=["gate"],
        severity="critical",
        safety="readonly",
        runbook=sections[0],
        outcome=outcome,
        guide=list(sections),
    )


def test_a_run_says_each_item_s_state():
    api_health = "System Monitoring / Health Checks / API Health"
    db_health = "System Monitoring / Health Checks / Database Health"
    backups = "Maintenance Schedule / Daily Tasks / Check backup status"
    catalogue_sections = [(api_health,), (db_health,), (backups,)]
    rows = {
        row["section"]: row
        for row in coverage.of_run(
            [
                _result("check_a", "passed", api_health),
                _result("check_b", "failed", db_health, api_health),
            ],
            catalogue_sections,
        )
    }
    assert rows[api_health]["state"] == "failing" and rows[api_health]["checks"] == [
        "checks/test_x.py::check_a",
        "checks/test_x.py::check_b",
    ]
    assert rows[db_health]["state"] == "failing"
    assert rows[backups]["state"] == "not in this run"  # a check verifies it; none of them ran
    assert rows["Support Procedures / Documentation"]["state"] == "manual"
    assert rows["Maintenance Schedule / Quarterly Tasks / Load testing"]["state"] == "command"
    assert (
        "nbaverify load --profile quarterly"
        in rows["Maintenance Schedule / Quarterly Tasks / Load testing"]["why_not"]
    )


def test_a_waived_or_skipped_item_is_not_verified():
    health = "System Monitoring / Health Checks / API Health"
    rows = {row["section"]: row for row in coverage.of_run([_result("check_a", "waived", health)])}
    assert rows[health]["state"] == "waived"
    rows = {row["section"]: row for row in coverage.of_run([_result("check_a", "skipped", health)])}
    assert rows[health]["state"] == "not in this run"
