"""Evidence records and the compliance report built from them: schedule, failure stretches,
waivers."""

import datetime as dt
import json

from nbaverify import coverage
from nbaverify.cli import main
from nbaverify.loadtest.summary import LoadSummary, LoadTotals
from nbaverify.reports import evidence_records
from nbaverify.results import CheckResult, RunSummary

LAG = "checks/test_database_replication.py::check_replication_lag"
HEALTH = "checks/test_health.py::check_health_ok"
SECTIONS = {
    LAG: ["Troubleshooting / Common Issues / Database Issues"],
    HEALTH: ["System Monitoring / Health Checks / API Health"],
}
DEBUGGING = "Troubleshooting / Debugging Procedures / API Debugging"


def run_record(root, when: str, tier: str, outcomes: dict, waivers=()):
    checks = [
        CheckResult(
            id=cid,
            area="database",
            tiers=[tier],
            severity="critical",
            safety="readonly",
            runbook=SECTIONS[cid][0],
            guide=SECTIONS[cid],
            outcome=outcome,
            message=f"{cid} {outcome}",
        )
        for cid, outcome in outcomes.items()
    ]
    summary = RunSummary(
        run_id=f"{when}-{tier}",
        target="staging",
        environment="staging",
        tier=tier,
        started_at=when,
        checks=checks,
        waivers=list(waivers),
        nbaverify_version="0.1.0",
    )
    summary.finish(1.0)
    directory = root / summary.run_id.replace(":", "")
    directory.mkdir()
    summary.write(directory / "summary.json")
    # collected, not all selected
    catalogue = [tuple(sections) for sections in SECTIONS.values()] + [(DEBUGGING,)]
    return evidence_records.write_record(
        summary, directory, {"name": "staging"}, coverage.of_run(checks, catalogue)
    )


def test_a_record_says_who_ran_what_with_which_suite_and_the_guide_coverage(tmp_path):
    path = run_record(tmp_path, "2026-11-02T06:00:00Z", "daily", {LAG: "failed", HEALTH: "passed"})
    record = json.loads(path.read_text())
    assert record["suite"]["version"] and "@" in record["ran_by"]
    assert (
        record["summary"]["checks"][0]["runbook"]
        == "Troubleshooting / Common Issues / Database Issues"
    )
    states = {item["section"]: item["state"] for item in record["coverage"]}
    assert states["System Monitoring / Health Checks / API Health"] == "verified"
    assert states["Troubleshooting / Common Issues / Database Issues"] == "failing"
    assert states["Support Procedures / Documentation"] == "manual"
    # a check verifies it, none of its checks was selected
    assert states[DEBUGGING] == "not in this run"


def test_the_report_measures_how_long_each_failure_stayed_open_and_which_runs_were_missed(tmp_path):
    run_record(tmp_path, "2026-11-01T06:00:00Z", "daily", {LAG: "passed"})
    run_record(tmp_path, "2026-11-02T06:00:00Z", "daily", {LAG: "failed"})
    run_record(tmp_path, "2026-11-03T06:00:00Z", "daily", {LAG: "failed"})
    run_record(tmp_path, "2026-11-04T18:00:00Z", "daily", {LAG: "passed", HEALTH: "failed"})
    records = evidence_records.collect(
        tmp_path, "staging", dt.date(2026, 11, 1), dt.date(2026, 11, 5)
    )
    report = evidence_records.build_report(
        records,
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 5),
        "staging",
        now=dt.datetime(2026, 11, 5, 6, tzinfo=dt.UTC),
    )
    stretches = {f["check"]: f for f in report["failures"]}
    lag, health = stretches[LAG], stretches[HEALTH]
    assert (lag["first_failed"], lag["resolved"], lag["open_for_h"], lag["failing_runs"]) == (
        "2026-11-02T06:00:00Z",
        "2026-11-04T18:00:00Z",
        60.0,
        2,
    )
    assert health["resolved"] is None and health["open_for_h"] == 12.0
    assert report["failures"][0]["check"] == HEALTH  # still open comes first
    daily = next(row for row in report["schedule"] if row["cadence"] == "daily")
    assert (daily["periods"], daily["covered"], daily["missed"], daily["failed_runs"]) == (
        5,
        4,
        ["2026-11-05"],
        3,
    )
    weekly = next(row for row in report["schedule"] if row["cadence"] == "weekly")
    assert weekly["covered"] == 0 and weekly["missed"] == ["2026-W44", "2026-W45"]
    assert (
        "| `checks/test_health.py::check_health_ok` | critical | 2026-11-04T18:00:00Z | **still"
        " open** | 12.0 h |" in evidence_records.report_markdown(report)
    )


