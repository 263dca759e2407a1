"""The fault matrix: the healthy sandbox passes every check; each fault is caught, by name.

Parametrized over the catalogue, so a new fault is one entry in nbaverify/sandbox/faults/.
Faults are switched on the running sandbox (no cold start): `up([name])` reverts the previous
fault and applies the next.
"""

from __future__ import annotations

import httpx
import pytest

from nbaverify.sandbox import alertmanager, prometheus, proxy
from nbaverify.sandbox.faults import CATALOGUE
from nbaverify.sandbox.faults.kubernetes import LIVE_ONLY_CHECKS
from nbaverify.sandbox.faults.proof import NOT_YET

APIS = ["python", "node"]


@pytest.mark.parametrize("api", APIS)
def test_the_healthy_sandbox_passes_every_check(sandbox, nbaverify, api):
    sandbox.up([], api=api)
    sandbox.fresh_history()
    result = nbaverify("check", "all", "--allow", "disruptive")  # the opt-in enforcement probe too
    assert result.summary is not None, result.err
    assert result.not_passing() == {}, result.out
    assert result.code == 0
    skipped = {
        cid: c["message"] for cid, c in result.outcomes().items() if c["outcome"] == "skipped"
    }
    # the sandbox configures every section but Grafana (none runs here); only optional expectations
    # may be unset, the weak suites this machine's OpenSSL has none of cannot be offered
    # (proof.NOT_YET says which), and no quarterly load run is on record (tests/sandbox/test_load.py
    # makes one and proves that check both ways)
    assert all(
        reason.startswith(
            (
                "not configured: expectations.",
                "not configured: grafana",
                "cannot test here: this machine's OpenSSL",
                "no load run on record: ",
            )
        )
        for reason in skipped.values()
    ), skipped
    assert {cid for cid, reason in skipped.items() if reason.startswith("cannot test here")} <= set(
        NOT_YET
    ), skipped


def test_a_quiet_platform_s_501s_are_not_errors(sandbox, nbaverify):
    """Koa answers TRACE 501, which check_trace_refused accepts; on a quiet platform the suite's
    own two TRACE probes a run were over 1 % of the requests, and the SLO error ratio failed the
    healthy Node API (the second of ten healthy runs)."""
    sandbox.up([], api="node")
    sandbox.fresh_history()
    with httpx.Client(base_url=sandbox.api_url, verify=sandbox.tls_context(), timeout=5) as api:
        # a counter's first sample is its start, not an increase: one, scraped, then the rest
        for count, total in ((1, 1), (20, 21)):
            assert {api.request("TRACE", "/health").status_code for _ in range(count)} == {501}
            sandbox.prometheus.wait_for(
                f'sum(http_requests_total{{method="TRACE",status="501"}}) >= {total}',
                f"Prometheus to count {total} TRACE answered 501",
            )
    result = nbaverify(
        "check", "all", "--", "checks/test_monitoring_prometheus.py::check_slo_error_ratio"
    )
    assert result.summary is not None and result.not_passing() == {}, result.out


def assert_caught(name: str, result, checks=None) -> None:
    assert result.summary is not None, result.err
    outcomes = result.outcomes()
    assert CATALOGUE[name].missed_by(outcomes, checks) == []
    critical = any(
        c["severity"] == "critical" and c["outcome"] in ("failed", "error")
        for c in outcomes.values()
    )
    assert result.code == (1 if critical else 0)


# a fault acting through the API is proven against both implementations (load faults:
# tests/sandbox/test_load.py) (a fault only the manifests show, like an object the API server
# refuses, is proven on the manifests below) (those made on a variant come last, together: a variant
# is a restart, taken once a worker)
CASES = [
    pytest.param(name, api, id=f"{name}-{api}")
    for api in APIS
    for name, f in sorted(CATALOGUE.items(), key=lambda item: item[1].variant is not None)
    if f.area != "load" and api in f.proven_on(APIS) and (not f.sources or "cluster" in f.sources)
]


