"""The nbaverify pytest plugin: options, markers, the client fixtures, and the run record.

Registered by a pytest11 entry point wherever nbaverify is installed (and by the checkout's root
conftest.py), so `pytest --target T -m gate --pyargs nbaverify_checks` and `nbaverify check gate`
are the same run. It does nothing to a session that collects no check (the self-tests).

Fixtures a check may ask for:
    target    the resolved Target (profile + expectations + secrets)
    expect    the expectations, read by dotted key: expect["api.slow_response_ms"]
    api       ApiClient for the profile's [api]               (skips: "not configured: api")
    db        Database for the primary, read-only             (skips: "not configured: database")
    replica   Database for the replica, read-only             (skips: "not configured:
    database.replica_dsn_env") prom      Prometheus HTTP API client                       (skips:
    "not configured: prometheus") grafana   Grafana's HTTP API (the dashboards)              (skips:
    "not configured: grafana") k8s       the Kubernetes objects: manifests or a live cluster (skips:
    "not configured: kubernetes") host      a testinfra host, one case per profile hosts URL
    (skips: "not configured: hosts"); host_url names it read_source  the replica when configured,
    else the primary: for full-table reads history   values remembered from the previous run against
    the target (History.exchange) evidence  a dict whose contents go into the check's record in
    summary.json
"""

from __future__ import annotations

import pytest

# the plugin's parts, registered with it (pytest imports a registered module's pytest_plugins)
pytest_plugins = [
    "nbaverify.plugins.options",
    "nbaverify.plugins.specs",
    "nbaverify.plugins.record",
    # before selection, which imports it: a module imported before it is registered cannot have its
    # asserts rewritten, and pytest warns (an error where warnings are errors)
    "nbaverify.plugins.early",
    "nbaverify.plugins.selection",
    "nbaverify.plugins.fixtures",
]


# pytest plugins of other packages that must not take part in a verification run, wherever it is
# installed: Locust's (importing it after urllib3 crashes with RecursionError) and testinfra's (its
# `host` fixture would shadow the one that takes the profile's hosts)
GUARDED_PLUGINS = ("locust", "pytest11.testinfra")


def pytest_plugin_registered(plugin, manager: pytest.PytestPluginManager) -> None:
    # historic: called for every plugin registered before us too, so the first call blocks them in
    # time
    for name in GUARDED_PLUGINS:
        if not manager.is_blocked(name):
            # unregisters it if it came first; otherwise it is never loaded
            manager.set_blocked(name)
