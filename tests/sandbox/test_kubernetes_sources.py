"""The two Kubernetes sources through the real `kubernetes` client and the sandbox's API test double."""

from __future__ import annotations

import httpx
import pytest
import yaml

from nbaverify import procs
from nbaverify.clients.k8s import ClusterSource, ManifestSource
from nbaverify.errors import CheckError, TargetUnreachable

SPEC_KINDS = ("Deployment", "Service", "HorizontalPodAutoscaler", "Role", "RoleBinding", "NetworkPolicy")


def cluster(sandbox, **overrides) -> ClusterSource:
    options = {"context": "nbaverify-sandbox", "kubeconfig": str(sandbox.layout.kubeconfig_file), "timeout_s": 5.0}
    return ClusterSource(**{**options, **overrides})


def test_both_sources_see_the_same_specs(sandbox):
    sandbox.up([])
    live, files = cluster(sandbox), ManifestSource(sandbox.layout.k8s_manifests, "nba-stats")
    for kind in SPEC_KINDS:
        for ns in ("nba-stats", "monitoring"):
            served = {o["metadata"]["name"]: o.get("spec", o.get("rules")) for o in live.list(kind, ns)}
            written = {o["metadata"]["name"]: o.get("spec", o.get("rules")) for o in files.list(kind, ns)}
            assert served == written, (kind, ns)
    assert {p["status"]["phase"] for p in live.list("Pod", "nba-stats")} == {"Running"}
    assert len(live.list("Node")) == 3


def test_a_refused_token_is_named_not_mistaken_for_an_empty_cluster(sandbox, tmp_path):
    config = yaml.safe_load(sandbox.layout.kubeconfig_file.read_text())
    config["users"][0]["user"]["token"] = "wrong"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(CheckError, match=r"HTTP 401 listing Deployment in namespace nba-stats: the suite's account needs"):
        cluster(sandbox, kubeconfig=str(path)).list("Deployment", "nba-stats")


def test_an_unreachable_cluster_fails_fast_once(sandbox, tmp_path):
    config = yaml.safe_load(sandbox.layout.kubeconfig_file.read_text())
    config["clusters"][0]["cluster"]["server"] = f"http://127.0.0.1:{procs.free_port()}"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    source = cluster(sandbox, kubeconfig=str(path))
    with pytest.raises(TargetUnreachable) as first:
        source.list("Pod", "nba-stats")
    with pytest.raises(TargetUnreachable) as second:  # remembered: the next check does not try (and wait) again
        source.list("Node")
    assert second.value is first.value


def test_an_unknown_context_says_where_to_look(sandbox):
    with pytest.raises(CheckError, match=r"cannot use context 'kind-nope' of .*kubectl config get-contexts"):
        cluster(sandbox, context="kind-nope").list("Node")


def test_the_double_answers_version_and_refuses_writes(sandbox):
    assert httpx.get(f"{sandbox.kube.url}/version/", timeout=5).json()["major"] == "1"
    token = sandbox.layout.k8s_token_file.read_text().strip()
    reply = httpx.delete(f"{sandbox.kube.url}/apis/apps/v1/namespaces/nba-stats/deployments/api",
                         headers={"authorization": f"Bearer {token}"}, timeout=5)
    assert reply.status_code == 405


def test_lists_are_paged_and_every_page_is_read(sandbox, monkeypatch):
    """limit / continue as the API server pages: two objects a page reads the same objects as one page,
    in as many requests as pages (counted at the double's socket, not assumed)."""
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


def test_a_scaled_cluster_serves_tenants_as_healthy_as_the_platform():
    from nbaverify.sandbox.kube import cluster as double
    from nbaverify.shipped import K8S_MANIFESTS as K8S

    one = double.build(K8S, frozenset())
    ten = double.build(K8S, frozenset(), scale=10)
    count = lambda objects, kind: sum(o["kind"] == kind for o in objects)  # noqa: E731
    for kind in ("Namespace", "Deployment", "Secret", "Role", "NetworkPolicy"):
        assert count(ten, kind) == 10 * count(one, kind), kind
    assert count(ten, "Pod") == count(one, "Pod") + 9 * double.TENANT_PODS  # each tenant's frontend scaled out
    busier = next(o for o in ten if o["kind"] == "Deployment" and o["metadata"]["namespace"] == "nba-stats-007"
                  and o["metadata"]["name"] == double.BUSIER)
    assert busier["status"]["readyReplicas"] == busier["spec"]["replicas"] > 2
    assert count(ten, "Node") == count(one, "Node")
    copy = next(o for o in ten if o["kind"] == "RoleBinding" and o["metadata"]["namespace"] == "nba-stats-007")
    assert all(s.get("namespace") in (None, "nba-stats-007") for s in copy.get("subjects", []))
