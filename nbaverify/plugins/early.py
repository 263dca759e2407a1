"""Slow local work a check module starts as soon as the run's selection is known.

A check module may define `start_early(session)`: it is called once, when collection is over and
before any check runs, for the modules that have a selected check. There it starts work that needs
no answer from the target (a local tool run on the profile's files, promtool's rule tests) in the
background, so that it runs on another core beside the checks before it; the module's fixture then
waits for the result instead of starting it.
"""

from __future__ import annotations

import pytest


def pytest_collection_finish(session: pytest.Session) -> None:
    modules = {id(item.module): item.module for item in session.items if hasattr(item, "module")}
    for module in modules.values():
        start = getattr(module, "start_early", None)
        if callable(start):
            start(session)
