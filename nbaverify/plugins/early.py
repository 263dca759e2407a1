"""Slow work a check module starts as soon as the run's selection is known.

A check module may define `start_early(session)`: it is called once, when collection is over and
before any check runs, for the modules that have a selected check. There it starts, in the
background, work its checks would otherwise wait for: a local tool run on the profile's files
(promtool's rule tests, amtool's routes), which runs on another core, or reads the checks would make
anyway (the cluster's client and lists, the hosts' connections), which fill the time the checks
before them spend waiting on the platform. The module's fixture then waits for the result instead
of starting it; what failed in the background is left for the check that asks, to fail with its own
message. Such a module's checks run after the others (see nbaverify.plugins.selection), so that the
work has the rest of the run to finish in.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest


def pytest_collection_finish(session: pytest.Session) -> None:
    modules = {id(item.module): item.module for item in session.items if hasattr(item, "module")}
    for module in modules.values():
        start = _start_of(module)
        if start is not None:
            start(session)


def starts_early(item: pytest.Item) -> bool:
    """The item's module starts work early: its checks are best run late."""
    return _start_of(getattr(item, "module", None)) is not None


def _start_of(module) -> Callable[[pytest.Session], None] | None:
    start = getattr(module, "start_early", None)
    return start if callable(start) else None
