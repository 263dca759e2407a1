"""Which checks run, and in what order: declarations validated, tier and area, waivers that skip,
disruptive checks last, production safety."""

from __future__ import annotations

import pytest

from nbaverify.markers import AREAS, MARKERS, SAFETY, SEVERITIES, TIERS
from nbaverify.plugins.options import option
from nbaverify.plugins.record import CHECK_PREFIX, RUN, is_check


def pytest_configure(config: pytest.Config) -> None:
    for marker, text in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {text}")
    config.addinivalue_line("python_functions", CHECK_PREFIX + "*")  # checks are check_*, whatever the ini says


def validate_check(item: pytest.Item) -> str | None:
    """What is wrong with a check's declaration, or None: every check says what, how bad, and why."""
    marker = item.get_closest_marker
    for name in ("area", "severity", "runbook"):
        if marker(name) is None or not marker(name).args:
            return f"@pytest.mark.{name}(...) is missing"
    if marker("severity").args[0] not in SEVERITIES:
        return f"severity must be one of {', '.join(SEVERITIES)}"
    if marker("area").args[0] not in AREAS:
        return f"area {marker('area').args[0]!r} is not one of {', '.join(AREAS)}"
    if marker("safety") and marker("safety").args[0] not in SAFETY:
        return f"safety must be one of {', '.join(SAFETY)}"
    if not any(marker(tier) for tier in TIERS):
        return f"no cadence marker ({', '.join(TIERS)})"
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    checks = [item for item in items if is_check(item)]
    if not checks:
        return
    problems = [f"{item.path}::{item.originalname}: {why}" for item in checks if (why := validate_check(item))]
    if problems:
        raise pytest.UsageError("check declared without its metadata: " + "; ".join(dict.fromkeys(problems)))
    run = config.stash[RUN]
    run.ensure_target()
    tier, areas = config.getoption("tier"), set(option(config, "area"))
    keep, drop = [], []
    for item in items:
        if is_check(item) and ((tier and tier != "all" and not item.get_closest_marker(tier))
                               or (areas and item.get_closest_marker("area").args[0] not in areas)):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    run.select_waivers([item for item in items if is_check(item)])
    # disruptive checks last: the rate-limit check spends the window the others need (stable sort)
    items.sort(key=lambda item: is_check(item) and _safety(item) == "disruptive")
    allowed = {"readonly", *option(config, "allow")}
    if run.target.is_production:
        for item in items:
            kind = _safety(item)
            if is_check(item) and kind not in allowed:
                item.add_marker(pytest.mark.skip(
                    reason=f"safety: a {kind} check is not run against production (pass --allow {kind})"))


def _safety(item: pytest.Item) -> str:
    marker = item.get_closest_marker("safety")
    return marker.args[0] if marker else "readonly"
