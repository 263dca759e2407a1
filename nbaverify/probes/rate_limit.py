"""What a reply says about the rate limiter's view of the client: its `RateLimit-*` or
`X-RateLimit-*` headers.

express-rate-limit sends the IETF draft's `RateLimit-Remaining` and `RateLimit-Reset` (seconds until
the window turns); koa-ratelimit sends `X-RateLimit-Remaining` and `X-RateLimit-Reset` as a Unix
time. Both are read here, so a check compares what it saw without knowing which library answered.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# a reset larger than this is a Unix time, not seconds to wait (2001 or later)
EPOCH_AFTER = 1_000_000_000


@dataclass(frozen=True)
class LimiterView:
    """The limiter's answer to one request: how many are left in the window and when it turns
    (seconds from `at`)."""

    remaining: int
    reset_in_s: float | None
    at: float  # the wall-clock time the reply came (time.time())


def view(headers: Mapping[str, str], at: float) -> LimiterView | None:
    """The limiter's view from a reply's headers, or None when the reply carries no remaining
    count."""
    remaining = _header(headers, "remaining")
    if remaining is None:
        return None
    try:
        left = int(remaining.split(",")[0].split(";")[0].strip())
    except ValueError:
        return None
    return LimiterView(left, reset_in(headers, at), at)


def reset_in(headers: Mapping[str, str], at: float) -> float | None:
    """Seconds from `at` until the window turns, from RateLimit-Reset (seconds) or X-RateLimit-Reset
    (seconds or a Unix time), else Retry-After; None when none says."""
    for raw in (_header(headers, "reset"), headers.get("retry-after")):
        if raw is None:
            continue
        try:
            value = float(raw.split(",")[0].split(";")[0].strip())
        except ValueError:
            continue
        return max(0.0, value - at) if value > EPOCH_AFTER else value
    return None


def _header(headers: Mapping[str, str], field: str) -> str | None:
    return headers.get(f"ratelimit-{field}") or headers.get(f"x-ratelimit-{field}")


def counted(before: LimiterView, after: LimiterView) -> int | None:
    """How many requests the limiter counted between two views of one window (the later one
    included), or None when the window turned between them (the count started again)."""
    if after.remaining > before.remaining:
        return None
    return before.remaining - after.remaining


def stalls(views: Sequence[LimiterView | None], limit: int) -> list[tuple[int, int]]:
    """Where one count of a client, sent request after request, did not fall: (before, after) pairs
    of remaining counts that stayed or rose, less one turn of the window (a rise to a fresh count,
    one below the limit).
    """
    remaining = [view.remaining for view in views if view is not None]
    found = [(before, after) for before, after in itertools.pairwise(remaining) if after >= before]
    turn = next(
        ((before, after) for before, after in found if after > before and after == limit - 1), None
    )
    if turn is not None:
        found.remove(turn)
    return found
