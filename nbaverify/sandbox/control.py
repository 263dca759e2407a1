"""The control file: how the sandbox tells its running API which faults are on.

The sandbox writes `control.json` atomically (write, then rename); the API looks at the file's
identity (inode, mtime) on each request and rereads it only when it changed, so a fault is in
force for the very next request after `sandbox up --fault` returns, with no restart.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from nbaverify import procs

FLAGS_FILE = Path(__file__).parent / "api_flags.json"


@cache
def flags() -> dict:
    """api_flags.json: the fault switches both implementations honour, defined once."""
    return json.loads(FLAGS_FILE.read_text())


@dataclass(frozen=True)
class Control:
    """What control.json tells the running API: the fault flags on, the write's generation (the rate
    limiter starts clean windows on a new one), the client addresses the limiter lets through, and
    settings such as capacity_limited.
    """

    faults: frozenset[str] = frozenset()
    generation: int = 0  # bumped on every write: the API resets its rate-limit windows on a change
    # client addresses the rate limiter lets through (load tests)
    allowlist: frozenset[str] = frozenset()
    settings: dict = field(default_factory=dict)

    def on(self, flag: str) -> bool:
        """Is this API behaviour switched on? Only flags of api_flags.json exist: a typo fails
        loudly."""
        if flag not in flags()["flags"]:
            raise KeyError(
                f"unknown API fault flag {flag!r} (not in nbaverify/sandbox/api_flags.json)"
            )
        return flag in self.faults


def write(path: Path, faults: set[str] | frozenset[str], allowlist=(), settings=None) -> Control:
    previous = read(path)
    control = Control(
        frozenset(faults), previous.generation + 1, frozenset(allowlist), dict(settings or {})
    )
    procs.write_atomic(
        path,
        json.dumps(
            {
                "faults": sorted(control.faults),
                "generation": control.generation,
                "allowlist": sorted(control.allowlist),
                "settings": control.settings,
            },
            indent=2,
        )
        + "\n",
    )
    return control


def read(path: Path) -> Control:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return Control()
    return Control(
        frozenset(raw.get("faults", ())),
        int(raw.get("generation", 0)),
        frozenset(raw.get("allowlist", ())),
        dict(raw.get("settings", {})),
    )


class Watcher:
    """Rereads the control file when, and only when, it changed (one stat per call)."""

    def __init__(self, path: Path):
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._control = Control()

    def current(self) -> Control:
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_mtime_ns)
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            self._control = read(self.path)
        return self._control
