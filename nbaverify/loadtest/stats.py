"""Locust's CSV files, read back: the final per-endpoint table and the time series of the run."""

from __future__ import annotations

import csv
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

AGGREGATED = "Aggregated"


@dataclass
class EndpointStats:
    """One row of Locust's final table, an endpoint's (or, named Aggregated, every request's):
    counts, req/s, and response times in ms."""

    name: str
    method: str
    requests: int
    failures: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @classmethod
    def empty(cls) -> EndpointStats:
        """The Aggregated row of a run that made no request."""
        return cls(
            name=AGGREGATED,
            method="",
            requests=0,
            failures=0,
            rps=0.0,
            p50_ms=0.0,
            p95_ms=0.0,
            p99_ms=0.0,
            max_ms=0.0,
        )

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0

    def metric(self, name: str) -> float:
        return {
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "p99_ms": self.p99_ms,
            "error_rate": self.error_rate,
            "rps": self.rps,
            "requests": float(self.requests),
        }[name]


def _number(text: str | None) -> float:
    try:
        return float(text) if text not in (None, "", "N/A") else 0.0
    except ValueError:
        return 0.0


def read_final(prefix: Path) -> dict[str, EndpointStats]:
    """`<prefix>_stats.csv`: one row an endpoint and the Aggregated row (key "all")."""
    path = Path(f"{prefix}_stats.csv")
    table: dict[str, EndpointStats] = {}
    if not path.exists():
        return table
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            key = "all" if row["Name"] == AGGREGATED else row["Name"]
            table[key] = EndpointStats(
                name=row["Name"],
                method=row.get("Type", ""),
                requests=int(_number(row["Request Count"])),
                failures=int(_number(row["Failure Count"])),
                rps=_number(row["Requests/s"]),
                p50_ms=_number(row["50%"]),
                p95_ms=_number(row["95%"]),
                p99_ms=_number(row["99%"]),
                max_ms=_number(row["Max Response Time"]),
            )
    return table


@dataclass
class Sample:
    """One Aggregated row of Locust's history, about a second apart: users, req/s and failures/s,
    response times in ms (over Locust's window), and the running totals; `t` is seconds since the
    first row."""

    t: float  # seconds since the first sample
    users: int
    rps: float
    failures_per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    failures: int


def read_history(prefix: Path) -> list[Sample]:
    """`<prefix>_stats_history.csv`, the Aggregated rows: a sample a second (percentiles over
    Locust's window)."""
    path = Path(f"{prefix}_stats_history.csv")
    if not path.exists():
        return []
    samples: list[Sample] = []
    start = None
    with path.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("Name") != AGGREGATED:
                continue
            when = _number(row["Timestamp"])
            start = when if start is None else start
            samples.append(
                Sample(
                    t=when - start,
                    users=int(_number(row["User Count"])),
                    rps=_number(row["Requests/s"]),
                    failures_per_s=_number(row["Failures/s"]),
                    p50_ms=_number(row["50%"]),
                    p95_ms=_number(row["95%"]),
                    p99_ms=_number(row["99%"]),
                    requests=int(_number(row["Total Request Count"])),
                    failures=int(_number(row["Total Failure Count"])),
                )
            )
    return samples


def rate_limited(prefix: Path) -> int:
    """How many requests the target refused with 429 (Locust's failures file, by the reason we
    gave)."""
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return 0
    with path.open(newline="") as fh:
        return sum(
            int(_number(row["Occurrences"]))
            for row in csv.DictReader(fh)
            if "429" in row.get("Error", "")
        )


def scenario_errors(prefix: Path) -> list[tuple[int, str]]:
    """What the scenarios themselves raised, most frequent first: (times, message) from Locust's
    exceptions file. Locust counts such a turn as no request at all, so neither the error rate nor a
    threshold ever sees it.
    """
    path = Path(f"{prefix}_exceptions.csv")
    if not path.exists():
        return []
    with path.open(newline="") as fh:
        rows = [
            (int(_number(row["Count"])), " ".join((row.get("Message") or "").split()))
            for row in csv.DictReader(fh)
        ]
    return sorted((row for row in rows if row[0]), key=lambda row: -row[0])


def scenario_problem(prefix: Path) -> str | None:
    """The run's failure line when a scenario raised: how often, the commonest error, where the
    tracebacks are."""
    errors = scenario_errors(prefix)
    if not errors:
        return None
    times, message = errors[0]
    others = f" and {len(errors) - 1} other error(s)" if len(errors) > 1 else ""
    return (
        f"the load scenarios raised {sum(n for n, _ in errors)} time(s) instead of sending a"
        f" request ({times} x {message[:160]!r}{others}): the figures leave those turns out;"
        f" tracebacks in {prefix}_exceptions.csv"
    )


@dataclass
class Measured:
    """Requests taken together as Locust merges its workers' figures: counts, the response-time
    histogram, answers a second."""

    requests: int
    failures: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    first_at: float | None  # epoch seconds of the first and last answer
    last_at: float | None
    per_second: dict[int, int]  # answers by the epoch second they came in

    def achieved_rps(self, planned_s: float) -> float:
        """Answers a second over the whole seconds from the first answer to the end of the planned
        part: a straggler answered later does not stretch the window, a backlog answered later does
        not count.
        """
        if self.first_at is None:
            return 0.0
        first, last = math.ceil(self.first_at), math.floor(self.first_at + planned_s)
        if last <= first:
            return 0.0
        return sum(n for second, n in self.per_second.items() if first <= second < last) / (
            last - first
        )


def percentile(histogram: dict[int, int], count: int, share: float) -> float:
    """Locust's own rule (stats.calculate_response_time_percentile), on its rounded histogram."""
    wanted = int(count * share)
    seen = 0
    for value in sorted(histogram, reverse=True):
        seen += histogram[value]
        if count - seen <= wanted:
            return float(value)
    return 0.0


def merge_entries(entries: list[dict]) -> Measured:
    """Locust's serialized stats entries (its --json-file, or the search's figures) taken
    together."""
    histogram: Counter[int] = Counter()
    per_second: Counter[int] = Counter()
    requests = failures = timed = 0
    firsts, lasts = [], []
    for entry in entries:
        if not entry["num_requests"]:
            continue
        requests += entry["num_requests"]
        failures += entry["num_failures"]
        timed += entry["num_requests"] - entry.get("num_none_requests", 0)
        histogram.update({int(k): v for k, v in entry["response_times"].items()})
        per_second.update({int(k): v for k, v in entry["num_reqs_per_sec"].items()})
        firsts.append(entry["start_time"])
        lasts.append(entry["last_request_timestamp"])
    return Measured(
        requests=requests,
        failures=failures,
        p50_ms=percentile(histogram, timed, 0.5),
        p95_ms=percentile(histogram, timed, 0.95),
        p99_ms=percentile(histogram, timed, 0.99),
        first_at=min(firsts) if firsts else None,
        last_at=max(lasts) if lasts else None,
        per_second=dict(per_second),
    )
