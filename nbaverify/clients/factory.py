"""Every client the suite opens on a target, built in one place from its Target: the address from
the profile, the secret from the environment variable the profile names, the timeouts from the
expectations. The check fixtures and the load test's planning both build their clients here, so a
timeout is set once.

Each builder expects its section to be in the profile (the caller says "not configured" its own way:
a fixture skips, the load planner records why a figure is unknown)."""

from __future__ import annotations

from pathlib import Path

from nbaverify.clients.alertmanager import Alertmanager
from nbaverify.clients.api import ApiClient, token_claims
from nbaverify.clients.db import Database
from nbaverify.clients.grafana import Grafana
from nbaverify.clients.k8s import Source, open_source
from nbaverify.clients.logs import HostLogFiles, LogSource, PodLogs
from nbaverify.clients.prom import Prometheus
from nbaverify.config import Target
from nbaverify.redact import Redactor

# the profile's key that names each database role's DSN
DSN_KEYS = {"primary": "database.dsn_env", "replica": "database.replica_dsn_env"}


def api(target: Target, redactor: Redactor | None = None, budget: int | None = None) -> ApiClient:
    """The API at [api] base_url, signing its tokens as the platform does: under the first of the
    expectations' `api.auth.algorithms`, with the profile's secret or, for a key pair, its private
    key (and the iss/aud the platform wants)."""
    section, expect = target.api, target.expectations
    return ApiClient(
        section.base_url,
        jwt_secret=target.secret(target.signing_key_setting),
        ca_file=section.ca_file,
        timeout_s=expect["api.timeout_s"],
        ws_path=section.ws_path,
        redactor=redactor,
        budget=budget,
        claims=token_claims(expect),
        algorithm=expect["api.auth.algorithms"][0],
    )


def database(target: Target, role: str = "primary") -> Database:
    """The primary or the replica, read-only at the server, with the expectations' connect,
    statement and lock timeouts."""
    expect = target.expectations
    return Database(
        target.required_secret(DSN_KEYS[role]),
        role=role,
        connect_timeout_s=expect["database.connect_timeout_s"],
        statement_timeout_ms=expect["database.statement_timeout_ms"],
        lock_timeout_ms=expect["database.lock_timeout_ms"],
    )


def prometheus(target: Target, timeout_s: float | None = None) -> Prometheus:
    """Prometheus at [prometheus] url; `timeout_s` for a query known to be long (a quarter's
    peak)."""
    section = target.profile.prometheus
    assert section is not None, "the caller checks that the profile has [prometheus]"
    return Prometheus(section.url, timeout_s=timeout_s or target.expectations["api.timeout_s"])


def grafana(target: Target) -> Grafana:
    section = target.profile.grafana
    assert section is not None, "the caller checks that the profile has [grafana]"
    return Grafana(
        section.url,
        token=target.secret("grafana.token_env"),
        timeout_s=target.expectations["api.timeout_s"],
    )


def alertmanagers(target: Target) -> list[Alertmanager]:
    """Every instance of the Alertmanager cluster: [alertmanager] url first, then its peers."""
    section = target.profile.alertmanager
    assert section is not None, "the caller checks that the profile has [alertmanager]"
    return [
        Alertmanager(url, timeout_s=target.expectations["api.timeout_s"])
        for url in (section.url, *section.peers)
    ]


def alertmanager_config(target: Target) -> Path | None:
    """The Alertmanager configuration as deployed: the profile's [alertmanager] config_file,
    relative to the profile; None when it names none."""
    section = target.profile.alertmanager
    if section is None or not section.config_file:
        return None
    path = Path(section.config_file)
    return path if path.is_absolute() else (target.source.parent / path).resolve()


def kubernetes(target: Target) -> Source:
    """The cluster through its API server, or the manifests on disk, as [kubernetes] source says."""
    section = target.profile.kubernetes
    assert section is not None, "the caller checks that the profile has [kubernetes]"
    return open_source(
        section, target.source.parent, target.expectations["kubernetes.request_timeout_s"]
    )


def log_sources(
    target: Target, cluster: Source | None = None
) -> tuple[list[LogSource], str | None]:
    """Where [logs] says the API's log is: its Deployment's pods (through `cluster`, the caller's,
    which it closes) or its files on every host of [hosts]; else no source, and what is not
    configured."""
    section, limit = target.profile.logs, target.expectations["logs.limit_bytes"]
    if section is None:
        return [], "logs"
    if section.source == "kubernetes":
        where = target.profile.kubernetes
        if where is None or cluster is None:
            return [], "kubernetes"
        return [
            PodLogs(cluster, section.namespace or where.namespace, section.deployment, limit)
        ], None
    hosts = target.profile.hosts
    if hosts is None or not section.files:
        return [], "logs.files on [hosts]" if hosts else "hosts"
    # the hosts' files through testinfra's backends (ssh, local), only when the log is there
    from nbaverify.clients.hosts import open_host

    timeout_s = target.expectations["hosts.command_timeout_s"]
    files: list[LogSource] = []
    for url in hosts.urls:
        # its URL without the query (ssh_config=..., timeout=...), as the host checks name it
        name = url.partition("?")[0]
        files.append(HostLogFiles(open_host(url, name, timeout_s), name, section.files, limit))
    return files, None
