"""The report's memory: how long a check has failed, whether it flips, each area's last runs."""

from __future__ import annotations

import io
import json
import multiprocessing
import random

from nbaverify.reports import render, run_history
from nbaverify.results import CheckResult, RunSummary

LAG = "checks/test_database_replication.py::check_replication_lag"
TLS = "checks/test_headers_tls.py::check_tls_1_2_or_newer_only"
DOWN = "checks/test_health.py::check_health_ok"


def summary(run_id: str, outcomes: dict[str, str]) -> RunSummary:
    areas = {LAG: "database", TLS: "security", DOWN: "api"}
    messages = {
        LAG: "replica 127.0.0.1:5433 lags 9 MB (limit 1 MB)",
        TLS: "https://api accepts TLSv1; allow 1.2 and 1.3 only",
        DOWN: "unreachable: API https://api: connection refused",
    }
    run = RunSummary(
        run_id=run_id,
        target="staging",
        environment="staging",
        tier="daily",
        started_at=f"2026-11-{run_id[-2:]}T06:00:00Z",
        nbaverify_version="0.1.0",
        checks=[
            CheckResult(
                id=cid,
                area=areas[cid],
                tiers=["daily"],
                severity="critical",
                safety="readonly",
                runbook="Troubleshooting / Common Issues / Database Issues",
                outcome=outcome,
                message=messages[cid] if outcome != "passed" else "",
            )
            for cid, outcome in outcomes.items()
        ],
    )
    run.finish(1.0)
    return run


def history(tmp_path, runs: list[dict[str, str]]) -> list[dict]:
    for number, outcomes in enumerate(runs, start=1):
        run_history.append(summary(f"run-{number:02d}", outcomes), tmp_path)
    return run_history.read(tmp_path, "staging")


def test_failing_since_counts_the_streak_back_to_its_first_run(tmp_path):
    past = history(tmp_path, [{LAG: "passed"}, {LAG: "failed"}, {LAG: "failed"}])
    now = summary("run-04", {LAG: "failed", TLS: "failed"})
    found = run_history.triage(now, past)
    assert found.failing_since[LAG] == run_history.Streak(
        3, "run-02", "2026-11-02T06:00:00Z", complete=True
    )
    assert found.failing_since[TLS].runs == 1  # new in this run
    page = render.html_report(now, found)
    assert (
        "failing for 3 runs, since run run-02 (2026-11-02T06:00:00Z)" in page
        and "new in this run" in page
    )


def test_a_streak_older_than_the_record_says_so(tmp_path):
    found = run_history.triage(
        summary("run-03", {LAG: "failed"}), history(tmp_path, [{LAG: "failed"}, {LAG: "error"}])
    )
    assert found.failing_since[LAG].complete is False
    assert "failing in every run on record (3)" in render.html_report(
        summary("run-03", {LAG: "failed"}), found
    )


def test_a_check_that_flips_is_flaky_and_a_steady_failure_is_not(tmp_path):
    past = history(
        tmp_path,
        [
            {LAG: "passed", TLS: "failed"},
            {LAG: "failed", TLS: "failed"},
            {LAG: "passed", TLS: "failed"},
        ],
    )
    found = run_history.triage(summary("run-04", {LAG: "failed", TLS: "failed"}), past)
    assert found.flaky == {LAG}


def test_the_strip_has_each_areas_pass_ratio_per_run(tmp_path):
    past = history(tmp_path, [{LAG: "passed", TLS: "passed"}, {LAG: "failed", TLS: "passed"}])
    found = run_history.triage(summary("run-03", {LAG: "passed", TLS: "skipped"}), past)
    assert [by_area for _, _, by_area in found.strip] == [
        {"database": (1, 1), "security": (1, 1)},
        {"database": (0, 1), "security": (1, 1)},
        {"database": (1, 1), "security": (0, 0)},
    ]


def test_categories_for_the_first_glance():
    run = summary("run-01", {LAG: "failed", TLS: "failed", DOWN: "error"})
    assert [run_history.category(c) for c in run.checks] == [
        "threshold crossed",
        "security finding",
        "target unreachable",
    ]


def test_what_broke_comes_first_grouped_and_readable_without_script():
    page = render.html_report(summary("run-01", {LAG: "failed", TLS: "passed", DOWN: "error"}))
    top = page[: page.index("<h2>Every check</h2>")]
    assert "<script" not in top
    assert (
        top.index("What broke: 2 check(s)") < top.index(LAG) < top.index("lags 9 MB (limit 1 MB)")
    )
    assert "<h3>api <small>1</small></h3>" in top and "<h3>database <small>1</small></h3>" in top


def _append_many(folder: str, start: int) -> None:
    from pathlib import Path

    for n in range(start, start + 50):
        run_history.append(summary(f"run-{n:02d}", {LAG: "passed"}), Path(folder))


def test_runs_finishing_together_never_tear_a_line_and_a_torn_one_is_skipped(tmp_path):
    workers = [
        multiprocessing.Process(target=_append_many, args=(str(tmp_path), n * 50)) for n in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    lines = (tmp_path / run_history.FILE).read_text().splitlines()
    assert len(lines) == 200 and all(json.loads(line)["target"] == "staging" for line in lines)
    with (tmp_path / run_history.FILE).open("a") as out:
        out.write('{"run_id": "torn", "target": "stag')
    assert len(run_history.read(tmp_path, "staging")) == 200


def test_a_skipped_check_says_it_is_not_configured():
    run = summary("run-01", {LAG: "passed"})
    run.checks.append(
        CheckResult(
            id="checks/test_hosts.py::check_load",
            area="hosts",
            tiers=["daily"],
            severity="warning",
            safety="readonly",
            runbook="x",
            outcome="skipped",
            message="not configured: hosts",
        )
    )
    assert run_history.category(run.checks[-1]) == "not configured"
    assert 'not configured: hosts <span class="cat">not configured</span>' in render.html_report(
        run
    )


def test_lines_read_back_from_the_end_are_the_files_lines_at_any_block_size():
    rng = random.Random(7)
    for _ in range(200):
        text = b"".join(
            rng.choice([b"\n", b"a", b"bc", b'{"x":1}', b"\n\n"]) for _ in range(rng.randint(0, 60))
        )
        wanted = [line for line in text.split(b"\n") if line][::-1]
        assert list(run_history._backwards(io.BytesIO(text), block=rng.randint(1, 9))) == wanted


def test_the_history_is_read_from_its_end_as_far_as_it_needs(tmp_path):
    """A year of runs against several targets: the last 200 of this one, oldest first; lines of
    other targets pass unparsed, and nothing before the last SCANNED lines is read."""
    with (tmp_path / run_history.FILE).open("w") as out:
        for number in range(run_history.SCANNED + 1000):
            target = "staging" if number % 3 == 0 else "production"
            out.write(
                json.dumps(
                    {"run_id": f"r{number}", "target": target, "checks": {LAG: "passed"}},
                    separators=(",", ":"),
                )
                + "\n"
            )
    runs = run_history.read(tmp_path, "staging")
    assert [run["run_id"] for run in runs] == [
        f"r{number}" for number in range(run_history.SCANNED + 1000) if number % 3 == 0
    ][-200:]
    scanned = run_history.read(tmp_path, "staging", limit=10_000)
    assert scanned[0]["run_id"] == f"r{1002}"  # the first staging run of the last SCANNED lines
