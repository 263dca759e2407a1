"""Which checks run, and in what order: declarations validated, tier and area, waivers that skip,
disruptive checks last, production safety."""

from __future__ import annotations

import pytest

from nbaverify.markers import AREAS, MARKERS, SAFETY, SEVERITIES, TIERS, marker_arg
from nbaverify.plugins.options import option
from nbaverify.plugins.record import CHECK_PREFIX, RUN, is_check


def pytest_configure(config: pytest.Config) -> None:
    for marker, text in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {text}")
    config.addinivalue_line("python_functions", CHECK_PREFIX + "*")  # checks are check_*, whatever the ini says


def validate_check(item: pytest.Item) -> str | None:
    """What is wrong with a check's declaration, or None: every check says what, how bad, and why."""
    for name in ("area", "severity", "runbook"):
        if not marker_arg(item, name):
            return f"@pytest.mark.{name}(...) is missing"
    if marker_arg(item, "severity") not in SEVERITIES:
        return f"severity must be one of {', '.join(SEVERITIES)}"
    if marker_arg(item, "area") not in AREAS:
        return f"area {marker_arg(item, 'area')!r} is not one of {', '.join(AREAS)}"
    if marker_arg(item, "safety", "readonly") not in SAFETY:
        return f"safety must be one of {', '.join(SAFETY)}"
    if not any(item.get_closest_marker(tier) for tier in TIERS):
        return f"no cadence marker ({', '.join(TIERS)})"
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    checks = [item for item in items if is_check(item)]
    if not checks:
        return
    problems = [f"{item.path}::{getattr(item, 'originalname', item.name)}: {why}"
                for item in checks if (why := validate_check(item))]
    if problems:
        raise pytest.UsageError("check declared without its metadata: " + "; ".join(dict.fromkeys(problems)))
    run = config.stash[RUN]
    target = run.ensure_target()
    tier, areas = config.getoption("tier"), set(option(config, "area"))
    keep, drop = [], []
    for item in items:
        if is_check(item) and ((tier and tier != "all" and not item.get_closest_marker(tier))
                               or (areas and marker_arg(item, "area") not in areas)):
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
    if target.is_production:
        for item in items:
            kind = _safety(item)
            if is_check(item) and kind not in allowed:
                item.add_marker(pytest.mark.skip(
                    reason=f"safety: a {kind} check is not run against production (pass --allow {kind})"))


def _safety(item: pytest.Item) -> str:
    return marker_arg(item, "safety", "readonly")
