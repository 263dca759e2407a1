"""The pytest plugin end to end, through pytester: selection, skips, safety, exit codes, the
record."""

import json

import pytest

from nbaverify.plugins import fixtures

CHECKS = """
import pytest

pytestmark = [pytest.mark.area("api")]

@pytest.mark.gate
@pytest.mark.severity("critical")
@pytest.mark.runbook("System Monitoring / Health Checks / API Health")
def check_needs_api(api):
    assert False, "never runs without an api section"

@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Security Best Practices / Authentication & Authorization / Rate Limiting")
@pytest.mark.safety("disruptive")
def check_disruptive():
    pass

@pytest.mark.gate
@pytest.mark.severity("{severity}")
@pytest.mark.runbook("Troubleshooting")
def check_fails(evidence):
    evidence["seen"] = 42
    assert {outcome}, "expected 1 replica, saw 0 (pg_stat_replication)"
"""


@pytest.fixture
def suite(pytester):
    pytester.makeini("[pytest]\npython_functions = check_*\n")

    def make(environment="staging", severity="critical", outcome="False", extra=""):
        pytester.makefile(".toml", target=f'name = "t"\nenvironment = "{environment}"\n{extra}')
        pytester.makepyfile(test_checks=CHECKS.format(severity=severity, outcome=outcome))
        return pytester

    return make


def run(pytester, *args, subprocess=False):
    runner = pytester.runpytest_subprocess if subprocess else pytester.runpytest
    result = runner(
        "-p",
        "nbaverify.plugin",
        "-p",
        "no:locust",
        "--target",
        "target.toml",
        "--report-dir",
        "out",
        *args,
    )
    record = pytester.path / "out" / "summary.json"
    summary = json.loads(record.read_text()) if record.exists() else None
    return result, summary


def by_name(summary):
    return {c["id"].split("::")[1]: c for c in summary["checks"]}


def test_a_critical_failure_exits_1_and_is_recorded_in_one_line(suite):
    result, summary = run(suite())
    assert result.ret == 1
    checks = by_name(summary)
    assert checks["check_fails"]["outcome"] == "failed"
    assert checks["check_fails"]["message"] == "expected 1 replica, saw 0 (pg_stat_replication)"
    assert checks["check_fails"]["evidence"] == {"seen": 42}
    assert checks["check_needs_api"] == {
        **checks["check_needs_api"],
        "outcome": "skipped",
        "message": "not configured: api",
    }
    assert summary["totals"] == {"passed": 1, "failed": 1, "error": 0, "skipped": 1, "waived": 0}
    assert {"junit.xml", "summary.md"} <= {p.name for p in (suite().path / "out").iterdir()}
    out = result.stdout.str()
    for line in (
        (
            "FAILED [critical] test_checks.py::check_fails: expected 1 replica, saw 0"
            " (pg_stat_replication)"
        ),
        "skipped: not configured: api",
        "NBAVERIFY CRITICAL - 1 passed, 1 failed, 1 skipped",
    ):
        assert line in out


def test_a_warning_failure_does_not_fail_the_run(suite):
    result, summary = run(suite(severity="warning"))
    assert result.ret == 0 and summary["totals"]["failed"] == 1


def test_fail_on_warning_makes_a_warning_fail_the_run(suite):
    result, summary = run(suite(severity="warning"), "--fail-on", "warning")
    assert result.ret == 1 and summary["fail_on"] == "warning" and summary["exit_code"] == 1


def test_tier_selects_by_cadence_marker(suite):
    result, summary = run(suite(outcome="True"), "--tier", "daily")
    assert result.ret == 0 and list(by_name(summary)) == ["check_disruptive"]
    assert summary["tier"] == "daily"


def test_production_runs_only_readonly_checks_unless_allowed(suite):
    _, summary = run(suite(environment="production", outcome="True"))
    assert by_name(summary)["check_disruptive"]["outcome"] == "skipped"
    assert "--allow disruptive" in by_name(summary)["check_disruptive"]["message"]
    _, summary = run(suite(environment="production", outcome="True"), "--allow", "disruptive")
    assert by_name(summary)["check_disruptive"]["outcome"] == "passed"


def test_a_bad_profile_exits_2_before_any_check(suite):
    pytester = suite(extra="[api]\nbase_url = 1\n")
    # pytest.exit at configure needs a real process
    result, summary = run(pytester, subprocess=True)
    assert result.ret == 2 and summary is None
    assert "api.base_url" in result.stdout.str() + result.stderr.str()


