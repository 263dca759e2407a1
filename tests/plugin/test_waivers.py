"""Waivers end to end through pytester: waived, expired, run = false, scope, and a malformed
file."""

import datetime as dt
import json

import pytest

from tests.plugin.test_plugin import by_name, run

TODAY = dt.datetime.now(dt.UTC).date()
NEXT_MONTH, YESTERDAY = TODAY + dt.timedelta(days=30), TODAY - dt.timedelta(days=1)

CHECKS = """
import pytest

pytestmark = [pytest.mark.area("database"), pytest.mark.gate, pytest.mark.severity("critical"),
              pytest.mark.runbook("Performance Tuning / Database Optimization")]

@pytest.mark.parametrize("index", ["idx_player_stats", "idx_legacy"])
def check_index_used(index):
    assert index != "idx_legacy", f"index {index} on player_stats was never scanned"

def check_tables_vacuumed():
    assert False, "player_stats has 40% dead tuples; games has 30% dead tuples"

def check_slow():
    raise RuntimeError("should not run")
"""


@pytest.fixture
def waived(pytester):
    pytester.makeini("[pytest]\npython_functions = check_*\n")
    pytester.makefile(".toml", target='name = "t"\nenvironment = "staging"\n')
    pytester.makepyfile(test_checks=CHECKS)

    def make(*entries: str, subprocess=False):
        pytester.makefile(".toml", waivers="\n".join(entries))
        return run(pytester, "--waivers", "waivers.toml", subprocess=subprocess)

    return make


def waiver(check, expires=NEXT_MONTH, **extra):
    lines = [
        f'check = "{check}"',
        'justification = "dropped in release 4.2 (PLAT-311)"',
        'owner = "data-platform"',
        f"expires = {expires}",
    ] + [f"{k} = {v}" for k, v in extra.items()]
    return "[[waiver]]\n" + "\n".join(lines) + "\n"


def test_a_waived_failure_is_reported_as_waived_and_does_not_fail_the_run(waived):
    result, summary = waived(
        waiver("check_index_used", scope='"idx_legacy"'),
        waiver("check_slow", run="false"),
        waiver("test_checks.py::check_tables_vacuumed", scope='"player_stats"'),
    )
    assert result.ret == 0, result.stdout.str()
    checks = by_name(summary)
    assert checks["check_index_used[idx_legacy]"]["outcome"] == "waived"
    assert (
        "[waived: check_index_used [idx_legacy], owner data-platform"
        in checks["check_index_used[idx_legacy]"]["message"]
    )
    assert checks["check_index_used[idx_player_stats]"]["outcome"] == "passed"
    assert checks["check_slow"]["outcome"] == "waived" and checks["check_slow"][
        "message"
    ].startswith("not run: ")
    assert checks["check_tables_vacuumed"]["outcome"] == "waived"
    assert [w["state"] for w in summary["waivers"]] == ["in force"] * 3
    assert "WAIVED [critical] test_checks.py::check_index_used[idx_legacy]" in result.stdout.str()


def test_a_scope_waives_only_the_resource_it_names(waived):
    result, summary = waived(
        waiver("check_index_used", scope='"idx_player_stats"'),
        waiver("check_tables_vacuumed", scope='"teams"'),
    )
    assert result.ret == 1
    checks = by_name(summary)
    assert checks["check_index_used[idx_legacy]"]["outcome"] == "failed"
    assert checks["check_tables_vacuumed"]["outcome"] == "failed"


def test_an_expired_waiver_waives_nothing_and_fails_the_run(waived):
    result, summary = waived(
        waiver("check_index_used", expires=YESTERDAY),
        waiver("check_tables_vacuumed"),
        waiver("check_slow", run="false"),
    )
    assert result.ret == 1
    assert by_name(summary)["check_index_used[idx_legacy]"]["outcome"] == "failed"
    assert [w["state"] for w in summary["waivers"]] == ["expired", "in force", "in force"]
    out = result.stdout.str()
    assert f"EXPIRED waiver for check_index_used (owner data-platform, expired {YESTERDAY})" in out
    assert "NBAVERIFY CRITICAL" in out and "1 expired waiver(s)" in out


def test_an_expired_waiver_fails_the_run_even_when_the_check_passes(waived, pytester):
    result, summary = waived(
        waiver("check_index_used[idx_player_stats]", expires=YESTERDAY),
        waiver("check_index_used[idx_legacy]"),
        waiver("check_tables_vacuumed"),
        waiver("check_slow", run="false"),
    )
    assert result.ret == 1 and summary["exit_code"] == 1
    assert summary["totals"]["failed"] == 0
    junit = (pytester.path / "out" / "junit.xml").read_text()
    assert 'type="expired-waiver"' in junit  # a CI that reads only JUnit sees why the run failed


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        (
            '[[waiver]]\ncheck = "check_slow"\nowner = "x"\nexpires = 2027-01-01\n',
            "waiver 1 (check_slow) justification",
        ),
        (
            waiver("check_slow")
            + '[[waiver]]\ncheck = "check_x"\njustification = "j"\nowner = "o"\nexpires = "soon"\n',
            "waiver 2 (check_x) expires",
        ),
        (waiver("check_slow", until="2027-01-01"), "waiver 1 (check_slow) until"),
        ("[waiver]\ncheck = 1\n", "waiver"),
        ("[[waiver]\n", "not valid TOML"),
    ],
)
def test_a_malformed_waivers_file_stops_the_run_before_any_check_naming_the_entry(
    waived, entry, named
):
    result, summary = waived(entry, subprocess=True)  # pytest.exit at configure ends the process
    assert result.ret == 2
    assert summary is None  # nothing ran, nothing recorded
    assert named in result.stdout.str() + result.stderr.str()


def test_what_nbaverify_check_loaded_is_used_and_not_loaded_again(pytester):
    """The CLI hands its target and waivers to the plugin: the files it read are gone by the time
    pytest starts, and the run still has both (a plugin that loaded them again would stop, naming
    the missing file)."""
    from nbaverify import waivers
    from nbaverify.config import load_target
    from nbaverify.plugins.handoff import Handoff

    pytester.makeini("[pytest]\npython_functions = check_*\n")
    pytester.makepyfile(test_checks=CHECKS)
    profile = pytester.makefile(".toml", target='name = "handed"\nenvironment = "staging"\n')
    accepted = pytester.makefile(
        ".toml", waivers=waiver("check_tables_vacuumed") + waiver("check_slow", run="false")
    )
    handoff = Handoff(load_target(str(profile)), tuple(waivers.load(accepted)))
    profile.unlink()
    accepted.unlink()
    result = pytester.runpytest(
        "-p",
        "nbaverify.plugin",
        "-p",
        "no:locust",
        "--target",
        str(profile),
        "--waivers",
        str(accepted),
        "--report-dir",
        "out",
        plugins=[handoff],
    )
    summary = json.loads((pytester.path / "out" / "summary.json").read_text())
    assert summary["target"] == "handed", result.stdout.str()
    checks = by_name(summary)
    assert (
        checks["check_tables_vacuumed"]["outcome"] == "waived"
        and checks["check_slow"]["outcome"] == "waived"
    )
