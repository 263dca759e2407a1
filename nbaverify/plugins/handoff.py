"""What `nbaverify check` loaded before pytest started (the target, the waivers), handed to the
plugin so that a run loads each once; a run started by pytest itself has no handoff and the plugin
loads them."""

from __future__ import annotations

import gc
from dataclasses import dataclass

import pytest

from nbaverify.config import Target
from nbaverify.waivers import Waiver


@dataclass(frozen=True)
class Handoff:
    """The run's target profile and waivers as the CLI loaded and checked them (a plugin object of
    pytest.main)."""

    target: Target
    waivers: tuple[Waiver, ...] = ()

    @staticmethod
    def of(config: pytest.Config) -> Handoff | None:
        return next((p for p in config.pluginmanager.get_plugins() if isinstance(p, Handoff)), None)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """The CLI ran start-up without the cyclic GC: what start-up built lives the whole run, so
        the collector leaves it be from here on (frozen), and collects what the checks make."""
        gc.freeze()
        gc.enable()
