"""The runs before this one, as the HTML report needs them: how long a check has failed, whether it
flips.

One JSON line a run, appended beside the run folders (`reports/runs.jsonl`): its id, target, tier,
start, status and each check's outcome. Appended under a lock in one write, so runs that finish
together do not interleave; a torn or foreign line is skipped when read, never fatal.
"""

from __future__ import annotations

import fcntl
import itertools
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from nbaverify.results import CheckResult, RunSummary

FILE = "runs.jsonl"
FAILING = frozenset({"failed", "error"})
FLAKY_WINDOW = 10  # a check whose outcome flipped twice in its last ten runs is flaky
STRIP_RUNS = 30
SCANNED = 5000  # lines read back from the end at most, whichever targets they are


def entry(summary: RunSummary) -> dict:
    return {
        "run_id": summary.run_id,
        "target": summary.target,
        "tier": summary.tier,
        "started_at": summary.started_at,
        "status": summary.status,
        "checks": {c.id: c.outcome for c in summary.checks},
        "areas": {c.id: c.area for c in summary.checks},
    }


def append(summary: RunSummary, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILE
    line = (json.dumps(entry(summary), separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
    finally:
        os.close(fd)
    return path


def read(folder: Path, target: str, limit: int = 200) -> list[dict]:
    """The last runs against this target, oldest first.

    Read from the file's end, and no further back than `limit` of them or SCANNED lines: a year of
    runs is a file of some 100 MB (a gate's line is 23 kB), and every run reads it.
    """
    mark = f'"target":{json.dumps(target)}'.encode()  # as append() writes it
    runs: list[dict] = []
    try:
        with (folder / FILE).open("rb") as history:
            for line in itertools.islice(_backwards(history), SCANNED):
                if mark not in line:
                    continue
                try:
                    run = json.loads(line)
                except ValueError:
                    continue
                if (
                    isinstance(run, dict)
                    and run.get("target") == target
                    and isinstance(run.get("checks"), dict)
                ):
                    runs.append(run)
                    if len(runs) == limit:
                        break
    except OSError:
        return []
    return runs[::-1]


def _backwards(history: BinaryIO, block: int = 1 << 20) -> Iterator[bytes]:
    """The file's lines, last first, a block at a time from its end."""
    end = history.seek(0, os.SEEK_END)
    rest = b""  # the start of a line that began in an earlier block
    while end > 0:
        start = max(0, end - block)
        history.seek(start)
        lines = (history.read(end - start) + rest).split(b"\n")
        end = start
        rest = lines.pop(0) if end > 0 else b""
        yield from (line for line in reversed(lines) if line)


@dataclass(frozen=True)
class Streak:
    """How long a check has failed: the consecutive failing runs up to this one, the first of them
    (id and start), and whether the record reaches back to the streak's start (`complete`)."""

    runs: int  # consecutive runs failing, this one included
    since_run: str  # the first of them
    since_at: str
    complete: bool  # False: the streak reaches back past the oldest run on record


@dataclass
class Triage:
    """What the runs on record say of this run, for the HTML report: since when each failing check
    fails, which checks flip (flaky), and for the recent runs the passed / judged counts by area
    (the strip)."""

    failing_since: dict[str, Streak] = field(default_factory=dict)
    flaky: set[str] = field(default_factory=set)
    # run, start, area -> (ok, n)
    strip: list[tuple[str, str, dict[str, tuple[int, int]]]] = field(default_factory=list)


def triage(summary: RunSummary, past: list[dict]) -> Triage:
    """What the runs on record say of this one's checks (past: oldest first, this run not among
    them)."""
    runs = [r for r in past if r.get("run_id") != summary.run_id] + [entry(summary)]
    found = Triage()
    for check in summary.checks:
        seen = [
            (r["run_id"], r.get("started_at", ""), r["checks"][check.id])
            for r in runs
            if check.id in r["checks"]
        ]
        if check.outcome in FAILING:
            streak = 0
            for _, _, outcome in reversed(seen):
                if outcome not in FAILING:
                    break
                streak += 1
            first = seen[-streak]
            found.failing_since[check.id] = Streak(
                streak, first[0], first[1], complete=streak < len(seen)
            )
        recent = [
            outcome in FAILING
            for _, _, outcome in seen[-FLAKY_WINDOW:]
            if outcome in FAILING | {"passed"}
        ]
        if sum(a != b for a, b in itertools.pairwise(recent)) >= 2:
            found.flaky.add(check.id)
    for run in runs[-STRIP_RUNS:]:
        areas: dict[str, Counter] = {}
        for cid, outcome in run["checks"].items():
            area = run.get("areas", {}).get(cid, "?")
            tally = areas.setdefault(area, Counter())
            if outcome in FAILING | {"passed"}:
                tally["n"] += 1
                tally["ok"] += outcome == "passed"
        found.strip.append(
            (
                run["run_id"],
                run.get("started_at", ""),
                {a: (t["ok"], t["n"]) for a, t in areas.items()},
            )
        )
    return found


def category(check: CheckResult) -> str:
    """What kind of failure it is, for the on-call's first glance."""
    if check.outcome == "error":
        return "target unreachable" if check.message.startswith("unreachable:") else "could not run"
    if check.outcome == "skipped":
        return "not configured" if check.message.startswith("not configured") else "does not apply"
    if check.area == "security":
        return "security finding"
    if "expected" in check.message:
        return "drift from the expectations"
    return "threshold crossed"
