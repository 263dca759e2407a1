"""Dashboards: the five the guide names exist, and every panel's query returns data.

Guide: System Monitoring / Monitoring Tools / Grafana Dashboards.
"""

import pytest

from nbaverify.checking import parametrize_from
from nbaverify.errors import PromQLError
from nbaverify.probes import monitoring

pytestmark = [pytest.mark.area("monitoring")]

DASHBOARDS = "System Monitoring / Monitoring Tools / Grafana Dashboards"


def pytest_generate_tests(metafunc):
    parametrize_from(metafunc, "dashboard", "monitoring.dashboards")


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(DASHBOARDS)
def check_expected_dashboards_exist(expect):
    """The five dashboards the guide names are among the platform's dashboards.

    The titles are `monitoring.dashboards`: NBA Stats Overview, API Performance, Database Health,
    Cache Performance and Infrastructure Status, found in the Grafana JSON files of
    `monitoring.dashboards_dir` (a file's name stands for a title it lacks).

    When it fails: Add the missing dashboard's Grafana JSON (exported from Grafana) to
    `monitoring.dashboards_dir`, its `title` the guide's name; if the team keeps its dashboards
    elsewhere, set `monitoring.dashboards_dir` in the profile's `[expectations]`.
    """
    directory = monitoring.resolve(expect["monitoring.dashboards_dir"])
    found = monitoring.dashboards(directory)
    missing = [title for title in expect["monitoring.dashboards"] if title not in found]
    assert not missing, (
        f"dashboard(s) {', '.join(missing)} not in {directory}"
        f" (found: {', '.join(found) or 'none'})"
    )


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(DASHBOARDS)
def check_dashboards_in_grafana(grafana, expect):
    """The five dashboards the guide names exist in Grafana.

    The titles are `monitoring.dashboards`: NBA Stats Overview, API Performance, Database Health,
    Cache Performance and Infrastructure Status, looked up with Grafana's `/api/search`. Only when
    the profile has a `[grafana]` section (`url`, `token_env`); without it the check skips, `not
    configured: grafana`.

    When it fails: Search Grafana for the title (`/api/search?query=TITLE`, with the profile's
    token): a renamed dashboard or one in a folder the token cannot see looks missing. Import the
    JSON from `monitoring.dashboards_dir` where it is really gone.
    """
    titles = grafana.dashboard_titles()
    missing = [title for title in expect["monitoring.dashboards"] if title not in titles]
    assert not missing, (
        f"Grafana {grafana.url} lacks dashboard(s) {', '.join(missing)} (it has {len(titles)})"
    )


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(DASHBOARDS, "System Monitoring / Metrics Collection / Infrastructure Metrics")
def check_dashboard_queries(prom, expect, dashboard, evidence):
    """Each panel's PromQL parses, and every metric a panel reads is exported by some target.

    One case per dashboard of `monitoring.dashboards`, its panels read from
    `monitoring.dashboards_dir`. A panel is broken when its query does not parse, or when it returns
    nothing and reads a metric no target exports (no series, no `# TYPE`); metrics of
    `monitoring.absent_ok` are not asked for. An empty result alone is healthy: a "5xx share" panel
    on a platform with no 5xx, or a rate over a history younger than its window, returns nothing.
    Skipped when the dashboard is not in the directory (`check_expected_dashboards_exist` says so).

    When it fails: Run the panel's query quoted in the message in Prometheus (`/graph`) and compare
    the metric's name with the exporter's `/metrics`; fix the panel or the scrape. A metric this
    platform knowingly lacks goes into `monitoring.absent_ok`, with why, in the profile's
    `[expectations]`.
    """
    panels = monitoring.dashboards(monitoring.resolve(expect["monitoring.dashboards_dir"])).get(
        dashboard
    )
    if panels is None:
        pytest.skip(
            f"dashboard '{dashboard}' is not in the dashboards directory (see"
            " check_expected_dashboards_exist)"
        )
    absent_ok = set(expect["monitoring.absent_ok"])
    broken, has_series = [], {}
    for panel in panels:
        try:
            result = prom.query(panel.expr)
        except PromQLError as exc:
            broken.append(f"'{panel.title}' does not parse ({exc})")
            continue
        evidence[panel.title] = len(result)
        if result:
            continue
        for name in sorted(monitoring.metric_names(panel.expr) - absent_ok):
            if name not in has_series:
                # a series, or at least a target that declares it (nothing counted yet)
                has_series[name] = bool(prom.query(f"count({name})")) or prom.declared(name)
        missing = [
            name
            for name in sorted(monitoring.metric_names(panel.expr) - absent_ok)
            if not has_series[name]
        ]
        if missing:
            broken.append(
                f"'{panel.title}' reads {', '.join(missing)}, which no target exports (no series,"
                f" no # TYPE) ({panel.expr})"
            )
        else:
            evidence[panel.title] = (
                "no data: its metrics exist, nothing they count happened in the window"
            )
    assert not broken, f"dashboard '{dashboard}' against {prom.url}: {'; '.join(broken)}"
