"""Values a check remembers between runs against the same target ("deadlocks since the last run").

One JSON file per target under NBAVERIFY_STATE_DIR (default ~/.local/state/nbaverify), written
once at the end of the run, so an interrupted run leaves the previous values in place. Runs that
overlap (two CronJobs, a CI retry) each merge their own keys into the file under a lock and
replace it atomically: no torn JSON, no lost update.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from pathlib import Path
from typing import Any


def state_dir() -> Path:
    return Path(
        os.environ.get("NBAVERIFY_STATE_DIR") or Path.home() / ".local" / "state" / "nbaverify"
    )


class History:
    """What runs against one target remember between them, one JSON file per target under
    NBAVERIFY_STATE_DIR: the previous run's values, read at the start, and this run's, merged into
    the file by `save` at the end of the run.
    """

    def __init__(self, target_name: str, directory: Path | None = None):
        self.path = (directory or state_dir()) / f"history-{target_name}.json"
        try:
            self._previous: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self._previous = {}
        self._updates: dict[str, Any] = {}

    def exchange(self, key: str, value: Any) -> Any:
        """Remember value for the next run; return what the previous run remembered (or None)."""
        self._updates[key] = value
        return self._previous.get(key)

    def peek(self, key: str) -> Any:
        """What the previous run remembered under key (or None), without replacing it."""
        return self._previous.get(key)

    def remember(self, key: str, value: Any) -> None:
        """Replace what the next run will find under key."""
        self._updates[key] = value

    def save(self) -> None:
        if not self._updates:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            # another run's save waits here, then merges on top of ours
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                current = json.loads(self.path.read_text())
            except (OSError, ValueError):
                current = {}
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
            with os.fdopen(fd, "w") as fh:
                fh.write(json.dumps({**current, **self._updates}, indent=2, default=str) + "\n")
            os.replace(tmp, self.path)
