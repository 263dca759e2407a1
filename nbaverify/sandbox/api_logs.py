"""The sandbox API's log files: as written (what a host's log file holds, read by the `hosts` log
source) and in the CRI log format (what the kubelet serves for the api pod: KWOK reads it,
nbaverify.sandbox.kubernetes), each with the log of the container before the last rollout."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ApiLogFiles:
    """The sandbox API's log files: as written and in the CRI format KWOK serves for the api pod,
    each with the log from before the last rollout, and the file that says when that rollout was;
    `roll` makes one."""

    current: Path  # what the running API writes
    previous: Path  # the log before the last rollout
    current_cri: Path  # the same lines, framed and stamped as the container runtime keeps them
    previous_cri: Path
    rollout: Path  # when the last rollout happened (ISO), written by the sandbox

    @classmethod
    def of(cls, layout) -> ApiLogFiles:
        current = layout.log_file("api")
        return cls(
            current,
            current.with_name("api.previous.log"),
            current.with_name("api.cri.log"),
            current.with_name("api.previous.cri.log"),
            layout.run_dir / "api.rollout",
        )

    def started(self) -> dt.datetime | None:
        try:
            return dt.datetime.fromisoformat(self.rollout.read_text().strip())
        except (OSError, ValueError):
            return None

    def roll(self, now: dt.datetime | None = None) -> None:
        """A rollout: each current log becomes the previous one and a new one starts, empty.
        Truncated in place: its writer appends (O_APPEND), so its next line lands at the new
        start."""
        for current, previous in (
            (self.current, self.previous),
            (self.current_cri, self.previous_cri),
        ):
            if current.exists():
                previous.write_bytes(current.read_bytes())
                with current.open("r+b") as log:
                    log.truncate(0)
            else:
                current.parent.mkdir(parents=True, exist_ok=True)
                current.touch()
                previous.touch()
        self.rollout.parent.mkdir(parents=True, exist_ok=True)
        self.rollout.write_text((now or dt.datetime.now(dt.UTC)).isoformat() + "\n")
