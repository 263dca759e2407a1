"""A live cluster's lists read side by side: each read once, a failed one left for the check that
asks for it to fail in, with its own message."""

from __future__ import annotations

import threading

import pytest

from nbaverify.clients.k8s import ClusterSource
from nbaverify.errors import CheckError
from nbaverify.probes import workloads


class Recorded(ClusterSource):
    """The client's listing replaced by a record of the calls (and the threads that made them)."""

    def __init__(self, failing: set[tuple[str, str | None]] = frozenset()):
        super().__init__(context="test", kubeconfig=None, timeout_s=1)
        self.calls: list[tuple[str, str | None]] = []
        self.threads: set[str] = set()
        self.failing = failing
        self._client = object()  # connected, as far as prefetch can tell

    def _list(self, kind, namespace):
        self.calls.append((kind, namespace))
        self.threads.add(threading.current_thread().name)
        if (kind, namespace) in self.failing:
            raise CheckError(
                f"kubernetes https://k: HTTP 500 listing {kind} in namespace {namespace}"
            )
        return [{"kind": kind, "metadata": {"name": f"{kind.lower()}-1", "namespace": namespace}}]


def test_every_pod_bearing_list_is_read_once_side_by_side():
    source = Recorded()
    found = workloads.workloads(source, ["api", "db"])
    expected = {(kind, ns) for ns in ("api", "db") for kind in workloads.POD_BEARING}
    assert sorted(source.calls) == sorted(expected)  # each once: the checks read the cache
    assert len(source.threads) > 1 and threading.main_thread().name not in source.threads
    assert len(found) == len(expected)


def test_a_list_that_failed_ahead_fails_in_the_check_that_asks():
    source = Recorded(failing={("Job", "api")})
    source.prefetch([("Deployment", "api"), ("Job", "api")])
    assert source.list("Deployment", "api")[0]["metadata"]["name"] == "deployment-1"
    with pytest.raises(CheckError, match="HTTP 500 listing Job in namespace api"):
        source.list("Job", "api")
    assert (
        source.calls.count(("Job", "api")) == 2 and source.calls.count(("Deployment", "api")) == 1
    )
