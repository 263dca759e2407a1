"""Cumulative counters judged by their change: what happened since the previous run, not since a
reset.

A counter such as pg_stat_user_tables.seq_scan or a container's restartCount only ever grows
(until its statistics are reset); its total says what ever happened, not what is wrong now. A
check reads the counters of every object, hands them here with the history, and judges the
`Change`: per object, how much each counter grew since the previous run against this target.

- first run (no history): no change can be known; the reading becomes the baseline, and the
  check says so in its evidence instead of judging totals;
- statistics reset since (the `epoch` differs, or a counter went down): everything counted now
  happened after the previous run, so the current values are the change;
- an object absent from the previous reading is new (`Change.new`): counted entirely within the
  window, and young (an index created since is not "unused").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from nbaverify.check_memory import History

Readings = dict[str, dict[str, float]]


@dataclass(frozen=True)
class Change:
    """How much each object's cumulative counters grew since the previous run (or a statistics
    reset), over a window of `window_s` seconds, and which objects appeared within it."""

    deltas: Readings  # per object, how much each counter grew in the window
    since: str  # "the previous run at ..." / "the statistics reset at ..."
    window_s: float  # how long the window is
    # objects that appeared within the window
    new: frozenset[str] = field(default_factory=frozenset)

    def describe(self) -> str:
        return f"since {self.since} ({_duration(self.window_s)} ago)"


def since_last_run(
    history: History,
    key: str,
    readings: Readings,
    epoch: str | None = None,
    now: dt.datetime | None = None,
    min_window_s: float = 0.0,
) -> Change | None:
    """The change since the previous run's reading (None on the first run: this one is the
    baseline).

    `epoch` names the counters' origin (the statistics reset time); a different one means a reset.
    With min_window_s, a window shorter than that is not judged yet (None) and the older baseline
    is kept, so a check that must observe a week still does when it runs daily.
    """
    now = now or dt.datetime.now(dt.UTC)
    record = {"at": now.isoformat(), "epoch": epoch, "readings": readings}
    previous = history.peek(key)
    if not previous or "readings" not in previous:
        history.remember(key, record)
        return None
    at = dt.datetime.fromisoformat(previous["at"])
    reset = epoch != previous.get("epoch")
    window_start = dt.datetime.fromisoformat(epoch) if reset and epoch else at
    window_s = max(0.0, (now - max(at, window_start)).total_seconds())
    if window_s < min_window_s:
        return None  # keep the older baseline: the window is not long enough to judge yet
    history.remember(key, record)
    before: Readings = previous["readings"]
    deltas: Readings = {}
    for name, counters in readings.items():
        old = before.get(name)
        if reset or old is None or any(counters.get(c, 0) < old.get(c, 0) for c in counters):
            deltas[name] = dict(counters)  # reset (or new): all of it was counted within the window
        else:
            deltas[name] = {c: v - old.get(c, 0) for c, v in counters.items()}
    since = (
        f"the statistics reset at {epoch[:19]}Z"
        if reset and epoch
        else f"the previous run at {previous['at'][:19]}Z"
    )
    return Change(
        deltas, since, window_s, frozenset(name for name in readings if name not in before)
    )


def first_run_note(min_window_s: float = 0.0) -> str:
    """What a check's evidence says when it could not judge a change yet."""
    if min_window_s:
        return f"baseline kept: a change is judged over at least {_duration(min_window_s)}"
    return (
        "first run against this target: the counters' baseline is recorded; the next run judges"
        " their change"
    )


def duration_words(seconds: float) -> str:
    """'40 s', '12 min', '5.0h', '2.1 days': a span as a person reads it."""
    return _duration(seconds)


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f}h"
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f}s"