def test_a_check_without_its_markers_is_refused(pytester):
    pytester.makeini("[pytest]\npython_functions = check_*\n")
    pytester.makefile(".toml", target='name = "t"\nenvironment = "staging"\n')
    pytester.makepyfile(test_bare="def check_bare():\n    assert True, 'x'\n")
    result, _ = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*check_bare: @pytest.mark.area(...) is missing*"])


def test_self_tests_are_left_alone(pytester):
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest("-p", "nbaverify.plugin", "-p", "no:locust")
    assert result.ret == 0 and not (pytester.path / "reports").exists()


def test_each_output_is_a_reporter_registered_only_when_wanted(suite):
    pytester = suite()
    pytester.makeconftest("""
def pytest_sessionfinish(session):
    names = [n for n, _ in session.config.pluginmanager.list_name_plugin()
             if n and n.startswith("nbaverify-")]
    (session.config.rootpath / "reporters.txt").write_text(" ".join(sorted(names)))
""")
    run(pytester)
    assert (
        pytester.path / "reporters.txt"
    ).read_text() == "nbaverify-evidence nbaverify-run-history nbaverify-sarif nbaverify-summary"
    assert not (pytester.path / "run.prom").exists()
    _, summary = run(pytester, "--metrics-file", "run.prom")
    assert "nbaverify-metrics-file" in (pytester.path / "reporters.txt").read_text()
    assert (
        "nbaverify_run_status" in (pytester.path / "run.prom").read_text() and summary is not None
    )
    assert {p.name for p in (pytester.path / "out").iterdir()} >= {
        "summary.json",
        "junit.xml",
        "summary.md",
        "report.html",
        "summary.sarif",
        "evidence.json",
    }


def test_every_report_is_written_to_the_default_folder_whatever_order_the_reporters_run(suite):
    """No --report-dir: the run's folder under reports/ is made before any reporter writes (pluggy
    calls them last registered first, so evidence.json came before the folder existed, and a
    collect-only run crashed).
    """
    pytester = suite(outcome="True")
    for extra in ((), ("--collect-only",)):
        result = pytester.runpytest(
            "-p", "nbaverify.plugin", "-p", "no:locust", "--target", "target.toml", *extra
        )
        assert result.ret == 0, result.stdout.str()[-800:]
    folders = [p for p in (pytester.path / "reports").iterdir() if p.is_dir()]
    assert len(folders) == 2 and all(
        (f / "evidence.json").exists() and (f / "summary.json").exists() for f in folders
    )


EARLY = """
import pytest

pytestmark = [pytest.mark.area("monitoring")]
calls = []


def start_early(session):
    calls.append(sorted(item.name for item in session.items))


@pytest.mark.gate
@pytest.mark.severity("warning")
@pytest.mark.runbook("Troubleshooting")
def check_started_before_any_check():
    assert calls == [["check_started_before_any_check"]], calls


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Troubleshooting")
def check_of_another_tier():
    pass
"""

NOT_SELECTED = EARLY.replace("@pytest.mark.gate", "@pytest.mark.weekly").replace(
    "calls.append", "raise AssertionError('called for a module with no selected check') #"
)


def test_a_module_starts_its_slow_work_once_the_selection_is_known(pytester):
    """start_early(session) runs once, before any check, with the selected checks only; a module
    none of whose checks is selected is not asked."""
    pytester.makeini("[pytest]\npython_functions = check_*\n")
    pytester.makefile(".toml", target='name = "t"\nenvironment = "staging"\n')
    pytester.makepyfile(test_early=EARLY, test_not_selected=NOT_SELECTED)
    result, summary = run(pytester, "--tier", "gate")
    assert result.ret == 0, result.stdout.str()
    assert [c["outcome"] for c in summary["checks"]] == ["passed"]


ORDERED = """
import pytest

pytestmark = [pytest.mark.area("monitoring")]
{start}

@pytest.mark.gate
@pytest.mark.severity("warning")
@pytest.mark.runbook("Troubleshooting")
def check_{name}():
    pass


@pytest.mark.gate
@pytest.mark.severity("warning")
@pytest.mark.runbook("Troubleshooting")
@pytest.mark.safety("disruptive")
def check_{name}_disruptive():
    pass
"""


def test_a_module_that_starts_early_runs_after_the_others_and_before_disruptive_checks(pytester):
    """Its background work has the other checks' time to finish; disruptive checks stay last."""
    pytester.makeini("[pytest]\npython_functions = check_*\n")
    pytester.makefile(".toml", target='name = "t"\nenvironment = "staging"\n')
    pytester.makepyfile(
        test_a_early=ORDERED.format(start="def start_early(session):\n    pass\n", name="early"),
        test_b_plain=ORDERED.format(start="", name="plain"),
    )
    result, summary = run(pytester, "--tier", "gate", "--allow", "disruptive")
    assert result.ret == 0, result.stdout.str()
    assert [c["id"].split("::")[-1] for c in summary["checks"]] == [
        "check_plain",
        "check_early",
        "check_plain_disruptive",
        "check_early_disruptive",
    ]


