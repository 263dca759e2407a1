"""The catalogue: each check declared once, as a CheckSpec every reader shares; `nbaverify checks`
and `nbaverify explain` print it."""

import json

import pytest

from nbaverify import catalogue, cli, reference
from nbaverify.errors import ConfigError
from nbaverify.markers import AREAS, SAFETY, SEVERITIES, TIERS


@pytest.fixture(scope="module")
def specs():
    return catalogue.collect()


def test_every_case_is_an_entry_and_every_check_says_what_it_verifies(specs):
    checks = catalogue.functions(specs)
    assert len(checks) > 100 and len(specs) > len(checks)
    for entry in specs:
        assert entry.area in AREAS and entry.severity in SEVERITIES and entry.safety in SAFETY
        assert entry.tiers and set(entry.tiers) <= set(TIERS) and entry.guide == entry.sections[0]
        assert entry.id.startswith(entry.check) and entry.check.startswith("checks/test_")
    undocumented = [e.name for e in checks if not e.summary]
    assert not undocumented, "checks without a docstring"
    long = [
        (e.name, len(e.summary))
        for e in checks
        if len(e.summary) > 160 or not e.summary.endswith(".")
    ]
    assert not long, (
        "a check's summary is one sentence of 160 characters or fewer, ended by a period"
    )


def test_an_entry_knows_its_case_and_what_it_reads(specs):
    entry = reference.find(specs, "check_token_refused[expired]")
    assert (
        entry.case == "expired" and entry.name == "check_token_refused" and entry.reads == ("api",)
    )
    assert reference.find(specs, "test_jwt.py::check_token_refused").check == entry.check
    assert reference.find(specs, entry.id) == entry
    assert reference.find(
        specs, "checks/test_database_replication.py::check_replication_lag"
    ).reads == ("db", "replica")


def test_a_name_that_is_no_check_says_what_is_close(specs):
    with pytest.raises(
        ConfigError,
        match=r"no check is called 'check_token_refuse'; did you mean check_token_refused",
    ):
        reference.find(specs, "check_token_refuse")


def test_explain_quotes_the_guide_and_names_the_faults(specs):
    text = reference.explain(
        reference.find(specs, "check_rate_limit_enforced"), specs, {"api": "the API"}
    )
    assert "Security Best Practices / Authentication & Authorization / Rate Limiting" in text
    assert "max: 100 // limit each IP to 100 requests per windowMs" in text  # the guide's own words
    assert "under fault no_rate_limit" in text
    assert "Safety\n  disruptive:" in text and "critical: fails the run (exit 1)" in text
    assert "nbaverify check all -- checks/test_rate_limit.py::check_rate_limit_enforced" in text


def test_checks_lists_a_tier_and_an_area(capsys):
    assert cli.main(["checks", "gate", "--area", "database", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed and all("gate" in e["tiers"] and e["area"] == "database" for e in listed)
    lag = next(e for e in listed if e["name"] == "check_replication_lag")
    assert lag["proven_by"]["faults"] and lag["reads"] == ["db", "replica"] and lag["summary"]
    assert cli.main(["checks", "monthly"]) == 0
    out = capsys.readouterr().out
    assert (
        "check_restore_drill" in out and "check_health_ok" not in out and "Cadences: g gate" in out
    )
    assert cli.main(["checks", "--markdown", "--area", "hosts"]) == 0
    assert capsys.readouterr().out.startswith(
        "## hosts\n\n| check | cadences | severity | verifies |"
    )


def test_explain_and_its_one_line_errors(capsys):
    assert cli.main(["explain", "check_replication_lag"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("checks/test_database_replication.py::check_replication_lag\n")
    assert "under fault replica_lag" in out
    assert cli.main(["explain", "check_nothing_like_it"]) == 2
    assert (
        capsys.readouterr().err
        == "nbaverify: explain: no check is called 'check_nothing_like_it'; "
        "`nbaverify checks` lists them\n"
    )
    assert cli.main(["checks", "--checks", "/nonexistent/folder"]) == 2
