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
    directory = monitoring.resolve(expect["monitoring.dashboards_dir"])
    found = monitoring.dashboards(directory)
    missing = [title for title in expect["monitoring.dashboards"] if title not in found]
    assert not missing, f"dashboard(s) {', '.join(missing)} not in {directory} (found: {', '.join(found) or 'none'})"


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(DASHBOARDS)
def check_dashboards_in_grafana(grafana, expect):
    titles = grafana.dashboard_titles()
    missing = [title for title in expect["monitoring.dashboards"] if title not in titles]
    assert not missing, f"Grafana {grafana.url} lacks dashboard(s) {', '.join(missing)} (it has {len(titles)})"


@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook(DASHBOARDS)
def check_dashboard_queries(prom, expect, dashboard, evidence):
    """A panel is broken when its query does not parse or reads a metric no target exports (no series, no # TYPE).

    An empty result alone is not: a "5xx share" panel on a platform with no 5xx, or a rate over a
    history younger than its window, returns nothing and is healthy.
    """
    panels = monitoring.dashboards(monitoring.resolve(expect["monitoring.dashboards_dir"])).get(dashboard)
    if panels is None:
        pytest.skip(f"dashboard '{dashboard}' is not in the dashboards directory (see check_expected_dashboards_exist)")
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
            if name not in has_series:  # a series, or at least a target that declares it (nothing counted yet)
                has_series[name] = bool(prom.query(f"count({name})")) or prom.declared(name)
        missing = [name for name in sorted(monitoring.metric_names(panel.expr) - absent_ok) if not has_series[name]]
        if missing:
            broken.append(f"'{panel.title}' reads {', '.join(missing)}, which no target exports (no series, no # TYPE) "
                          f"({panel.expr})")
        else:
            evidence[panel.title] = "no data: its metrics exist, nothing they count happened in the window"
    assert not broken, f"dashboard '{dashboard}' against {prom.url}: {'; '.join(broken)}"
