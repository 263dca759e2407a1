"""Rule: severity says what the gate does. `critical` only where the guide demands it or for an
outright hole; a best practice beyond the guide is a `warning` (docs/how-checks-decide.md). The
generated checks page (docs/reference/checks.md, kept current by test_docs.py) states every check's
severity, so none changes unseen.
"""

import pytest

from nbaverify import catalogue


@pytest.fixture(scope="module")
def severity() -> dict[str, str]:
    return {entry.name: entry.severity for entry in catalogue.functions(catalogue.collect())}


@pytest.mark.parametrize(
    "name",
    [
        "check_every_workload_isolated",
        "check_wal_archiving_enabled",
        "check_token_without_exp_refused",
        "check_tls_1_2_or_newer_only",
        "check_no_version_leak",
        "check_rate_limit_headers",
        "check_pool_gauges_exposed",
        "check_watchdog_rule_present",
    ],
)
def test_best_practices_beyond_the_guide_are_warnings(severity, name):
    assert severity[name] == "warning"


@pytest.mark.parametrize(
    "name",
    [
        "check_token_refused",
        "check_primary_accepts_connections",
        "check_no_secret_access",
        "check_security_header",
        "check_rate_limit_enforced",
        "check_expected_index",
    ],
)
def test_what_the_guide_demands_and_outright_holes_are_critical(severity, name):
    assert severity[name] == "critical"
