"""Slow local work a check module starts as soon as the run's selection is known.

A check module may define `start_early(session)`: it is called once, when collection is over and
before any check runs, for the modules that have a selected check. There it starts work that needs
no answer from the target (a local tool run on the profile's files, promtool's rule tests) in the
background, so that it runs on another core beside the checks before it; the module's fixture then
waits for the result instead of starting it. Such a module's checks run after the others (see
nbaverify.plugins.selection), so that the work has the rest of the run to finish in.
"""

from __future__ import annotations

import pytest


def pytest_collection_finish(session: pytest.Session) -> None:
    modules = {id(item.module): item.module for item in session.items if hasattr(item, "module")}
    for module in modules.values():
        start = getattr(module, "start_early", None)
        if callable(start):
            start(session)


def starts_early(item: pytest.Item) -> bool:
    """The item's module starts work early: its checks are best run late."""
    return callable(getattr(getattr(item, "module", None), "start_early", None))
