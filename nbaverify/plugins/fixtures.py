"""The fixtures a check may ask for: the target, its expectations, and one client per part of it.
Each client is a session fixture that skips with "not configured: <key>" when the profile lacks it.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from nbaverify.check_memory import History
from nbaverify.clients import Database, factory, hosts
from nbaverify.clients.deliveries import DeliveryRecord
from nbaverify.clients.k8s import Source
from nbaverify.config import Target
from nbaverify.plugins.record import EVIDENCE, RUN
from nbaverify.probes import alerting, workloads
from nbaverify.probes.host_resources import label
from nbaverify.probes.logs import LogWindow


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Target:
    """The target the run verifies: its profile (where each part is) and its secrets."""
    run = request.config.stash[RUN]
    assert run.target is not None, "the target is loaded when checks are collected"
    return run.target


@pytest.fixture(scope="session")
def expect(target: Target):
    """The expectations: the guide's values, and the profile's own where it names them."""
    return target.expectations


@pytest.fixture(scope="session")
def api(request: pytest.FixtureRequest, target: Target, expect):
    """The API at [api] base_url, over HTTP(S) and its WebSocket, with tokens signed by the
    profile's secret."""
    if target.profile.api is None:
        pytest.skip("not configured: api")
    client = factory.api(
        target, redactor=request.config.stash[RUN].redactor, budget=expect["api.request_budget"]
    )
    yield client
    client.close()


def _database(target: Target, role: str) -> Database:
    key = factory.DSN_KEYS[role]
    if target.secret(key) is None:
        pytest.skip(
            f"not configured: {key.removesuffix('.dsn_env')}"
            if role == "primary"
            else f"not configured: {key}"
        )
    return factory.database(target, role)


@pytest.fixture(scope="session")
def db(target: Target, expect):
    """The primary database ([database] dsn_env), in a read-only session with statement and lock
    timeouts."""
    client = _database(target, "primary")
    yield client
    client.close()


@pytest.fixture(scope="session")
def replica(target: Target, expect):
    """The streaming replica ([database] replica_dsn_env), read-only like the primary."""
    client = _database(target, "replica")
    yield client
    client.close()


@pytest.fixture(scope="session")
def prom(target: Target, expect):
    """Prometheus at [prometheus] url: its HTTP API (queries, targets, rules, alerts, metadata)."""
    if target.profile.prometheus is None:
        pytest.skip("not configured: prometheus")
    client = factory.prometheus(target)
    client.wait_until_scraped(expect["monitoring.first_scrape_wait_s"])
    yield client
    client.close()


@pytest.fixture(scope="session")
def grafana(target: Target, expect):
    """Grafana at [grafana] url: its dashboard search API."""
    if target.profile.grafana is None:
        pytest.skip("not configured: grafana")
    client = factory.grafana(target)
    yield client
    client.close()


@pytest.fixture(scope="session")
def alertmanager_cluster(target: Target):
    """Every instance of the Alertmanager cluster: [alertmanager] url first, then its peers."""
    if target.profile.alertmanager is None:
        pytest.skip("not configured: alertmanager")
    instances = factory.alertmanagers(target)
    yield instances
    for instance in instances:
        instance.close()


@pytest.fixture(scope="session")
def alertmanager(alertmanager_cluster):
    """The live Alertmanager at [alertmanager] url: its v2 API (status, loaded configuration,
    alerts, silences)."""
    return alertmanager_cluster[0]


@pytest.fixture(scope="session")
def delivery_record(target: Target, expect):
    """The record of delivered notifications the profile names ([alertmanager] deliveries), else
    None."""
    section = target.profile.alertmanager
    if section is None or not section.deliveries:
        return None
    return DeliveryRecord(section.deliveries, target.source.parent, expect["api.timeout_s"])


@pytest.fixture(scope="session")
def alertmanager_config(target: Target) -> Path:
    """The Alertmanager configuration as deployed (the profile's [alertmanager] config_file), amtool
    at hand."""
    path = factory.alertmanager_config(target)
    if path is None:
        pytest.skip("not configured: alertmanager.config_file")
    if alerting.amtool() is None:
        pytest.skip("amtool is not installed here (apt-get install prometheus-alertmanager)")
    return path


@pytest.fixture(scope="session")
def k8s(target: Target, expect, request: pytest.FixtureRequest):
    """Kubernetes as [kubernetes] says: a live cluster through the API server, or a folder of
    manifests."""
    if target.profile.kubernetes is None:
        pytest.skip("not configured: kubernetes")
    early = request.session.stash.get(KUBERNETES_EARLY, None)
    if early is None:
        source = factory.kubernetes(target)
    else:
        source, warming = early
        warming.result()  # the source is the checks' alone from here
    yield source
    source.close()


def pytest_configure(config: pytest.Config) -> None:
    # requests (under the Kubernetes client's kubeconfig loader) notes at import that urllib3 lacks
    # PySocks; imported in the background by start_kubernetes, it would land on whichever check runs
    config.addinivalue_line("filterwarnings", "ignore:SOCKS support in urllib3:Warning")