def test_the_report_lists_the_waivers_in_force_and_expired(tmp_path):
    waiver = {
        "check": "check_replication_lag",
        "scope": None,
        "justification": "replica rebuild (OPS-12)",
        "owner": "dba",
        "expires": "2026-11-03",
        "run": True,
    }
    run_record(
        tmp_path,
        "2026-11-02T06:00:00Z",
        "weekly",
        {LAG: "waived"},
        [{**waiver, "state": "in force"}],
    )
    run_record(
        tmp_path,
        "2026-11-04T06:00:00Z",
        "weekly",
        {LAG: "failed"},
        [{**waiver, "state": "expired"}],
    )
    records = evidence_records.collect(tmp_path, None, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    (only,) = evidence_records.build_report(
        records, dt.date(2026, 11, 1), dt.date(2026, 11, 30), None
    )["waivers"]
    assert only["state"] == "expired" and only["last_seen"] == "2026-11-04T06:00:00Z"


def test_the_command_writes_the_report_and_says_so_in_one_line(tmp_path, capsys):
    run_record(tmp_path, "2026-11-02T06:00:00Z", "daily", {LAG: "failed"})
    (tmp_path / "junk").mkdir()
    # a half-written record is passed over
    (tmp_path / "junk" / "evidence.json").write_text("{not json")
    code = main(
        ["report", "--reports", str(tmp_path), "--since", "2026-11-01", "--until", "2026-11-02"]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "compliance 2026-11-01..2026-11-02: 1 run(s), 5 scheduled period(s) without a run" in out
    assert (tmp_path / "compliance-2026-11-01-2026-11-02" / "compliance.md").exists()


def test_the_report_lists_the_period_s_load_tests(tmp_path, capsys):
    run_record(tmp_path, "2026-11-02T06:00:00Z", "quarterly", {LAG: "passed"})
    (tmp_path / "load" / "q1").mkdir(parents=True)
    LoadSummary(
        run_id="q1",
        target="staging",
        environment="staging",
        profile="quarterly",
        model="open",
        workers=2,
        started_at="2026-11-03T10:00:00Z",
        duration_s=900.0,
        totals=LoadTotals(
            requests=90000,
            failures=90,
            rps=99.5,
            p50_ms=90.0,
            p95_ms=800.0,
            p99_ms=2400.0,
            error_rate=0.001,
        ),
        problems=["threshold p99_ms<=2000 [all]: p99 2400ms on all requests"],
    ).write(tmp_path / "load" / "q1" / "summary.json")
    assert (
        main(
            ["report", "--reports", str(tmp_path), "--since", "2026-11-01", "--until", "2026-11-30"]
        )
        == 0
    )
    assert "1 load test(s)" in capsys.readouterr().out
    text = (tmp_path / "compliance-2026-11-01-2026-11-30" / "compliance.md").read_text()
    assert (
        "| 2026-11-03T10:00:00Z | quarterly | open | FAIL | 800 ms | 2400 ms | 99.5/s | 0.10% |"
        in text
    )


def test_the_command_says_when_there_is_nothing_to_report(tmp_path, capsys):
    assert (
        main(
            ["report", "--reports", str(tmp_path), "--since", "2026-11-01", "--until", "2026-11-02"]
        )
        == 1
    )
    assert "no evidence record in" in capsys.readouterr().err
    assert main(["report", "--reports", str(tmp_path / "nope")]) == 2


def test_compliance_html_draws_the_schedule_and_the_failure_stretches(tmp_path):
    from nbaverify.reports import compliance_page

    run_record(tmp_path, "2026-11-01T06:00:00Z", "daily", {LAG: "passed"})
    run_record(tmp_path, "2026-11-02T06:00:00Z", "daily", {LAG: "failed"})
    run_record(tmp_path, "2026-11-04T18:00:00Z", "daily", {LAG: "passed", HEALTH: "failed"})
    records = evidence_records.collect(
        tmp_path, "staging", dt.date(2026, 11, 1), dt.date(2026, 11, 5)
    )
    report = evidence_records.build_report(
        records,
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 5),
        "staging",
        now=dt.datetime(2026, 11, 5, 6, tzinfo=dt.UTC),
    )
    page = compliance_page.render(report, now=dt.datetime(2026, 11, 5, 6, tzinfo=dt.UTC))
    daily = next(row for row in report["schedule"] if row["cadence"] == "daily")
    assert [c["ran"] for c in daily["strip"]] == [True, True, False, True, False]
    assert (
        page.count("<title>2026-11-03: missed</title>") == 1 and page.count(": a run</title>") >= 3
    )
    assert (
        "<title>checks/test_health.py::check_health_ok: from 2026-11-04T18:00:00Z, still open,"
        " 12.0 h" in page
    )
    assert "<script" not in page and "http" not in page.split("<body>")[1]  # self-contained
    assert (
        main(
            ["report", "--reports", str(tmp_path), "--since", "2026-11-01", "--until", "2026-11-05"]
        )
        == 0
    )
    assert (
        (tmp_path / "compliance-2026-11-01-2026-11-05" / "compliance.html")
        .read_text()
        .startswith("<!doctype html>")
    )
