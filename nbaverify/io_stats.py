"""Calls a run makes to the target and the time they take, by kind (http, sql, prometheus).

The gate benchmark reads these to say where a run's time goes; the production-safety self-test
reads them to count what reached the target. Kept per process: one run is one pytest session.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Tally:
    calls: int = 0
    seconds: float = 0.0


class IoStats:
    def __init__(self) -> None:
        self._tallies: defaultdict[str, Tally] = defaultdict(Tally)

    @contextmanager
    def timed(self, kind: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            tally = self._tallies[kind]
            tally.calls += 1
            tally.seconds += time.perf_counter() - start

    def reset(self) -> None:
        self._tallies.clear()

    def snapshot(self) -> dict[str, dict[str, float]]:
        return {kind: {"calls": t.calls, "seconds": round(t.seconds, 4)} for kind, t in sorted(self._tallies.items())}


IO = IoStats()
