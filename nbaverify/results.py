"""The run record (Contract 3): one model that summary.json, JUnit and Markdown are all rendered
from."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbaverify.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from nbaverify.markers import SEVERITIES

OUTCOMES = ("passed", "failed", "error", "skipped", "waived")
# --fail-on LEVEL: which severities fail the run (Contract 3's default: critical only)
FAIL_ON = {
    "critical": {"critical"},
    "warning": {"critical", "warning"},
    "info": set(SEVERITIES),
    "never": set(),
}


@dataclass
class CheckResult:
    """One check's result in a run, as summary.json keeps it (Contract 3).

    From the catalogue: its id, area, tiers, severity, safety, runbook and every guide section it
    verifies. From the run: its outcome (passed, failed, error, skipped, waived), a one-line
    message, its duration in seconds and the evidence it saw, message and evidence redacted. The
    pytest plugin makes one a check (plugins.record) and every report is rendered from them;
    `blocking(fail_on)` says whether it fails the run."""

    id: str
    area: str
    tiers: list[str]
    severity: str
    safety: str
    runbook: str
    outcome: str = "passed"
    message: str = ""
    duration_s: float = 0.0
    evidence: dict = field(default_factory=dict)
    # every guide section it verifies, its runbook first
    guide: list[str] = field(default_factory=list)

    def blocking(self, fail_on: str = "critical") -> bool:
        """Does this result fail the run? (checks of a failing severity that failed or could not
        run)"""
        return self.severity in FAIL_ON[fail_on] and self.outcome in ("failed", "error")


@dataclass
class RunSummary:
    """The record of one check run (Contract 3), written as summary.json and read back by `read` /
    `read_dict`.

    It holds the run's id, target, environment, tier and start, every CheckResult, the totals by
    outcome, the waivers that named a selected check, the run's calls to the target (`io`), and for
    an interrupted run the checks it did not reach. `finish` counts the totals and sets the exit
    code; `status` and `status_line` are the verdict for schedulers (OK, WARNING, CRITICAL,
    INTERRUPTED). JUnit, Markdown, HTML, SARIF, evidence.json, the run history and the run's metrics
    are all made from it, so no two can disagree."""

    run_id: str
    target: str
    environment: str
    tier: str
    started_at: str
    duration_s: float = 0.0
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    checks: list[CheckResult] = field(default_factory=list)
    nbaverify_version: str = ""
    exit_code: int = 0
    fail_on: str = "critical"
    # each waiver that named a selected check, with its state
    waivers: list[dict] = field(default_factory=list)
    # calls to the target and their time, by kind (nbaverify.io_stats)
    io: dict = field(default_factory=dict)
    # SIGINT or SIGTERM stopped the run: `checks` is what ran, `not_run` the rest
    interrupted: bool = False
    not_run: list[str] = field(default_factory=list)

    def finish(self, duration_s: float) -> None:
        self.duration_s = round(duration_s, 3)
        self.totals = dict.fromkeys(OUTCOMES, 0)
        for check in self.checks:
            self.totals[check.outcome] += 1
        blocking = any(check.blocking(self.fail_on) for check in self.checks)
        # an expired waiver fails
        self.exit_code = EXIT_FAILED if blocking or self.expired_waivers else EXIT_OK
        if self.interrupted:  # an incomplete run is neither a pass nor a fail: a code of its own
            self.exit_code = EXIT_INTERRUPTED

    @property
    def expired_waivers(self) -> list[dict]:
        return [w for w in self.waivers if w.get("state") == "expired"]

    @property
    def status(self) -> str:
        if self.interrupted:
            return "INTERRUPTED"
        if self.expired_waivers or any(c.blocking("critical") for c in self.checks):
            return "CRITICAL"
        if any(c.outcome in ("failed", "error") for c in self.checks):
            return "WARNING"
        return "OK"

    def status_line(self) -> str:
        """One line for schedulers and the end of a terminal run."""
        t = self.totals
        parts = [f"{t['passed']} passed", f"{t['failed']} failed"]
        parts += [f"{t[k]} {k}" for k in ("error", "skipped", "waived") if t[k]]
        if self.expired_waivers:
            parts.append(f"{len(self.expired_waivers)} expired waiver(s)")
        if self.interrupted:
            parts.append(f"{len(self.not_run)} not run")
        return f"NBAVERIFY {self.status} - {', '.join(parts)} in {self.duration_s:.1f}s"

    def to_dict(self) -> dict:
        return asdict(self)

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")

    @classmethod
    def read(cls, path: Path) -> RunSummary:
        return cls.read_dict(json.loads(path.read_text()))

    @classmethod
    def read_dict(cls, raw: dict) -> RunSummary:
        raw = {**raw, "checks": [CheckResult(**c) for c in raw.get("checks", [])]}
        return cls(**raw)


def new_run_id(tier: str, target: str, now: dt.datetime | None = None) -> str:
    """time-tier-target-xxxxxxxx: sortable, readable, and unique even for many runs started in the
    same second (four hex digits collided once in 50 such runs, 2 % by the birthday bound: CI found
    it)."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{tier}-{target}-{secrets.token_hex(4)}".replace("/", "_")


def utc_now_iso() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
