"""Rule: promtool's test groups run together, one process per set of rule files, and a group's
result is the same as when it runs alone: a failing group is named, its neighbours still pass."""

import copy
import dataclasses

import pytest

from nbaverify.probes import monitoring
from nbaverify.shipped import MONITORING

RULES = MONITORING / "rules"
TESTS = MONITORING / "tests"

pytestmark = pytest.mark.skipif(monitoring.promtool() is None, reason="promtool is not installed")


@pytest.fixture
def runs(monkeypatch):
    """How many promtool processes ran, and with how many groups each."""
    seen: list[int] = []
    real = monitoring._promtool_test

    def counted(files, groups, interval):
        seen.append(len(groups))
        return real(files, groups, interval)

    monkeypatch.setattr(monitoring, "_promtool_test", counted)
    return seen


def test_healthy_groups_take_one_process(runs):
    tests = monitoring.rule_tests(TESTS)
    assert len(tests) > 2
    results = monitoring.run_rule_tests(tests, RULES)
    assert [ok for ok, _ in results] == [True] * len(tests)
    assert runs == [len(tests)]


def test_a_failing_group_is_named_and_its_neighbours_pass(runs):
    tests = monitoring.rule_tests(TESTS)
    broken_group = copy.deepcopy(tests[1].group)
    for case in broken_group["alert_rule_test"]:
        case["exp_alerts"] = [{"exp_labels": {"severity": "nonexistent"}}]
    tests[1] = dataclasses.replace(tests[1], group=broken_group)
    results = monitoring.run_rule_tests(tests, RULES)
    assert [ok for ok, _ in results] == [True, False] + [True] * (len(tests) - 2)
    assert "nonexistent" in results[1][1]
    assert runs == [len(tests)] + [1] * len(tests)


def test_a_group_without_its_rule_file_fails_without_a_run(runs):
    (first, *_) = monitoring.rule_tests(TESTS)
    alone = dataclasses.replace(first, rule_files=["gone.yml"])
    ((ok, said),) = monitoring.run_rule_tests([alone], RULES)
    assert not ok and "gone.yml" in said and "would run against none" in said
    assert runs == []
