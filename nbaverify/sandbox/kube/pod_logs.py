"""The api pods' logs, as the kubelet would serve them: the sandbox API's own output, shared out among the
Deployment's replicas (one record, with its stack-trace lines, to one pod, in turn), stamped as the
kubelet stamps (RFC 3339, nanoseconds), and cut as `sinceSeconds`, `tailLines`, `limitBytes` ask.

The sandbox runs one API process for the Deployment's replicas; each record goes to one pod, so the
suite reading every pod sees each line once, as it would behind a Service. The current container's
log starts at the API's last rollout (the sandbox starts a fresh log when it heals, as a new
ReplicaSet would); the previous container's is the log before it, served only for a container that
restarted, as the kubelet does.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]\d\d:\d\d)\s")


@dataclass(frozen=True)
class ApiLogFiles:
    current: Path   # what the running API writes
    previous: Path  # the log before the last rollout
    rollout: Path   # when the last rollout happened (ISO), written by the sandbox

    @classmethod
    def of(cls, layout) -> ApiLogFiles:
        current = layout.log_file("api")
        return cls(current, current.with_name("api.previous.log"), layout.run_dir / "api.rollout")

    def started(self) -> dt.datetime | None:
        try:
            return dt.datetime.fromisoformat(self.rollout.read_text().strip())
        except (OSError, ValueError):
            return None

    def roll(self, now: dt.datetime | None = None) -> None:
        """A rollout: the current log becomes the previous one and a new one starts, empty.
        Truncated in place: the API writes with O_APPEND, so its next line lands at the new start."""
        if self.current.exists():
            self.previous.write_bytes(self.current.read_bytes())
            with self.current.open("r+b") as log:
                log.truncate(0)
        self.rollout.parent.mkdir(parents=True, exist_ok=True)
        self.rollout.write_text((now or dt.datetime.now(dt.UTC)).isoformat() + "\n")


def _stamp_of(line: str) -> dt.datetime | None:
    found = STAMP.match(line)
    if not found:
        return None
    return dt.datetime.fromisoformat(found.group(1) + ("+00:00" if found.group(2) == "Z" else found.group(2)))


def records(text: str, fallback: dt.datetime) -> list[tuple[dt.datetime, list[str]]]:
    """Lines grouped into records: a line with a timestamp starts one, the lines after it (a trace) belong to it."""
    found: list[tuple[dt.datetime, list[str]]] = []
    for line in text.splitlines():
        at = _stamp_of(line)
        if at is not None or not found:
            found.append((at or fallback, [line]))
        else:
            found[-1][1].append(line)
    return found


def kubelet_format(at: dt.datetime, line: str) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z") + " " + line


def serve(log_file: Path, replica: int, replicas: int, *, since_s: int | None, tail_lines: int | None,
          limit_bytes: int | None, timestamps: bool, started: dt.datetime, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    text = log_file.read_text(errors="replace") if log_file.exists() else ""
    mine = [r for number, r in enumerate(records(text, started)) if number % replicas == replica]
    lines = [(at, line) for at, body in mine for line in body
             if since_s is None or at >= now - dt.timedelta(seconds=since_s)]
    if tail_lines is not None:
        lines = lines[-tail_lines:] if tail_lines > 0 else []
    out = "".join((kubelet_format(at, line) if timestamps else line) + "\n" for at, line in lines)
    if limit_bytes is not None:  # the kubelet stops reading after so many bytes: the newest lines are the ones cut
        out = out.encode()[:limit_bytes].decode(errors="ignore")
    return out
