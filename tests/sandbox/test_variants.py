"""Healthy variants read healthy: every fixed variant (nbaverify.sandbox.variants), on both
reference APIs, passes `check all --allow disruptive` but for the warnings that say a practice
beyond the guide is absent, which the variant declares and which must say exactly that. A check that
fails here reads the default sandbox's habits, not the guide.
"""

from __future__ import annotations

import pytest

from nbaverify.sandbox import variants

APIS = ["python", "node"]
# what a healthy variant may skip, and why: what the sandbox does not run, or what its choices leave
# out
SKIPS = (
    "not configured: grafana",
    "not configured: expectations.",
    "not clustered: the Alertmanager runs without gossip",
    "does not apply: Prometheus loads no always-firing alert",
    "archive_mode is off on ",
    "cannot test here: this machine's OpenSSL",
    # tests/sandbox/test_load.py makes one and proves that check both ways
    "no load run on record: ",
    # a variant that signs with a key pair (jwt_alg) has no shared secret to judge, guess or retire
    "does not apply: the platform signs with ",
    "does not apply: the platform's ES256 key signs no other",
)
ABSENT = {  # the words each absent-practice warning must say
    "checks/test_alerting.py::check_watchdog_rule_present": "loads no always-firing alert",
    "checks/test_database_backups.py::check_wal_archiving_enabled": "archive_mode is off on",
}


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("name", list(variants.VARIANTS))
def test_each_variant_reads_healthy(sandbox, nbaverify, name, api):
    variant = variants.VARIANTS[name]
    sandbox.up([], api=api, variant=name)
    sandbox.fresh_history()
    result = nbaverify("check", "all", "--allow", "disruptive")
    assert result.summary is not None, result.err
    outcomes = result.outcomes()
    assert set(result.not_passing()) == set(variant.expects), result.out
    for check in variant.expects:
        assert (
            outcomes[check]["severity"] == "warning" and ABSENT[check] in outcomes[check]["message"]
        ), outcomes[check]
    skipped = {cid: c["message"] for cid, c in outcomes.items() if c["outcome"] == "skipped"}
    assert all(reason.startswith(SKIPS) for reason in skipped.values()), skipped
    assert result.code == 0


def test_a_counter_exported_but_not_yet_counted_is_not_missing(sandbox, nbaverify):
    """Right after a deploy whose cache counters carry a route label, nothing has counted yet: the
    counters are declared (# TYPE) and have no series; the metric checks say so in their evidence
    and pass."""
    sandbox.up([], variant="fresh-load")
    sandbox.stop_users()  # a deploy before its users arrive: their reads would count
    sandbox.restart_api()
    sandbox.prometheus.wait_scraped()
    result = nbaverify(
        "check",
        "all",
        "--",
        "checks/test_monitoring_prometheus.py::check_queried_series_exist",
        "checks/test_monitoring_dashboards.py::check_dashboard_queries",
    )
    assert result.not_passing() == {}, result.out
    evidence = result.outcomes()[
        "checks/test_monitoring_prometheus.py::check_queried_series_exist"
    ]["evidence"]
    assert {"cache_hits_total", "cache_misses_total"} <= set(evidence["declared_without_series"])


def test_a_bulk_load_is_given_autovacuum_s_round(sandbox, nbaverify):
    """A table loaded just now (autovacuum on) is past autovacuum's trigger with no VACUUM on
    record: the check gives the launcher its round (one autovacuum_naptime, when it has not come
    yet), which takes it, and passes.
    """
    sandbox.up([], variant="fresh-load")
    result = nbaverify(
        "check", "all", "--", "checks/test_database_maintenance.py::check_vacuum_and_analyze_recent"
    )
    assert result.not_passing() == {}, result.out
    check = result.outcomes()[
        "checks/test_database_maintenance.py::check_vacuum_and_analyze_recent"
    ]
    assert "public.box_score_archive" in check["evidence"]


@pytest.mark.long
def test_the_users_mix_from_the_access_log_agrees_with_prometheus(sandbox, nbaverify, tmp_path):
    """A platform that writes a line a request (the renamed variant's access log, combined format):
    the users' mix read from that log, as `nbaverify load --mix observed` reads it where Prometheus
    does not count by route, is the mix Prometheus counts over the same two minutes, within a few
    percent of requests."""
    import json
    import re
    import time

    from nbaverify.loadtest import observed

    sandbox.up([], api="node", variant="renamed")
    sandbox.fresh_history()
    time.sleep(135)  # two minutes of the users' requests alone (60 of them), scraped
    profile = sandbox.layout.target_file.read_text()
    section = '[expectations.load.observed]\nwindow = "1h"\n'
    assert section in profile
    two_minutes = profile.replace(section, '[expectations.load.observed]\nwindow = "2m"\n')
    without_prometheus = re.sub(r"\n\[prometheus\]\nurl = [^\n]*\n", "\n", two_minutes)
    assert "[prometheus]" not in without_prometheus
    plans = {}
    for name, text in (("prometheus", two_minutes), ("log", without_prometheus)):
        (tmp_path / f"{name}.toml").write_text(text)
        planned = nbaverify(
            "load",
            "--target",
            str(tmp_path / f"{name}.toml"),
            "--mix",
            "observed",
            "--plan-only",
            "--report-dir",
            str(tmp_path / name),
            env=sandbox.environ(),
        )
        assert planned.code == 0, planned.out + planned.err
        plans[name] = json.loads((tmp_path / name / "config.json").read_text())["weights"]
    assert "mix (observed)" in planned.out
    assert set(plans["log"]) >= {
        "players",
        "player",
        "player_stats",
        "projections",
        "game_stats",
    }, plans
    from_log = observed.ObservedMix({key: weight / 100 for key, weight in plans["log"].items()})
    assert observed.distance(plans["prometheus"], from_log) <= 0.05, plans