@pytest.mark.parametrize(("name", "api"), CASES)
def test_each_fault_is_caught_by_the_checks_it_names(sandbox, nbaverify, name, api):
    fault = CATALOGUE[name]
    if fault.requires == "prometheus" and not prometheus.binary():
        pytest.skip("needs Prometheus (apt-get install prometheus)")
    if fault.requires == "alertmanager" and not (alertmanager.binary() and prometheus.binary()):
        pytest.skip(
            "needs Prometheus and Alertmanager (apt-get install prometheus prometheus-alertmanager)"
        )
    if fault.requires == "nginx" and not proxy.binary():
        pytest.skip("needs nginx, the sandbox's public ingress (apt-get install nginx-light)")
    if fault.requires == "ssh_host" and (reason := sandbox.ssh_host.unavailable()):
        pytest.skip(f"needs the sandbox's SSH host: {reason}")
    if "cluster" in fault.sources and (reason := sandbox.kube.unavailable()):
        pytest.skip(f"needs the sandbox's Kubernetes: {reason}")
    variant = fault.variant or "default"
    if fault.baseline == "healthy":
        # its checks judge the change since the previous run: give them one
        sandbox.up([], api=api, variant=variant)
        assert nbaverify("check", "all", "--", *fault.selection).not_passing() == {}
    sandbox.up([name], api=api, variant=variant)
    if fault.baseline == "faulty":
        # what the fault made is young at first: the first run only sees it appear
        assert nbaverify("check", "all", "--", *fault.selection).not_passing() == {}
    assert_caught(name, nbaverify("check", "all", "--allow", "disruptive", "--", *fault.selection))


def manifests_profile(sandbox, tmp_path):
    """The sandbox's profile with the manifests source: the deployed copy of fixtures/k8s that
    faults edit."""
    text = sandbox.layout.target_file.read_text()
    cluster = text[text.index("[kubernetes]") : text.index("[hosts]")]
    path = tmp_path / "manifests.toml"
    manifests = (
        f'[kubernetes]\nsource = "manifests"\nmanifests = "{sandbox.layout.k8s_manifests}"\n\n'
    )
    path.write_text(text.replace(cluster, manifests))
    return path


def test_the_healthy_manifests_pass_and_status_checks_say_why_they_skip(
    sandbox, nbaverify, tmp_path
):
    sandbox.up([])
    result = nbaverify(
        "check",
        "all",
        "--area",
        "kubernetes",
        "--target",
        str(manifests_profile(sandbox, tmp_path)),
        env=sandbox.environ(),
    )
    assert result.code == 0 and result.not_passing() == {}, result.out
    skipped = {
        cid.split("::")[1]: c["message"]
        for cid, c in result.outcomes().items()
        if c["outcome"] == "skipped"
    }
    # the manifests hold no Secret (their values live elsewhere): nothing to read a rotation date
    # from
    assert skipped.pop("check_credentials_rotated").startswith("no Secret of types Opaque")
    assert set(skipped) == {
        "check_nodes_ready",
        "check_deployments_available",
        "check_containers_healthy",
        "check_prometheus_pods_running",
        "check_network_policy_enforced[api-network-policy]",
    }
    assert all(
        m.startswith('not configured: kubernetes.source = "cluster"') for m in skipped.values()
    ), skipped


@pytest.mark.parametrize("name", [n for n, f in CATALOGUE.items() if "manifests" in f.sources])
def test_each_spec_fault_is_caught_from_the_manifests_too(sandbox, nbaverify, tmp_path, name):
    sandbox.up([name])
    profile = manifests_profile(sandbox, tmp_path)
    checks = [c for c in CATALOGUE[name].caught_by if c not in LIVE_ONLY_CHECKS]
    assert_caught(
        name,
        nbaverify("check", "all", "--target", str(profile), "--", *checks, env=sandbox.environ()),
        checks,
    )


def test_down_then_up_with_a_fault_gives_exactly_that_fault(sandbox, nbaverify):
    assert nbaverify("sandbox", "up", "--fault", "db_down").code == 0
    assert nbaverify("sandbox", "down").code == 0
    up = nbaverify("sandbox", "up", "--fault", "replica_lag")
    assert up.code == 0, up.err
    status = nbaverify("sandbox", "status", "--json")
    # db_down is gone
    assert '"faults": [\n    "replica_lag"\n  ]' in status.out and status.code == 0
    gate = nbaverify("check", "gate")
    assert set(gate.not_passing()) == {
        "checks/test_database_replication.py::check_replication_lag"
    }, gate.out
    assert nbaverify("sandbox", "up").code == 0
    assert nbaverify("check", "gate").not_passing() == {}
