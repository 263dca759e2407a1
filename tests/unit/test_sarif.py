"""summary.sarif: valid SARIF 2.1.0 (the OASIS schema), a location on every result, stable
fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from nbaverify import shipped
from nbaverify.reports import sarif
from nbaverify.results import CheckResult, RunSummary

SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json").read_text())
SEED = shipped.CHECKOUT.parent / "shared" / "seed" / "maintenance-guide.md"


def summary(*checks: CheckResult) -> RunSummary:
    run = RunSummary(
        run_id="r1",
        target="staging",
        environment="staging",
        tier="gate",
        started_at="2026-12-01T00:00:00Z",
        checks=list(checks),
        nbaverify_version="0.1.0",
    )
    run.finish(1.0)
    return run


def check(
    cid: str, outcome: str, severity: str, runbook: str, message: str, area: str = "kubernetes"
) -> CheckResult:
    return CheckResult(
        id=cid,
        area=area,
        tiers=["gate"],
        severity=severity,
        safety="readonly",
        runbook=runbook,
        outcome=outcome,
        message=message,
    )


RESOURCES = check(
    "checks/test_kubernetes_resources.py::check_probes_present",
    "failed",
    "warning",
    "Performance Tuning / Infrastructure Optimization / Resource Limits",
    "nba-stats/Deployment/api container api has no readinessProbe",
)
RATE = check(
    "checks/test_rate_limit.py::check_rate_limit_enforced",
    "failed",
    "critical",
    "Security Best Practices / Authentication & Authorization",
    "101 requests, none refused",
    area="api",
)
PASSED = check(
    "checks/test_health.py::check_health_ok",
    "passed",
    "critical",
    "System Monitoring / Health Checks",
    "",
)


def test_the_file_is_valid_sarif_with_a_location_on_every_result(tmp_path):
    document = sarif.sarif(
        summary(RESOURCES, RATE, PASSED), manifests=shipped.K8S_MANIFESTS, root=shipped.CHECKOUT
    )
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    results = document["runs"][0]["results"]
    # the passing check is no finding
    assert [r["ruleId"] for r in results] == [RESOURCES.id, RATE.id]
    assert [r["level"] for r in results] == ["warning", "error"]
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1 for r in results)


def test_a_kubernetes_finding_points_at_its_manifest_line():
    result = sarif.sarif(
        summary(RESOURCES), manifests=shipped.K8S_MANIFESTS, root=shipped.CHECKOUT
    )["runs"][0]["results"][0]
    where = result["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == "fixtures/k8s/api.yaml"
    line = (
        (shipped.K8S_MANIFESTS / "api.yaml")
        .read_text()
        .splitlines()[where["region"]["startLine"] - 1]
    )
    assert line.strip() == "name: api"


def test_other_findings_point_at_their_guide_section_in_the_shipped_guide():
    result = sarif.sarif(summary(RATE), root=shipped.CHECKOUT)["runs"][0]["results"][0]
    where = result["locations"][0]["physicalLocation"]
    assert where["artifactLocation"]["uri"] == "fixtures/guide/maintenance-guide.md"
    lines = sarif.GUIDE.read_text().splitlines()
    assert lines[where["region"]["startLine"] - 1] == "### Authentication & Authorization"
    assert (
        lines[sarif.guide_line("Performance Tuning / API Performance / Cache Configuration") - 1]
        == "2. **Cache Configuration**"
    )
    assert lines[sarif.guide_line("Maintenance Schedule / Weekly Tasks") - 1] == "### Weekly Tasks"


def test_fingerprints_are_stable_across_runs_and_differ_between_checks():
    first = sarif.sarif(summary(RESOURCES, RATE))["runs"][0]["results"]
    again = sarif.sarif(summary(RESOURCES, RATE))["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in first] == [r["partialFingerprints"] for r in again]
    assert first[0]["partialFingerprints"] != first[1]["partialFingerprints"]


@pytest.mark.skipif(
    not SEED.exists(), reason="the steering copy of the guide is not beside this checkout"
)
def test_the_shipped_guide_is_the_guide():
    assert sarif.GUIDE.read_text() == SEED.read_text()
