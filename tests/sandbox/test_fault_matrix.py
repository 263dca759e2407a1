"""The fault matrix: the healthy sandbox passes every check; each fault is caught, by name.

Parametrized over the catalogue, so a new fault is one entry in nbaverify/sandbox/faults/.
Faults are switched on the running sandbox (no cold start): `up([name])` reverts the previous
fault and applies the next.
"""

from __future__ import annotations

import re

import pytest

from nbaverify.sandbox import prometheus
from nbaverify.sandbox.faults import CATALOGUE


def test_the_healthy_sandbox_passes_every_check(sandbox, nbaverify):
    sandbox.up([])
    if prometheus.binary():  # alerts and SLOs look back 5 minutes: judge health without earlier runs' errors
        sandbox.prometheus.reset()
        sandbox.prometheus.wait_scraped()
    result = nbaverify("check", "all")
    assert result.summary is not None, result.err
    assert result.not_passing() == {}, result.out
    assert result.code == 0
    skipped = {cid: c["message"] for cid, c in result.outcomes().items() if c["outcome"] == "skipped"}
    # the sandbox configures every section; only optional expectations (Grafana, iss/aud) may be unset
    assert all(reason.startswith("not configured: expectations.") for reason in skipped.values()), skipped


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_each_fault_is_caught_by_the_checks_it_names(sandbox, nbaverify, name):
    fault = CATALOGUE[name]
    if fault.requires == "prometheus" and not prometheus.binary():
        pytest.skip("needs Prometheus (apt-get install prometheus)")
    if fault.baseline:  # its checks compare with the previous run: give them one on the healthy sandbox
        sandbox.up([])
        assert nbaverify("check", "all", "--", *fault.caught_by).not_passing() == {}
    sandbox.up([name])
    result = nbaverify("check", "all", "--", *fault.caught_by)
    assert result.summary is not None, result.err
    outcomes = result.outcomes()
    for check_id in fault.caught_by:
        matching = {cid: c for cid, c in outcomes.items() if cid == check_id or cid.startswith(check_id + "[")}
        assert matching, f"{check_id} did not run"
        for cid, check in matching.items():
            assert check["outcome"] == "failed", f"{name}: {cid} should fail, was {check['outcome']}: {check['message']}"
            assert re.search(fault.expect, check["message"]), f"{name}: {cid} message does not name the cause: {check['message']}"
            assert "\n" not in check["message"]
    critical = any(c["severity"] == "critical" and c["outcome"] == "failed" for c in outcomes.values())
    assert result.code == (1 if critical else 0)


def test_down_then_up_with_a_fault_gives_exactly_that_fault(sandbox, nbaverify):
    assert nbaverify("sandbox", "up", "--fault", "db_down").code == 0
    assert nbaverify("sandbox", "down").code == 0
    up = nbaverify("sandbox", "up", "--fault", "replica_lag")
    assert up.code == 0, up.err
    status = nbaverify("sandbox", "status", "--json")
    assert '"faults": [\n    "replica_lag"\n  ]' in status.out and status.code == 0  # db_down is gone
    gate = nbaverify("check", "gate")
    assert set(gate.not_passing()) == {"checks/test_database_replication.py::check_replication_lag"}, gate.out
    assert nbaverify("sandbox", "up").code == 0
    assert nbaverify("check", "gate").not_passing() == {}
