"""The two Kubernetes sources through the real `kubernetes` client and the sandbox's real control
plane (kube-apiserver, etcd, controllers and scheduler; KWOK's nodes and pods), as the verifier."""

from __future__ import annotations

import httpx
import pytest
import yaml

from nbaverify import procs
from nbaverify.clients.k8s import ClusterSource, ManifestSource
from nbaverify.errors import CheckError, TargetUnreachable

SPEC_KINDS = (
    "Deployment",
    "Service",
    "HorizontalPodAutoscaler",
    "Role",
    "RoleBinding",
    "NetworkPolicy",
)


def cluster(sandbox, **overrides) -> ClusterSource:
    options = {
        "context": "nbaverify-sandbox",
        "kubeconfig": str(sandbox.layout.kubeconfig_file),
        "timeout_s": 5.0,
    }
    return ClusterSource(**{**options, **overrides})


def test_both_sources_see_the_same_objects_the_live_ones_as_the_server_made_them(sandbox):
    sandbox.up([])
    live, files = cluster(sandbox), ManifestSource(sandbox.layout.k8s_manifests, "nba-stats")
    for kind in SPEC_KINDS:
        for ns in ("nba-stats", "monitoring"):
            # the verifier's
            served = {o["metadata"]["name"] for o in live.list(kind, ns)} - {"nbaverify-probe"}
            assert served == {o["metadata"]["name"] for o in files.list(kind, ns)}, (kind, ns)
    api = live.get("Deployment", "api", "nba-stats")
    # defaulted
    assert (
        api["spec"]["strategy"]["type"] == "RollingUpdate"
        and api["spec"]["revisionHistoryLimit"] == 10
    )
    assert api["status"]["availableReplicas"] == 3  # the controllers and KWOK ran it
    owners = {p["metadata"]["ownerReferences"][0]["kind"] for p in live.list("Pod", "nba-stats")}
    assert owners == {"ReplicaSet"} and len(live.list("ReplicaSet", "nba-stats")) >= 2
    assert {p["status"]["phase"] for p in live.list("Pod", "nba-stats")} == {"Running"}
    assert len(live.list("Node")) == 3 and live.server_version() == "v1.37.2"


def test_a_refused_token_is_named_not_mistaken_for_an_empty_cluster(sandbox, tmp_path):
    config = yaml.safe_load(sandbox.layout.kubeconfig_file.read_text())
    config["users"][0]["user"]["token"] = "wrong"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(
        CheckError,
        match=r"HTTP 401 listing Deployment in namespace nba-stats: the suite's account needs",
    ):
        cluster(sandbox, kubeconfig=str(path)).list("Deployment", "nba-stats")


def test_an_unreachable_cluster_fails_fast_once(sandbox, tmp_path):
    config = yaml.safe_load(sandbox.layout.kubeconfig_file.read_text())
    config["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{procs.free_port()}"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    source = cluster(sandbox, kubeconfig=str(path))
    with pytest.raises(TargetUnreachable) as first:
        source.list("Pod", "nba-stats")
    with pytest.raises(TargetUnreachable) as second:
        # remembered: the next check does not try (and wait) again
        source.list("Node")
    assert second.value is first.value


def test_an_unknown_context_says_where_to_look(sandbox):
    with pytest.raises(
        CheckError, match=r"cannot use context 'kind-nope' of .*kubectl config get-contexts"
    ):
        cluster(sandbox, context="kind-nope").list("Node")


def test_the_verifier_reads_and_may_not_write(sandbox):
    """Every check runs as the verifier (fixtures/verifier): the server itself refuses it anything
    more."""
    import kubernetes

    source = cluster(sandbox)
    source.list("Deployment", "nba-stats")
    apps = kubernetes.client.AppsV1Api(source._connected())
    with pytest.raises(kubernetes.client.exceptions.ApiException) as refused:
        apps.delete_namespaced_deployment("api", "nba-stats", _request_timeout=5)
    assert (
        refused.value.status == 403
        and "system:serviceaccount:nbaverify:nbaverify" in refused.value.body
    )


def test_pod_logs_come_through_the_api_server_from_the_kubelet_endpoint(sandbox):
    """read_namespaced_pod_log goes the whole way: the API server asks KWOK's kubelet endpoint,
    which serves the api container's CRI log; one api pod has the sandbox API's lines, the others
    none, so each is read once.
    """
    sandbox.up([])
    marker = f"/api/players/{procs.free_port()}-marker"
    # refused: logged
    httpx.get(f"{sandbox.api_url}{marker}", verify=sandbox.tls_context(), timeout=5)
    source = cluster(sandbox)
    pods = sorted(
        p["metadata"]["name"]
        for p in source.list("Pod", "nba-stats")
        if p["metadata"]["name"].startswith("api-")
    )
    texts = {}
    for pod in pods:
        procs.wait_until(
            lambda pod=pod: (
                marker
                in source.pod_log(
                    pod, "nba-stats", "api", previous=False, since_s=60, limit_bytes=100000
                )
                or pod != pods[0]
            ),
            10,
            f"the marker in {pod}'s log",
        )
        texts[pod] = source.pod_log(
            pod, "nba-stats", "api", previous=False, since_s=3600, limit_bytes=100000
        )
    assert marker in texts[pods[0]] and all(not texts[p] for p in pods[1:])
    first = texts[pods[0]].splitlines()[0]
    # the kubelet's stamp
    assert first[:4].isdigit() and first[10] == "T" and first.split(" ", 1)[1][:4].isdigit()


def test_lists_are_paged_and_every_page_is_read(sandbox, monkeypatch):
    """limit / continue as the real API server pages: two objects a page reads the same objects as
    one page, in as many requests as pages (counted at the client's socket, not assumed), with the
    server's own continue tokens.
    """
    from nbaverify.clients import k8s
    from nbaverify.io_stats import IO

    sandbox.up([])
    whole = [p["metadata"]["name"] for p in cluster(sandbox).list("Pod")]
    monkeypatch.setattr(k8s, "PAGE_SIZE", 2)
    before = IO.snapshot().get("kubernetes", {}).get("calls", 0)
    paged = [p["metadata"]["name"] for p in cluster(sandbox).list("Pod")]
    calls = IO.snapshot().get("kubernetes", {}).get("calls", 0) - before
    assert paged == whole and len(whole) >= 5
    assert calls == -(-len(whole) // 2), calls
