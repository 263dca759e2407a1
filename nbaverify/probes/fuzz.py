"""Hypothesis settings for fuzzing a live target: a fixed number of requests, no more."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hypothesis import settings


def within_budget(examples: int) -> settings:
    """Exactly `examples` generated cases, reproducible, never shrunk: shrinking a failure would
    send an unbounded number of extra requests against the target's rate limit."""
    # only the fuzzing checks (quarterly) import Hypothesis
    from hypothesis import HealthCheck, Phase, settings

    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        report_multiple_bugs=False,
        suppress_health_check=list(HealthCheck),
    )
