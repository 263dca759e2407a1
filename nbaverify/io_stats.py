"""Calls a run makes to the target and the time they take, by kind (http, sql, prometheus).

The gate benchmark reads these to say where a run's time goes; the production-safety self-test
reads them to count what reached the target. Kept per process: one run is one pytest session.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Tally:
    """The calls of one kind a run made to the target, and the seconds they took in all (calls made
    side by side each count their own, so this may exceed the wall time they spanned)."""

    calls: int = 0
    seconds: float = 0.0


class IoStats:
    """The run's calls to the target by kind (http, sql, kubernetes, ...): `timed(kind)` counts one
    and its time, `snapshot` is what summary.json keeps. One a process: `IO`."""

    def __init__(self) -> None:
        self._tallies: defaultdict[str, Tally] = defaultdict(Tally)
        # calls made side by side (a prefetch's threads) each add their own time
        self._lock = threading.Lock()

    @contextmanager
    def timed(self, kind: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                tally = self._tallies[kind]
                tally.calls += 1
                tally.seconds += time.perf_counter() - start

    def count(self, kind: str) -> None:
        """One more call of a kind that is counted, not timed (the requests charged to the API's
        budget)."""
        self._tallies[kind].calls += 1

    def reset(self) -> None:
        self._tallies.clear()

    def snapshot(self) -> dict[str, dict[str, float]]:
        return {
            kind: {"calls": t.calls, "seconds": round(t.seconds, 4)}
            for kind, t in sorted(self._tallies.items())
        }


IO = IoStats()
