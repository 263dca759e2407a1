"""Base backups on disk: which is newest, and when it started (from its backup_label)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BaseBackup:
    """A base backup on disk: its folder, and when it started (UTC, from its backup_label)."""

    path: Path
    started: dt.datetime

    def age_h(self, now: dt.datetime | None = None) -> float:
        now = now or dt.datetime.now(dt.UTC)
        return (now - self.started).total_seconds() / 3600


def read_start_time(label: Path) -> dt.datetime | None:
    """`START TIME: 2026-11-28 16:17:10 UTC` — what pg_basebackup writes into backup_label."""
    for line in label.read_text().splitlines():
        if line.startswith("START TIME:"):
            stamp = line.split(":", 1)[1].strip()
            value, _, zone = stamp.rpartition(" ")
            try:
                parsed = dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
            except ValueError:
                return None
            return (
                parsed.replace(tzinfo=dt.UTC)
                if zone in ("UTC", "GMT")
                else parsed.astimezone(dt.UTC)
            )
    return None


def newest(directory: Path) -> BaseBackup | None:
    found = []
    for label in directory.glob("*/backup_label"):
        started = read_start_time(label)
        if started:
            found.append(BaseBackup(label.parent, started))
    return max(found, key=lambda b: b.started) if found else None
