"""Reading an application log the way a person reviewing it would: errors, stack traces, slow lines,
refused and accepted requests, over a window of the records `nbaverify.log_records` makes of the
log. Samples are scrubbed of tokens and credentials before they reach any report.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

from nbaverify.clients.logs import LogSource, LogStream
from nbaverify.log_records import Record, records
from nbaverify.probes.counters import duration_words
from nbaverify.probes.credentials import JWT

SLOW = re.compile(r"Slow response: (?P<path>\S+) took (?P<ms>\d+(?:\.\d+)?)\s*ms")
ID_SEGMENT = re.compile(
    r"^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,})$",
    re.IGNORECASE,
)
# a refused request, as the reference APIs log it, or as an ingress or web server's combined access
# log has it
REFUSED = re.compile(
    r"Access refused: (?P<status>\d{3}) (?P<method>[A-Z]+) (?P<path>\S+) from (?P<client>\S+)"
    r'(?: ua="(?P<agent>[^"]*)")?'
)
ACCEPTED = re.compile(
    r'Token accepted: sub="(?P<subject>[^"]*)" from (?P<client>\S+)(?: ua="(?P<agent>[^"]*)")?'
)
COMBINED = re.compile(
    r'^(?P<client>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<path>\S+)[^"]*" '
    r'(?P<status>\d{3}) \S+(?: "[^"]*" "(?P<agent>[^"]*)")?'
)


def holding_tokens(found: list[Record]) -> list[Record]:
    """The records a signed token (a JWT) was written into: a header, a URL's query, an error's
    text."""
    return [r for r in found if any(JWT.search(line) for line in r.lines)]


def in_window(found: list[Record], start: dt.datetime) -> list[Record]:
    """Records from `start` on; one with no time at all is kept (the source already cut the
    window)."""
    return [r for r in found if r.at is None or r.at >= start]


def normalise_path(path: str) -> str:
    """/api/players/123 -> /api/players/{id}: ids, UUIDs and long hex segments; the query string
    dropped."""
    return "/".join(
        "{id}" if ID_SEGMENT.match(part) else part for part in path.split("?")[0].split("/")
    )


@dataclass(frozen=True)
class SlowPath:
    """The slow-response warnings of one normalised path: how many, and their p95 and max in ms."""

    path: str
    count: int
    p95_ms: float
    max_ms: float


def slow_paths(found: list[Record]) -> list[SlowPath]:
    """The slow-response warnings per normalised path, the most frequent first."""
    times: dict[str, list[float]] = defaultdict(list)
    for record in found:
        match = SLOW.search(record.message)
        if match:
            times[normalise_path(match.group("path"))].append(float(match.group("ms")))
    paths = [SlowPath(path, len(ms), _p95(ms), max(ms)) for path, ms in times.items()]
    return sorted(paths, key=lambda p: (-p.count, -p.max_ms))


def _p95(values: list[float]) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[94]
        if len(values) > 1
        else values[0]
    )


@dataclass(frozen=True)
class Refusal:
    """One refused request the log names (401, 403 or 429): status, method, normalised path, client
    and user agent."""

    status: int
    method: str
    path: str  # normalised: /api/players/{id}
    client: str
    agent: str


def refusals(
    found: list[Record], statuses: frozenset[int] = frozenset({401, 403, 429})
) -> list[Refusal]:
    """The refused requests the log names, with their client."""
    out = []
    for record in found:
        match = REFUSED.search(record.message) or COMBINED.match(record.lines[0])
        if match and int(match.group("status")) in statuses:
            out.append(
                Refusal(
                    int(match.group("status")),
                    match.group("method"),
                    normalise_path(match.group("path")),
                    match.group("client"),
                    match.group("agent") or "",
                )
            )
    return out


# a route template's parameter, as routers spell it: /api/players/{id} (Starlette, FastAPI),
# /api/players/:id (Koa)
ROUTE_PARAMETER = re.compile(r"^(?:\{[^}/]*\}|:[A-Za-z_]\w*)$")


def route_key(method: str, route: str) -> str:
    """One spelling for a route, from a metric's route template or a log's path: "GET
    /api/players/{id}"."""
    parts = route.split("?")[0].split("/")
    return f"{method.upper()} " + "/".join(
        "{id}" if ROUTE_PARAMETER.match(p) or ID_SEGMENT.match(p) else p for p in parts
    )


