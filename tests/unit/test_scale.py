"""The sandbox at scale: its seed, the disk it needs, its tenants."""

from __future__ import annotations

import pytest

from nbaverify.errors import SandboxError
from nbaverify.sandbox import postgres
from nbaverify.sandbox.layout import Layout
from nbaverify.shipped import SQL as SQL_DIR


def test_a_scale_seeds_as_many_times_the_seasons():
    seed = (SQL_DIR / "seed.sql").read_text()
    assert postgres.seasons_for(seed, 1) == seed
    assert "generate_series(1886, 2025) AS s" in postgres.seasons_for(seed, 10)
    assert "generate_series(626, 2025) AS s" in postgres.seasons_for(seed, 100)


def test_a_disk_too_small_is_refused_before_anything_is_made(tmp_path, monkeypatch):
    monkeypatch.setattr(
        postgres.shutil, "disk_usage", lambda path: type("Usage", (), {"free": 4 << 30})()
    )
    cluster = postgres.Cluster(Layout(tmp_path / "sb", 29430), {})
    with pytest.raises(
        SandboxError,
        match=r"^seeding scale 100 needs about 56 GiB under \S+ \(data, replica, base "
        r"backup and WAL archive\), 4 GiB are free; choose a smaller --scale",
    ):
        cluster.initialise(lambda line: None, scale=100)
    assert not (tmp_path / "sb").exists()


def test_tenants_are_healthy_renamed_copies_each_brought_to_fifty_pods():
    import yaml

    from nbaverify.sandbox.kubernetes import platform
    from nbaverify.shipped import K8S_MANIFESTS

    objects = [
        o
        for p in sorted(K8S_MANIFESTS.glob("*.yaml"))
        for o in yaml.safe_load_all(p.read_text())
        if o
    ]
    ten = platform.tenants(objects, 10)
    count = lambda found, kind: sum(o["kind"] == kind for o in found)  # noqa: E731
    for kind in ("Namespace", "Deployment", "Role", "NetworkPolicy", "HorizontalPodAutoscaler"):
        assert count(ten, kind) == 9 * count(objects, kind), kind
    tenant = [o for o in ten if o["metadata"].get("namespace") == "nba-stats-007"]
    assert (
        sum(o["spec"]["replicas"] for o in tenant if o["kind"] == "Deployment") + 1
        == platform.TENANT_PODS
    )
    binding = next(o for o in tenant if o["kind"] == "RoleBinding")
    assert all(s.get("namespace") in (None, "nba-stats-007") for s in binding.get("subjects", []))
    assert platform.tenants(objects, 1) == []


def test_the_synthetic_exporter_serves_the_tenants_api_pods_growing_steadily():
    from prometheus_client.parser import text_string_to_metric_families

    from nbaverify.sandbox import pod_exporter

    assert pod_exporter.pods(1) == []
    text = pod_exporter.exposition(10, started=1000.0, now=1060.0)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    requests = families["http_requests"].samples
    assert len({s.labels["pod"] for s in requests}) == 9 * pod_exporter.API_PODS  # tenants 2..10
    assert {s.labels["namespace"] for s in requests} == {f"nba-stats-{n:03d}" for n in range(2, 11)}
    ok = [s.value for s in requests if s.labels["status"] == "200"]
    assert ok and all(v == pytest.approx(60 * pod_exporter.RATE_PER_ROUTE * 0.99) for v in ok)
    buckets = [
        s for s in families["http_request_duration_seconds"].samples if s.name.endswith("_bucket")
    ]
    assert len(buckets) == 9 * pod_exporter.API_PODS * len(pod_exporter.ROUTES) * (
        len(pod_exporter.BUCKETS) + 1
    )
