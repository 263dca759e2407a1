"""The load run's record: one model that summary.json, summary.md, report.html and the terminal are
rendered from (nbaverify.reports.load_report), as RunSummary is for a check run."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbaverify.exit_codes import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK
from nbaverify.loadtest.stats import EndpointStats
from nbaverify.loadtest.thresholds import Verdict

KIND = "load"
TREND_METRICS = (
    ("p95_ms", "p95", "ms", True),
    ("p99_ms", "p99", "ms", True),
    ("rps", "throughput", "req/s", False),
    ("error_rate", "error rate", "", True),
)


@dataclass
class LoadTotals:
    """A load run's figures over every request: counts, req/s, response times in ms, the error rate
    (a fraction), and for the open model the planned and achieved arrival rates."""

    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    error_rate: float
    target_rps: float | None = None  # open model: the planned mean arrival rate
    achieved_rps: float | None = None

    @classmethod
    def of(cls, overall: EndpointStats) -> LoadTotals:
        return cls(
            requests=overall.requests,
            failures=overall.failures,
            rps=round(overall.rps, 2),
            p50_ms=overall.p50_ms,
            p95_ms=overall.p95_ms,
            p99_ms=overall.p99_ms,
            error_rate=round(overall.error_rate, 5),
        )

    def metric(self, key: str) -> float:
        return float(getattr(self, key))


@dataclass
class TrendRow:
    """One metric against the previous comparable run: both values, the change in percent, and
    whether it regressed."""

    metric: str
    previous: float
    current: float
    change_pct: float
    unit: str
    regression: bool


@dataclass
class Trend:
    """How a load run compares with the latest earlier complete run of the same target, profile and
    model: that run's id, a row a metric, and each regression past the tolerance as a line for the
    report."""

    previous_run: str | None = None
    deltas: list[TrendRow] = field(default_factory=list)
    regressions: list[str] = field(default_factory=list)

    @classmethod
    def between(
        cls, current: LoadTotals, previous: LoadSummary | None, tolerance_pct: float
    ) -> Trend:
        if previous is None:
            return cls()
        trend = cls(previous_run=previous.run_id)
        for key, label, unit, lower_is_better in TREND_METRICS:
            now, before = current.metric(key), previous.totals.metric(key)
            change = (
                ((now - before) / before * 100) if before else (0.0 if now == before else 100.0)
            )
            worse = change > tolerance_pct if lower_is_better else change < -tolerance_pct
            if key == "error_rate":
                # from 0 errors any error is a regression; percentages of ~0 mislead
                worse = now > before and now - before > 0.001
            trend.deltas.append(TrendRow(label, before, now, round(change, 1), unit, worse))
            if worse:
                trend.regressions.append(
                    f"{label} {_fmt(before, key)} -> {_fmt(now, key)} ({change:+.0f}%, "
                    f"tolerance {tolerance_pct:g}%)"
                )
        return trend


def _fmt(value: float, key: str) -> str:
    return (
        f"{value:.2%}"
        if key == "error_rate"
        else f"{value:.0f} ms"
        if key.endswith("_ms")
        else f"{value:.1f}/s"
    )


@dataclass
class LoadSummary:
    """The record of one `nbaverify load` run, kept as its summary.json (`write`, `read`).

    It holds the target, profile, model and workers, the totals, each threshold's verdict, every
    problem that fails the run, the trend against the previous comparable run, the endpoints, and
    for the capacity profile its knee, projection and steps (`capacity`). The verdict, exit code and
    status line follow from the problems and from whether the run was interrupted. summary.md,
    report.html and the terminal are rendered from it; the next run's trend and `nbaverify report`
    read it back."""

    run_id: str
    target: str
    environment: str
    profile: str
    model: str  # closed | open
    workers: int
    started_at: str
    duration_s: float
    totals: LoadTotals
    thresholds: list[Verdict] = field(default_factory=list)
    # each a reason the run fails, thresholds' among them
    problems: list[str] = field(default_factory=list)
    aborted: str | None = None  # why an abort threshold or the deadline stopped Locust early
    interrupted: bool = False  # SIGINT or SIGTERM stopped the run: the figures cover only what ran
    rate_limited: int = 0
    peak_rss_mib: dict[str, float] = field(default_factory=dict)
    endpoints: list[EndpointStats] = field(default_factory=list)
    trend: Trend = field(default_factory=Trend)
    # the capacity profile's knee, projection and steps (nbaverify.loadtest.capacity)
    capacity: dict | None = None
    # the traffic mix: planned (weights by request) and where from, beside the observed one
    # (nbaverify.loadtest.observed)
    mix: dict | None = None
    nbaverify_version: str = ""
    kind: str = KIND

    @property
    def verdict(self) -> str:
        return "INTERRUPTED" if self.interrupted else "FAIL" if self.problems else "PASS"

    @property
    def exit_code(self) -> int:
        return EXIT_INTERRUPTED if self.interrupted else EXIT_FAILED if self.problems else EXIT_OK

    @property
    def comparable(self) -> bool:
        """Can a later run's trend be measured against this one? (a run cut short is not the
        profile)"""
        return not self.interrupted and self.totals.requests > 0

    def status_line(self) -> str:
        if self.capacity is not None:
            return self._capacity_line(self.capacity)
        t = self.totals
        passed = sum(v.outcome == "passed" for v in self.thresholds)
        return (
            f"NBAVERIFY LOAD {self.verdict} - {passed}/{len(self.thresholds)} thresholds,"
            f" {t.requests} requests, {t.rps:.1f}/s, p95 {t.p95_ms:.0f} ms, p99 {t.p99_ms:.0f} ms,"
            f" errors {t.error_rate:.2%}"
        )

    def _capacity_line(self, c: dict) -> str:
        def rps(value):
            return "unknown" if value is None else f"{value:g}/s"

        if c["knee_rps"] is None:
            return (
                f"NBAVERIFY LOAD {self.verdict} - capacity: no knee found in {len(c['steps'])}"
                " step(s)"
            )
        knee = f"{c['knee_rps']:g}/s ±{c['tolerance']:.0%}"
        headroom = (
            "unknown"
            if c["headroom"] is None
            else f"{c['headroom']:.2f}x (min {c['min_headroom']:g}x)"
        )
        return (
            f"NBAVERIFY LOAD {self.verdict} - capacity: knee {knee}, {rps(c['per_replica_rps'])} a"
            f" replica, projected {rps(c['projected_max_rps'])}, peak"
            f" {rps(c['observed_peak_rps'])}, headroom {headroom}"
        )

    def to_dict(self) -> dict:
        # the derived fields too: schedulers and dashboards read summary.json without this class
        return {
            **asdict(self),
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "status_line": self.status_line(),
        }

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, default=str) + "\n")

    @classmethod
    def read(cls, path: Path) -> LoadSummary:
        """A summary.json written by `nbaverify load`; ValueError if it is not one."""
        return cls.read_dict(json.loads(path.read_text()))

    @classmethod
    def read_dict(cls, raw: dict) -> LoadSummary:
        if raw.get("kind") != KIND:
            raise ValueError("not a load run's summary")
        raw = {k: v for k, v in raw.items() if k not in ("verdict", "exit_code", "status_line")}
        try:
            trend = raw.get("trend") or {}
            return cls(
                **{
                    **raw,
                    "totals": LoadTotals(**raw["totals"]),
                    "thresholds": [Verdict(**v) for v in raw.get("thresholds", [])],
                    "endpoints": [
                        EndpointStats(**{"method": "", **e}) for e in raw.get("endpoints", [])
                    ],
                    "trend": Trend(
                        trend.get("previous_run"),
                        [TrendRow(**d) for d in trend.get("deltas", [])],
                        list(trend.get("regressions", [])),
                    ),
                }
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed load summary: {exc}") from exc
