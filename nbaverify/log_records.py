"""The API's log as records: each line that starts with a time or is JSON begins one, the lines
after it (a stack trace) belong to it. Formats met in the wild are read alike: the kubelet's
timestamp prefix (`timestamps=true`), then the application's own line, plain
(`2026-12-01T10:00:00.000Z warn Slow response: ...`, `ERROR ...`, `level=error ...`) or JSON
(winston's `{"level":"error","message":...}`, pino's numeric levels and `msg`), and an access log's
request lines (the combined format: their time in brackets) each a record of its own. The log
sources use it to see how far back a file reaches; the log review reads the records."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field

from nbaverify.redact import scrub

KUBELET = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) ")
APP_TIME = re.compile(
    r"^\[?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?)\]?\s+"
)
LEVEL = re.compile(
    r"^\W*(?:level=)?(fatal|critical|crit|error|err|warning|warn|info|notice|debug|trace)\b\W*",
    re.IGNORECASE,
)
# an access log's line (nginx's, morgan's combined or common format): its own time in brackets, no
# level
ACCESS_TIME = re.compile(r'^\S+ \S+ \S+ \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "')
PINO_LEVELS = {60: "fatal", 50: "error", 40: "warn", 30: "info", 20: "debug", 10: "trace"}
CANONICAL = {
    "critical": "fatal",
    "crit": "fatal",
    "err": "error",
    "warning": "warn",
    "notice": "info",
}
ERROR_LEVELS = frozenset({"error", "fatal"})  # the levels the daily review counts as errors
NODE_FRAME = re.compile(r"^\s+at\s+\S")
PYTHON_TRACE = "Traceback (most recent call last):"
SAMPLE_CHARS = 240


def _time(raw: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(
            raw.replace(",", ".").replace(" ", "T", 1).replace("Z", "+00:00")
        )
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


@dataclass
class Record:
    """One record of an application log: its time and level where the line gives them, its message,
    the stream it came from, and its raw lines (a stack trace's included). `headline` and `sample`
    are scrubbed for reports.
    """

    at: dt.datetime | None
    level: str  # fatal, error, warn, info, debug, trace, or "" when the line says none
    message: str
    stream: str
    lines: list[str] = field(default_factory=list)  # the raw text, continuation lines included

    @property
    def traced(self) -> bool:
        return any(NODE_FRAME.match(line) for line in self.lines[1:]) or any(
            PYTHON_TRACE in line for line in self.lines
        )

    def headline(self) -> str:
        """The message, and for a Python traceback its closing line (the exception): scrubbed, one
        line."""
        tail = [line.strip() for line in self.lines[1:] if line.strip() and not line[:1].isspace()]
        said = self.message.strip() + (f" ... {tail[-1]}" if tail and self.traced else "")
        return scrub(said)[:SAMPLE_CHARS]

    def sample(self, lines: int = 1) -> str:
        return scrub(" | ".join(line.strip() for line in self.lines[:lines]))[:SAMPLE_CHARS]


def _parse_line(text: str) -> tuple[dt.datetime | None, str, str] | None:
    """(time, level, message) of a line that starts a record, None for a continuation line."""
    if text.startswith("{"):
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if isinstance(body, dict):
            level = body.get("level", "")
            level = PINO_LEVELS.get(level, "") if isinstance(level, int) else str(level).lower()
            when = body.get("time") or body.get("timestamp")
            at = (
                dt.datetime.fromtimestamp(when / 1000, dt.UTC)
                if isinstance(when, int | float)
                else _time(str(when))
                if when
                else None
            )
            return (
                at,
                CANONICAL.get(level, level),
                str(body.get("msg") or body.get("message") or ""),
            )
    access = ACCESS_TIME.match(text)
    if access:  # a request line of its own, not a continuation of the record before it
        return dt.datetime.strptime(access.group(1), "%d/%b/%Y:%H:%M:%S %z"), "", text
    found = APP_TIME.match(text)
    if not found:
        return None
    rest = text[found.end() :]
    level = LEVEL.match(rest)
    if not level:
        return _time(found.group(1)), "", rest
    name = level.group(1).lower()
    return _time(found.group(1)), CANONICAL.get(name, name), rest[level.end() :]


def records(text: str, stream: str, kubelet_stamps: bool = False) -> list[Record]:
    """kubelet_stamps: each line starts with the kubelet's time (pod logs read with
    timestamps=true)."""
    lines = text.splitlines()
    raw = [(KUBELET.match(line) if kubelet_stamps else None, line) for line in lines]
    bodies = [(_time(m.group(1)) if m else None, line[m.end() :] if m else line) for m, line in raw]
    stamped = any(_parse_line(body) for _, body in bodies[:200])
    found: list[Record] = []
    for kubelet_at, body in bodies:
        parsed = _parse_line(body)
        if parsed is None and not stamped and body.strip() and not body[:1].isspace():
            # an application that writes no time: each unindented line is a record
            level = LEVEL.match(body)
            name = level.group(1).lower() if level else ""
            parsed = (None, CANONICAL.get(name, name), body[level.end() :] if level else body)
        if parsed is not None or not found:
            at, level_name, message = parsed or (None, "", body)
            found.append(Record(at or kubelet_at, level_name, message, stream, [body]))
        else:
            found[-1].lines.append(body)
            if found[-1].at is None:
                found[-1].at = kubelet_at
    return found


def first_timestamp(text: str) -> dt.datetime | None:
    return next((r.at for r in records(text[:20000], "") if r.at), None)
