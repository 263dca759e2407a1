"""Alert rules, offline: promtool validates them and runs their unit tests; every alert has a test.

Guide: System Monitoring / Monitoring Tools / Alert Configuration.
"""

from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from nbaverify.checking import expectations_at_collection
from nbaverify.probes import monitoring

pytestmark = [pytest.mark.area("monitoring")]

ALERTS = "System Monitoring / Monitoring Tools / Alert Configuration"


def pytest_generate_tests(metafunc):
    if "rule_test" in metafunc.fixturenames:
        expect = expectations_at_collection(metafunc.config)
        tests = monitoring.rule_tests(monitoring.resolve(expect["monitoring.rule_tests_dir"]))
        metafunc.parametrize("rule_test", tests, ids=[t.name for t in tests])


@pytest.fixture(scope="module")
def promtool():
    if monitoring.promtool() is None:
        pytest.skip("not configured: promtool is not installed (apt-get install prometheus)")


# the rule tests' run, started when the selection is known: (the tests, their results to come)
EARLY = pytest.StashKey[tuple[list, Future]]()


def selected_rule_tests(session: pytest.Session) -> list:
    return [
        item.callspec.params["rule_test"]
        for item in session.items
        if getattr(item, "originalname", None) == "check_rule_test"
    ]


def start_early(session: pytest.Session) -> None:
    """promtool works in the background from here (~0.2 s a run), beside the checks before these;
    called by the plugin once collection is over (nbaverify.plugins.early)."""
    tests = selected_rule_tests(session)
    if not tests or monitoring.promtool() is None:
        return
    expect = expectations_at_collection(session.config)
    rules_dir = monitoring.resolve(expect["monitoring.rules_dir"])
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="promtool")
    session.stash[EARLY] = (tests, pool.submit(monitoring.run_rule_tests, tests, rules_dir))
    pool.shutdown(wait=False)  # its one thread ends with its one task


@pytest.fixture(scope="module")
def rule_test_results(promtool, request):
    """Every selected test group's result, by the group: run together (one promtool process per set
    of rule files, each group alone only where that fails), so a run pays for one process, not one
    a group; started by start_early, or here where the plugin did not."""
    if EARLY not in request.session.stash:
        start_early(request.session)
    tests, future = request.session.stash[EARLY]
    results = future.result(timeout=600)
    return {id(test): result for test, result in zip(tests, results, strict=True)}


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(ALERTS)
def check_rules_valid(promtool, expect):
    """`promtool check rules` accepts the deployed rule files.

    Every `*.yml` and `*.yaml` file of `monitoring.rules_dir` (the shipped `monitoring/rules` by
    default); a directory without rule files fails. Skipped when promtool is not installed.

    When it fails: Run `promtool check rules FILE` on the rule files of `monitoring.rules_dir` and
    fix what it reports before they are deployed: Prometheus will not load an invalid rule file, and
    keeps its old rules on reload.
    """
    directory = monitoring.resolve(expect["monitoring.rules_dir"])
    files = monitoring.rule_files(directory)
    assert files, f"no rule files (*.yml) in {directory}"
    ok, output = monitoring.check_rules(files)
    assert ok, f"promtool check rules rejects {directory}: {output}"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook(ALERTS, "Troubleshooting / Common Issues / Infrastructure Issues")
def check_rule_test(promtool, expect, rule_test, rule_test_results):
    """Each promtool unit-test group of the platform passes against the deployed rules.

    One result per test group of `monitoring.rule_tests_dir`, run against `monitoring.rules_dir`,
    with promtool's own failure text in the message. Skipped when promtool is not installed.

    When it fails: Run `promtool test rules FILE` on the test file named and read its expected and
    got alerts; fix the rule, or the test if the rule changed on purpose.
    """
    rules_dir = monitoring.resolve(expect["monitoring.rules_dir"])
    ok, output = rule_test_results[id(rule_test)]
    assert ok, (
        f"promtool test '{rule_test.name}' ({rule_test.source.name}) fails on the rules in"
        f" {rules_dir}: {output}"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(ALERTS)
def check_every_alert_has_a_test(expect):
    """Every alert rule of the deployed rule files has at least one promtool unit test.

    Rule coverage: an alert of `monitoring.rules_dir` that no test of `monitoring.rule_tests_dir`
    names may never fire.

    When it fails: Add a promtool unit test (an `alert_rule_test` entry with input series that make
    it fire) for each alert named to `monitoring.rule_tests_dir`, and run `promtool test rules` on
    it.
    """
    rules = monitoring.alerting_rules(monitoring.resolve(expect["monitoring.rules_dir"]))
    tested = set().union(
        *(
            t.alertnames()
            for t in monitoring.rule_tests(monitoring.resolve(expect["monitoring.rule_tests_dir"]))
        )
    )
    untested = sorted({r["alert"] for r in rules} - tested)
    assert not untested, (
        f"alert(s) without a promtool unit test: {', '.join(untested)} (tests in"
        f" {expect['monitoring.rule_tests_dir']}); an untested alert may never fire"
    )
