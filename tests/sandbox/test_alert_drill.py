"""The alert drill against the real Alertmanager pair: with a delivery record in a file, and without
any record (its faults are in the matrix, where the sandbox profile names the sink's record by
URL)."""

from __future__ import annotations

import pytest

from nbaverify.sandbox import alertmanager, prometheus

DRILL = "checks/test_alerting.py::check_alert_drill"

pytestmark = pytest.mark.skipif(
    not (alertmanager.binary() and prometheus.binary()),
    reason="needs Prometheus and Alertmanager (apt-get install prometheus prometheus-alertmanager)",
)


def profile_with_deliveries(sandbox, tmp_path, line: str):
    text = sandbox.layout.target_file.read_text()
    named = next(row for row in text.splitlines() if row.startswith("deliveries = "))
    path = tmp_path / "drill.toml"
    path.write_text(text.replace(named, line))
    return path


def drill(sandbox, nbaverify, profile) -> dict:
    result = nbaverify(
        "check",
        "monthly",
        "--target",
        str(profile),
        "--",
        "-k",
        "check_alert_drill",
        env=sandbox.environ(),
    )
    assert result.summary is not None, result.err
    return result.outcomes()[DRILL]


def test_a_record_kept_in_a_file_attributes_each_delivery(sandbox, nbaverify, tmp_path):
    sandbox.up([])
    # what a team's webhook logger would write
    record = sandbox.layout.root / "alertmanager" / "deliveries.jsonl"
    outcome = drill(
        sandbox, nbaverify, profile_with_deliveries(sandbox, tmp_path, f'deliveries = "{record}"')
    )
    assert outcome["outcome"] == "passed", outcome["message"]
    assert outcome["evidence"]["attributed_by"] == str(record)
    assert (
        outcome["evidence"]["firing"]
        == outcome["evidence"]["resolved"]
        == ["devops", "oncall-pager"]
    )


def test_without_a_record_the_drill_reads_the_counters_and_says_they_are_everyones(
    sandbox, nbaverify, tmp_path
):
    sandbox.up([])
    outcome = drill(sandbox, nbaverify, profile_with_deliveries(sandbox, tmp_path, ""))
    assert outcome["outcome"] == "passed", outcome["message"]
    assert outcome["evidence"]["attributed_by"].startswith(
        "Alertmanager's counters over every receiver"
    )
    assert outcome["evidence"]["routed_to"] == ["devops", "oncall-pager"]
