"""Rule: the load scenarios ask for ids the platform has; a 404 for a configured id is the
scenario's."""

import importlib
import json
import sys

import pytest

from nbaverify.shipped import CHECKOUT as PROJECT_ROOT


@pytest.fixture
def common(tmp_path, monkeypatch):
    def load(ids):
        config = tmp_path / "config.json"
        config.write_text(json.dumps({"ids": ids, "weights": {"player": 1}}))
        monkeypatch.setenv("NBAVERIFY_LOAD_CONFIG", str(config))
        monkeypatch.syspath_prepend(str(PROJECT_ROOT / "load"))
        sys.modules.pop("common", None)
        return importlib.import_module("common")

    yield load
    sys.modules.pop("common", None)


def test_discovered_ids_are_picked_from_the_list(common):
    module = common({"players": [7, 11], "games": [3], "source": "database", "ranges": False})
    assert {module._player() for _ in range(50)} <= {7, 11} and module._game() == 3


def test_a_404_on_a_discovered_id_is_the_platforms(common):
    module = common({"players": [7], "games": [3], "source": "database", "ranges": False})
    assert module.problem(404, b"{}", "object") == "HTTP 404"


def test_a_404_on_a_configured_id_is_the_scenarios(common):
    module = common(
        {"players": [1, 450], "games": [1, 17220], "source": "expectations", "ranges": True}
    )
    assert 1 <= module._player() <= 450
    assert module.problem(404, b"{}", "object").startswith(
        "HTTP 404 for an id from expectations.load.ids (the scenario's id"
    )


@pytest.mark.parametrize("players", [[1, 2, 3, 4, 5], [450, 1], [], ["1", "450"], [0, 10]])
def test_configured_ids_that_are_not_a_range_are_refused_before_any_load(tmp_path, players):
    from nbaverify.config import load_target
    from nbaverify.errors import ConfigError
    from nbaverify.loadtest import ids

    profile = tmp_path / "p.toml"
    profile.write_text(
        'name = "p"\nenvironment = "staging"\n[api]\nbase_url = "http://127.0.0.1:9"\n'
        f"[expectations.load]\nids = {{ players = {json.dumps(players)}, games = [1, 9] }}\n"
    )
    with pytest.raises(
        ConfigError,
        match=r"expectations\.load\.ids\.players.*must be an inclusive range \[low, high\]",
    ):
        ids.for_target(load_target(str(profile)))
