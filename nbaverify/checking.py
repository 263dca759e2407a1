"""What checks import: helpers that generate a check's cases from the expectations.

(A check module imports from here, never from the plugin's hook modules.)
"""

from __future__ import annotations

import pytest

# a check module's start_early for the cluster's checks, and the hosts'
from nbaverify.plugins.fixtures import start_hosts as start_hosts
from nbaverify.plugins.fixtures import start_kubernetes as start_kubernetes
from nbaverify.plugins.options import option
from nbaverify.plugins.record import RUN


def target_at_collection(config: pytest.Config):
    """The run's target while tests are generated or started early (before any fixture exists)."""
    return config.stash[RUN].ensure_target()


def expectations_at_collection(config: pytest.Config):
    """The expectations while tests are generated (before any fixture exists)."""
    return target_at_collection(config).expectations


def parametrize_from(
    metafunc: pytest.Metafunc, argname: str, key: str, id_key: str = "name"
) -> None:
    """Parametrize a check over a list in the expectations, one case (and id) per entry.

    Use from a check module's `pytest_generate_tests`; the ids name the object the case is
    about (`check_expected_index[idx_player_stats]`), so a failure says which one at a glance.
    """
    if argname not in metafunc.fixturenames:
        return
    entries = expectations_at_collection(metafunc.config)[key]
    ids = [str(entry[id_key]) if isinstance(entry, dict) else str(entry) for entry in entries]
    metafunc.parametrize(argname, entries, ids=ids)


def run_allows(config: pytest.Config, kind: str) -> bool:
    """Did this run say --allow KIND (or its env var / project config)? For a check that opts in on
    every target."""
    return kind in option(config, "allow")
