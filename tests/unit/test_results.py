"""One result model; exit code, status line, JUnit and Markdown all come from it."""

import xml.etree.ElementTree as ET

import pytest

from nbaverify.reports.render import junit, markdown, terminal_lines
from nbaverify.results import CheckResult, RunSummary


def summary(*checks: CheckResult) -> RunSummary:
    run = RunSummary(
        run_id="r1",
        target="t",
        environment="staging",
        tier="gate",
        started_at="2026-11-28T15:00:00Z",
        checks=list(checks),
        nbaverify_version="0.1.0",
    )
    run.finish(1.25)
    return run


def check(name: str, outcome: str, severity: str = "critical", message: str = "") -> CheckResult:
    return CheckResult(
        id=f"checks/test_x.py::{name}",
        area="api",
        tiers=["gate"],
        severity=severity,
        safety="readonly",
        runbook="System Monitoring / Health Checks / API Health",
        outcome=outcome,
        message=message,
    )


def test_only_a_critical_failure_fails_the_run():
    assert summary(check("a", "passed"), check("b", "failed", "warning")).exit_code == 0
    assert summary(check("a", "failed", "critical")).exit_code == 1
    assert summary(check("a", "error", "critical")).exit_code == 1
    assert summary(check("a", "skipped", "critical")).exit_code == 0


@pytest.mark.parametrize(
    ("fail_on", "code"), [("critical", 0), ("warning", 1), ("info", 1), ("never", 0)]
)
def test_fail_on_decides_which_severity_fails_the_run(fail_on, code):
    run = RunSummary(
        run_id="r",
        target="t",
        environment="e",
        tier="gate",
        started_at="x",
        fail_on=fail_on,
        checks=[check("a", "failed", "warning")],
    )
    run.finish(0.1)
    assert run.exit_code == code
    assert run.status == "WARNING"  # the status names the worst failure, whatever the exit policy


def test_status_line_for_schedulers():
    run = summary(
        check("a", "passed"),
        check("b", "failed"),
        check("c", "skipped", message="not configured: api"),
    )
    assert run.status_line() == "NBAVERIFY CRITICAL - 1 passed, 1 failed, 1 skipped in 1.2s"
    assert summary(check("a", "failed", "warning")).status_line().startswith("NBAVERIFY WARNING")


def test_junit_carries_metadata_and_messages():
    run = summary(
        check("a", "passed"),
        check("b", "failed", message="GET /health returned 503"),
        check("c", "skipped", message="not configured: api"),
    )
    suite = ET.fromstring(junit(run))
    assert (
        suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    )
    failed = suite.find("testcase[@name='b']")
    assert failed.find("failure").get("message") == "GET /health returned 503"
    props = {p.get("name"): p.get("value") for p in failed.iter("property")}
    assert props["severity"] == "critical" and props["runbook"].startswith("System Monitoring")


def test_markdown_and_terminal_show_failures_and_skip_reasons():
    run = summary(
        check("b", "failed", message="lag 4 MB | 2s"),
        check("c", "skipped", message="not configured: api"),
    )
    text = markdown(run)
    assert "lag 4 MB \\| 2s" in text and "not configured: api" in text
    lines = terminal_lines(run)
    assert lines[0].startswith("FAILED [critical] checks/test_x.py::b: lag 4 MB")
    assert lines[-1].startswith("NBAVERIFY CRITICAL")


def test_html_report_is_self_contained_and_escapes_messages():
    from nbaverify.reports.render import html_report

    run = summary(
        check("b", "failed", message="<script>alert(1)</script> lag 4 MB"), check("c", "passed")
    )
    page = html_report(run)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert 'data-outcome="failed"' in page and "every severity" in page
    assert "http://" not in page and "https://" not in page  # nothing fetched from anywhere


def test_run_metrics_parse_as_prometheus_text(tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    from nbaverify.reports.run_metrics import write_textfile

    run = summary(check("b", "failed", message="x"), check("c", "passed"))
    path = tmp_path / "nbaverify.prom"
    write_textfile(run, path)
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(path.read_text())
        for s in family.samples
    }
    assert samples[("nbaverify_run_status", (("target", "t"), ("tier", "gate")))] == 2
    assert (
        samples[("nbaverify_checks", (("outcome", "failed"), ("target", "t"), ("tier", "gate")))]
        == 1
    )
    failing = [k for k in samples if k[0] == "nbaverify_check_failing"]
    assert failing and ("check", "checks/test_x.py::b") in failing[0][1]
