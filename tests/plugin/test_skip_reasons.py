"""Checks that do not apply say why: no [prometheus] section, or no promtool on the machine."""

import json
import os
import subprocess
import sys

from nbaverify.shipped import CHECKOUT as PROJECT_ROOT


def run_checks(tmp_path, *paths, env=None):
    profile = tmp_path / "bare.toml"
    profile.write_text('name = "bare"\nenvironment = "staging"\n')
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *paths,
            "--target",
            str(profile),
            "--report-dir",
            str(tmp_path / "r"),
            "-q",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
    return done, json.loads((tmp_path / "r" / "summary.json").read_text())


def test_prometheus_checks_skip_without_a_prometheus_section(tmp_path):
    done, summary = run_checks(
        tmp_path, "checks/test_monitoring_prometheus.py", "checks/test_monitoring_dashboards.py"
    )
    outcomes = {c["id"].split("::")[1]: (c["outcome"], c["message"]) for c in summary["checks"]}
    # the dashboard files are read from disk: that check needs no Prometheus and still runs
    assert outcomes.pop("check_expected_dashboards_exist")[0] == "passed"
    assert outcomes.pop("check_dashboards_in_grafana") == ("skipped", "not configured: grafana")
    assert set(outcomes.values()) == {("skipped", "not configured: prometheus")}, outcomes
    assert done.returncode == 0
    skipped_line = next(line for line in done.stdout.splitlines() if line.startswith("skipped: "))
    assert "not configured: prometheus" in skipped_line  # and on the terminal, in one line


def test_rule_checks_skip_without_promtool(tmp_path):
    done, summary = run_checks(
        tmp_path,
        "checks/test_monitoring_rules.py",
        # no /usr/bin: no promtool
        env={"PATH": os.path.dirname(sys.executable)},
    )
    by_name = {c["id"].split("::")[1].split("[")[0]: c for c in summary["checks"]}
    assert (
        by_name["check_rules_valid"]["message"]
        == "not configured: promtool is not installed (apt-get install prometheus)"
    )
    # coverage needs no promtool
    assert by_name["check_every_alert_has_a_test"]["outcome"] == "passed"
    assert done.returncode == 0
