"""`eventually`: wait for converging state (a replica catching up, a rollout finishing) instead of
rerunning.

A check hands it an assertion; it is retried until it holds or the time is up, and then the last
failure is raised, saying how long the state was given to converge. Retries are tenacity's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_delay, wait_fixed

T = TypeVar("T")


def eventually(assertion: Callable[[], T], *, timeout: float, interval: float = 0.5) -> T:
    """assertion() once it stops raising AssertionError; if it never does within timeout, its last
    AssertionError."""
    retrying = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(interval),
        retry=retry_if_exception_type(AssertionError),
    )
    try:
        return retrying(assertion)
    except RetryError as exc:
        last = str(exc.last_attempt.exception()).strip()
        # pytest appends its rewritten expression
        first = last.splitlines()[0] if last else "assertion failed"
        raise AssertionError(
            f"{first} (still so after {timeout:g}s, {exc.last_attempt.attempt_number} attempts)"
        ) from None