OPENED_EARLY = """
import pytest

from nbaverify.plugins.fixtures import {key}
{start}
pytestmark = [pytest.mark.area("{area}")]


@pytest.mark.gate
@pytest.mark.severity("critical")
@pytest.mark.runbook("Troubleshooting")
def check_reads_it({fixtures}, request):
    early = request.session.stash.get({key}, None)
{body}
"""

CLUSTER = OPENED_EARLY.format(
    key="KUBERNETES_EARLY",
    start="{start}",
    area="kubernetes",
    fixtures="k8s",
    body="""    assert early is None or (early[0] is k8s and early[1].done()), early
    k8s.list("Deployment", "nba-stats")""",
)

UNUSABLE_CLUSTER = """
[kubernetes]
source = "cluster"
context = "nowhere"
kubeconfig = "kubeconfig.yaml"
namespace = "nba-stats"
"""


@pytest.mark.parametrize("early", [True, False], ids=["started early", "opened by the fixture"])
def test_the_cluster_opened_early_is_the_checks_and_fails_them_as_before(pytester, early):
    """The k8s fixture takes over the source start_kubernetes opened, once its background reading is
    done; what failed there fails the check that asks, with the message it has without it."""
    pytester.makeini("[pytest]\npython_functions = check_*\n")
    pytester.makefile(".toml", target=f'name = "t"\nenvironment = "staging"\n{UNUSABLE_CLUSTER}')
    # a kubeconfig without that context
    pytester.makefile(".yaml", kubeconfig="apiVersion: v1\nkind: Config\ncontexts: []\n")
    start = (
        "from nbaverify.checking import start_kubernetes\n\nstart_early = start_kubernetes\n"
        if early
        else ""
    )
    pytester.makepyfile(test_cluster=CLUSTER.format(start=start))
    result, summary = run(pytester, "--tier", "gate")
    [check] = summary["checks"]
    assert check["outcome"] == "error", result.stdout.str()  # the suite could not read, said so
    assert "kubernetes: cannot use context 'nowhere' of " in check["message"], check


HOSTS = OPENED_EARLY.format(
    key="HOSTS_EARLY",
    start="{start}",
    area="hosts",
    fixtures="host, host_url",
    body="""    assert not early or early[host_url].result() is host, early
    assert host.run("echo here").stdout.strip() == 'here'""",
)


@pytest.mark.parametrize("early", [True, False], ids=["started early", "opened by the fixture"])
def test_each_host_opened_early_is_the_checks_and_fails_them_as_before(
    pytester, monkeypatch, early
):
    """The host fixture hands over the host start_hosts opened (each host is opened once a run);
    one that cannot be opened fails its checks with the message it has without it."""
    opened: list[str] = []
    real = fixtures.hosts.open_host
    monkeypatch.setattr(
        fixtures.hosts, "open_host", lambda url, *args: opened.append(url) or real(url, *args)
    )
    pytester.makeini("[pytest]\npython_functions = check_*\n")
    # nothing listens on port 1: ssh is refused at once
    hosts = '[hosts]\nurls = ["local://", "ssh://nobody@127.0.0.1:1?timeout=5"]\n'
    pytester.makefile(".toml", target=f'name = "t"\nenvironment = "staging"\n{hosts}')
    start = "from nbaverify.checking import start_hosts\n\nstart_early = start_hosts\n"
    pytester.makepyfile(test_hosts=HOSTS.format(start=start if early else ""))
    result, summary = run(pytester, "--tier", "gate")
    local, remote = summary["checks"]
    assert local["outcome"] == "passed", result.stdout.str()
    assert remote["outcome"] == "error", result.stdout.str()
    assert "127.0.0.1" in remote["message"] and "refused" in remote["message"], remote
    # testinfra keeps one object a URL: it is the count of openings that tells
    assert sorted(opened) == ["local://", "ssh://nobody@127.0.0.1:1?timeout=5"]


def test_the_plugin_loads_where_warnings_are_errors(pytester):
    """Each part of the plugin is registered before another imports it, so pytest can rewrite its
    asserts: no warning, which a project whose warnings are errors refuses to start on."""
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    result = pytester.runpytest_subprocess("--collect-only", "-q")
    said = result.stdout.str() + result.stderr.str()
    assert "PytestAssertRewriteWarning" not in said, said
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED, said
