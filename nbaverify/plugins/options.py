"""The plugin's run options: the same table `nbaverify check` is built from (nbaverify.options)."""

from __future__ import annotations

import pytest

from nbaverify import options
from nbaverify.markers import TIERS

OPTIONS = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nbaverify", "nbaverify: verify the NBA Stat Projections platform")
    for option in options.OPTIONS:  # the same table `nbaverify check` is built from
        group.addoption(
            option.flag,
            metavar=option.metavar,
            help=option.full_help(),
            default=None,
            choices=option.choices,
            action="append" if option.repeat else "store",
            dest=f"nbv_{option.dest}",
        )
    group.addoption(
        "--tier",
        metavar="TIER",
        choices=(*TIERS, "all"),
        default=None,
        help=(
            f"run one cadence: {', '.join(TIERS)} or all (e.g. --tier gate; `nbaverify check TIER`)"
        ),
    )


def option(config: pytest.Config, dest: str):
    """A run option as resolved: command line > NBAVERIFY_* environment > project configuration >
    default."""
    cache = config.stash.setdefault(OPTIONS, {})
    if dest not in cache:
        cache[dest] = options.resolve(dest, config.getoption(f"nbv_{dest}"))
    return cache[dest]
