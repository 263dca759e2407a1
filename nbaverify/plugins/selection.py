"""Which checks run, and in what order: tier and area, waivers that skip, modules that start work
early late and disruptive checks last, production safety (each read from the check's catalogue
entry, evaluated by nbaverify.plugins.specs)."""

from __future__ import annotations

import pytest

from nbaverify.catalogue import CHECK_PREFIX, is_check, spec
from nbaverify.markers import MARKERS
from nbaverify.plugins.early import starts_early
from nbaverify.plugins.options import option
from nbaverify.plugins.record import RUN


def pytest_configure(config: pytest.Config) -> None:
    for marker, text in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {text}")
    # checks are check_*, whatever the ini says
    config.addinivalue_line("python_functions", CHECK_PREFIX + "*")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    checks = [item for item in items if is_check(item)]
    if not checks:
        return
    run = config.stash[RUN]
    target = run.ensure_target()
    tier, areas = config.getoption("tier"), set(option(config, "area"))
    keep, drop = [], []
    for item in items:
        if is_check(item) and (
            (tier and tier != "all" and tier not in spec(item).tiers)
            or (areas and spec(item).area not in areas)
        ):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    run.select_waivers([item for item in items if is_check(item)])
    # disruptive checks last: the rate-limit check spends the window the others need; before them
    # the modules that started work early, which then has the others' time to finish (stable sort)
    items.sort(
        key=lambda item: (is_check(item) and _safety(item) == "disruptive", starts_early(item))
    )
    allowed = {"readonly", *option(config, "allow")}
    if target.is_production:
        for item in items:
            kind = _safety(item)
            if is_check(item) and kind not in allowed:
                item.add_marker(
                    pytest.mark.skip(
                        reason=(
                            f"safety: a {kind} check is not run against production (pass --allow"
                            f" {kind})"
                        )
                    )
                )


def _safety(item: pytest.Item) -> str:
    return spec(item).safety