@dataclass(frozen=True)
class RefusedShare:
    """A route's 401/403 refusals against every request the metrics counted on it over the same
    window, with its most refused clients."""

    route: str  # "GET /api/players"
    refused: int  # 401/403 the log names, from clients other than the suite
    total: float  # every request to the route over the same window (the request metrics)
    clients: tuple[tuple[str, int], ...]  # the most refused clients on it

    @property
    def share(self) -> float:
        return self.refused / self.total if self.total else 0.0


def refused_shares(
    found: list[Refusal], totals: dict[str, float]
) -> tuple[list[RefusedShare], list[str]]:
    """Each route's 401/403 against its requests, the most refused share first; and the routes the
    log refused that the metrics do not know (`totals` has no entry: no share can be said for
    them). The metrics can count fewer requests than the log refused, even none: a series first
    seen inside the window (the first 401 of a route since the API started) counts nothing before
    its first scrape, and a pod gone before its last scrape is not counted at all. So a route's
    total is never less than its refusals."""
    by_route: dict[str, list[Refusal]] = defaultdict(list)
    for refusal in found:
        if refusal.status in (401, 403):
            by_route[route_key(refusal.method, refusal.path)].append(refusal)
    shares = [
        RefusedShare(
            route,
            len(hits),
            max(totals[route], len(hits)),
            tuple(Counter(h.client for h in hits).most_common(3)),
        )
        for route, hits in by_route.items()
        if route in totals
    ]
    return sorted(shares, key=lambda s: -s.share), sorted(r for r in by_route if r not in totals)


@dataclass(frozen=True)
class Acceptance:
    """A token subject the API's log says it accepted, with the client and user agent that presented
    it."""

    subject: str
    client: str
    agent: str


def acceptances(found: list[Record]) -> list[Acceptance]:
    """The token subjects the log says the API accepted, with their client (a line the first time
    each presents itself from each client: `Token accepted: sub="..." from <ip> ua="..."`)."""
    return [
        Acceptance(m.group("subject"), m.group("client"), m.group("agent") or "")
        for record in found
        if (m := ACCEPTED.search(record.message))
    ]


def per_hour(count: int, covered_s: float) -> float:
    """A rate that a young log does not inflate: a few lines in a minute are a few lines, not a
    flood."""
    return count / max(covered_s / 3600, 1.0)


@dataclass
class LogWindow:
    """What the sources held over the window, as records, with what of it they could not cover."""

    description: str
    start: dt.datetime
    window_s: float
    streams: list[LogStream]
    records: list[Record]

    @classmethod
    def read(
        cls, sources: list[LogSource], window_s: float, now: dt.datetime | None = None
    ) -> LogWindow:
        now = now or dt.datetime.now(dt.UTC)
        start = now - dt.timedelta(seconds=window_s)
        streams = [stream for source in sources for stream in source.read(window_s)]
        found = [
            r
            for stream in streams
            for r in in_window(records(stream.text, stream.name, stream.kubelet_stamps), start)
        ]
        return cls("; ".join(s.description for s in sources), start, window_s, streams, found)

    def last(self, window_s: float, now: dt.datetime | None = None) -> LogWindow:
        """The same read, narrowed to a shorter window (the daily review of a read made for the
        monthly one)."""
        now = now or dt.datetime.now(dt.UTC)
        start = max(self.start, now - dt.timedelta(seconds=window_s))
        return LogWindow(
            self.description, start, window_s, self.streams, in_window(self.records, start)
        )

    @property
    def gaps(self) -> list[str]:
        return [gap for stream in self.streams for gap in stream.gaps]

    def covered_s(self, now: dt.datetime | None = None) -> float:
        """From the oldest line (or stream start) within the window to now: a young log covers
        less."""
        now = now or dt.datetime.now(dt.UTC)
        known = [r.at for r in self.records if r.at] + [
            s.started for s in self.streams if s.started
        ]
        oldest = max(self.start, min(known)) if known else self.start
        return max(1.0, (now - oldest).total_seconds())

    def describe(self) -> str:
        return (
            f"{len(self.streams)} stream(s) of {self.description}, the last"
            f" {duration_words(self.covered_s())}"
        )
