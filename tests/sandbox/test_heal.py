"""A healed sandbox reads healthy at once: after any fault is cleared (by `up`, or `down` then
`up`), the next `check all` has no failure, windowed checks (SLO ratios, rates over 5 minutes,
pending alerts) included. The sandbox starts a fresh metrics history whenever it heals a fault.
"""

from __future__ import annotations

import pytest

from nbaverify.sandbox.faults import CATALOGUE

# one or more from every area, the ones that leave traces behind them: 503s and 5xx rates, slow
# requests in the latency histogram, a missing index's sequential scans, a stopped replica, a full
# connection table, a Kubernetes object gone, notifications that failed, errors and traces in the
# API's log
HEALED = [
    "db_down",
    "error_burst",
    "slow_api",
    "drop_index",
    "replica_stopped",
    "connection_saturation",
    "networkpolicy_missing",
    "alert_not_delivered",
    "stack_traces_logged",
    "error_log_flood",
]


# both ways of healing, taken in turn (db_down first by down-then-up: the way it was reported)
CASES = [(name, ["down-then-up", "up"][i % 2]) for i, name in enumerate(HEALED)]


@pytest.mark.parametrize(("name", "how"), CASES)
def test_the_first_run_after_a_heal_is_clean(sandbox, nbaverify, name, how):
    up = nbaverify("sandbox", "up", "--api", "python", "--fault", name)
    assert up.code == 0, up.err
    broken = nbaverify("check", "all", "--", *CATALOGUE[name].selection)
    assert broken.not_passing(), f"{name} was not on: {broken.out}"
    if how == "down-then-up":
        assert nbaverify("sandbox", "down").code == 0
    healed = nbaverify("sandbox", "up")
    assert healed.code == 0, healed.err
    after = nbaverify("check", "all")
    assert after.summary is not None, after.err
    assert after.not_passing() == {}, f"after healing {name} ({how}): {after.not_passing()}"


@pytest.mark.long
@pytest.mark.parametrize("api", ["python", "node"])
def test_ten_healthy_runs_in_a_row_are_clean(sandbox, nbaverify, api):
    """Counters judged by their change, young objects, windows: none may turn a healthy run red
    later."""
    sandbox.up([], api=api)
    # judged from a fresh history, as the healthy sandbox's run is: not on what the test before
    # left in the last minutes (a load test's slow requests)
    sandbox.fresh_history()
    for number in range(10):
        result = nbaverify("check", "all", "--allow", "disruptive")
        assert result.summary is not None, result.err
        assert result.not_passing() == {}, (
            f"healthy run {number + 1} of 10 on the {api} API: {result.not_passing()}"
        )
