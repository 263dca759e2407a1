"""Thresholds as data (k6 style): one evaluator turns them into verdict lines, the exit code and the
report.

[[load.thresholds]]
metric = "p95_ms"        # p50_ms, p95_ms, p99_ms, error_rate, rps
endpoint = "all"         # "all" (every request) or a request name, e.g. "GET /api/players/[id]"
max = 1000.0             # or min = ... (throughput)
abort = true             # stop the run early when breached
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from nbaverify.errors import ConfigError
from nbaverify.loadtest.stats import EndpointStats

METRICS = ("p50_ms", "p95_ms", "p99_ms", "error_rate", "rps")
LABELS = {
    "p50_ms": "p50",
    "p95_ms": "p95",
    "p99_ms": "p99",
    "error_rate": "error rate",
    "rps": "throughput",
}
UNITS = {"p50_ms": "ms", "p95_ms": "ms", "p99_ms": "ms", "error_rate": "", "rps": " req/s"}


@dataclass(frozen=True)
class Threshold:
    """One threshold of the load test ([[load.thresholds]]): a metric of an endpoint (or "all"), its
    max or min, and whether a breach aborts the run."""

    metric: str
    endpoint: str = "all"
    max: float | None = None
    min: float | None = None
    abort: bool = False

    @classmethod
    def parse(cls, entry: dict, number: int) -> Threshold:
        where = f"expectations.load.thresholds[{number}]"
        unknown = set(entry) - {"metric", "endpoint", "max", "min", "abort"}
        if unknown:
            raise ConfigError("expectations", where, f"unknown key {sorted(unknown)[0]!r}")
        if entry.get("metric") not in METRICS:
            raise ConfigError(
                "expectations",
                where,
                f"metric must be one of {', '.join(METRICS)}, got {entry.get('metric')!r}",
            )
        if ("max" in entry) == ("min" in entry):
            raise ConfigError("expectations", where, "give exactly one of max or min")
        return cls(**entry)

    @property
    def limit(self) -> float:
        """The bound, whichever side it is on (parse ensures exactly one)."""
        bound = self.max if self.max is not None else self.min
        assert bound is not None
        return bound

    @property
    def id(self) -> str:
        return (
            f"{self.metric}{'<=' if self.max is not None else '>='}{self.limit:g} [{self.endpoint}]"
        )

    def breached_by(self, observed: float) -> bool:
        return (self.max is not None and observed > self.max) or (
            self.min is not None and observed < self.min
        )

    def describe(self, observed: float) -> str:
        unit = UNITS[self.metric]
        if self.metric == "error_rate":
            value = f"{observed:.2%}"
        else:
            value = f"{observed:.0f}{unit}" if unit == "ms" else f"{observed:.1f}{unit}"
        limit_text = f"{self.limit:.2%}" if self.metric == "error_rate" else f"{self.limit:g}{unit}"
        word = "max" if self.max is not None else "min"
        where = "all requests" if self.endpoint == "all" else self.endpoint
        return f"{LABELS[self.metric]} {value} on {where} ({word} {limit_text})"


@dataclass
class Verdict:
    """A threshold judged on the run's final table, as summary.json keeps it: what was observed
    (None when no such request was made), passed or failed, and the line that says so."""

    id: str
    metric: str
    endpoint: str
    limit: float
    observed: float | None
    outcome: str  # passed | failed
    message: str
    abort: bool


def parse_all(entries: list[dict]) -> list[Threshold]:
    return [Threshold.parse(entry, number) for number, entry in enumerate(entries)]


def evaluate(thresholds: list[Threshold], table: dict[str, EndpointStats]) -> list[Verdict]:
    verdicts = []
    for threshold in thresholds:
        limit = threshold.limit
        stats = table.get(threshold.endpoint)
        if stats is None or stats.requests == 0:
            verdicts.append(
                Verdict(
                    threshold.id,
                    threshold.metric,
                    threshold.endpoint,
                    limit,
                    None,
                    "failed",
                    f"no request named {threshold.endpoint!r} was made: nothing to judge",
                    threshold.abort,
                )
            )
            continue
        observed = stats.metric(threshold.metric)
        failed = threshold.breached_by(observed)
        verdicts.append(
            Verdict(
                threshold.id,
                threshold.metric,
                threshold.endpoint,
                limit,
                observed,
                "failed" if failed else "passed",
                threshold.describe(observed),
                threshold.abort,
            )
        )
    return verdicts


def as_dicts(verdicts: list[Verdict]) -> list[dict]:
    return [asdict(v) for v in verdicts]