# the run's Kubernetes source, opened once the selection is known, and its reading in the background
KUBERNETES_EARLY = pytest.StashKey[tuple[Source, Future]]()


def start_kubernetes(session: pytest.Session) -> None:
    """Open the run's Kubernetes source now (importing the official client) and, in the
    background, connect it (the kubeconfig, and its credential plugin if any) and read the
    pod-bearing lists of `kubernetes.namespaces`, while the checks before the cluster's wait on the
    platform; the k8s fixture takes it over once that is done. Once a run, for a check module's
    `start_early`. Whatever fails here is left for the check that asks: it fails there, with its
    own message."""
    if KUBERNETES_EARLY in session.stash:
        return
    target = session.config.stash[RUN].ensure_target()
    if target.profile.kubernetes is None:
        return
    try:
        source = factory.kubernetes(target)
    except Exception:  # noqa: BLE001 - the k8s fixture opens it again and says why
        return
    namespaces = target.expectations["kubernetes.namespaces"]
    try:
        source.load()  # here, not in the thread: see ClusterSource.load
    except Exception:  # noqa: BLE001 - as above
        return

    def warm() -> None:
        with contextlib.suppress(Exception):  # left for the check that asks, as above
            source.prefetch((kind, ns) for ns in namespaces for kind in workloads.POD_BEARING)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kubernetes")
    session.stash[KUBERNETES_EARLY] = (source, pool.submit(warm))
    pool.shutdown(wait=False)  # its one thread ends with its one task


@pytest.fixture(scope="session")
def api_logs(target: Target, expect, request: pytest.FixtureRequest):
    """The API's log over the longest review window (logs.window_h, access.window_h), read once a
    run from where [logs] says; a check narrows it to its own window with .last()."""
    section = target.profile.logs
    cluster = (
        request.getfixturevalue("k8s")
        if section is not None and section.source == "kubernetes"
        else None
    )
    sources, missing = factory.log_sources(target, cluster)
    if missing:
        pytest.skip(f"not configured: {missing}")
    # one read for the daily review and the monthly access review: the longer window, narrowed by
    # each check
    return LogWindow.read(sources, max(expect["logs.window_h"], expect["access.window_h"]) * 3600)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "host_url" in metafunc.fixturenames:  # one case per host of the profile, named by its URL
        hosts = metafunc.config.stash[RUN].ensure_target().profile.hosts
        urls = hosts.urls if hosts else [None]
        metafunc.parametrize(
            "host_url", urls, ids=[label(u) if u else "no-hosts" for u in urls], scope="session"
        )


@pytest.fixture(scope="session")
def host(host_url, expect, request: pytest.FixtureRequest):
    """A host of [hosts] urls, through testinfra (local://, ssh://user@host,
    kubectl://pod?namespace=n, ...), each command bounded by `hosts.command_timeout_s`."""
    if host_url is None:
        pytest.skip("not configured: hosts")
    early = request.session.stash.get(HOSTS_EARLY, {})
    if host_url in early:
        return early[host_url].result()
    return hosts.open_host(host_url, label(host_url), expect["hosts.command_timeout_s"])


# each host of the profile, opened once the selection is known: its URL -> the host to come
HOSTS_EARLY = pytest.StashKey[dict[str, Future]]()


def start_hosts(session: pytest.Session) -> None:
    """Open every host of [hosts] urls in the background (an ssh connection and testinfra's look at
    the system, some 0.1 s a host spent waiting), beside the checks before the hosts'; the host
    fixture hands the checks each host once it is open. Once a run, for a check module's
    `start_early`. A host that cannot be opened fails the check that asks, as it does without."""
    target = session.config.stash[RUN].ensure_target()
    profile_hosts = target.profile.hosts
    if HOSTS_EARLY in session.stash or profile_hosts is None or not profile_hosts.urls:
        return
    timeout_s = target.expectations["hosts.command_timeout_s"]

    def opened(url: str):
        found = hosts.open_host(url, label(url), timeout_s)
        with contextlib.suppress(Exception):  # a check that needs it asks again, and fails there
            found.system_info.type  # noqa: B018 - cached by testinfra for the modules that ask it
        return found

    pool = ThreadPoolExecutor(
        max_workers=min(4, len(profile_hosts.urls)), thread_name_prefix="hosts"
    )
    session.stash[HOSTS_EARLY] = {url: pool.submit(opened, url) for url in profile_hosts.urls}
    pool.shutdown(wait=False)  # its threads end with their tasks


@pytest.fixture(scope="session")
def read_source(target: Target, expect, request: pytest.FixtureRequest):
    """Where a heavy read should go: the replica when the profile names one, else the primary."""
    if target.secret("database.replica_dsn_env"):
        return request.getfixturevalue("replica")
    return request.getfixturevalue("db")


@pytest.fixture(scope="session")
def history(target: Target):
    """Values remembered from the previous run against this target (e.g. cumulative counters)."""
    store = History(target.name)
    yield store
    store.save()


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> dict:
    """What a check saw, for its record: filled by the check, redacted and written with its
    outcome."""
    return request.node.stash.setdefault(EVIDENCE, {})
