"""The platform's own traffic mix, read from Prometheus: the share of each route over a period, as
the load scenarios name their requests, so a load test can be planned on what users send (`nbaverify
load --mix observed`) and a report can set its plan beside it.

Routes are folded as the reference APIs and the log review name them: `/api/players/{id}`
(Starlette), `/api/players/:id` (@koa/router) and `/api/players/17` are all `/api/players/[id]`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from nbaverify.clients import factory
from nbaverify.config import Target
from nbaverify.errors import NbaverifyError
from nbaverify.expectation_values import duration_seconds
from nbaverify.log_records import KUBELET
from nbaverify.probes.counters import duration_words
from nbaverify.probes.logs import COMBINED

# the scenarios' requests (load/common.py ENDPOINTS) by the route each one is, folded
SCENARIO_ROUTES = {
    "players": "/api/players",
    "player": "/api/players/[id]",
    "player_stats": "/api/players/[id]/stats",
    "projections": "/api/projections/[id]",
    "game_stats": "/api/games/[id]/stats",
    "health": "/health",
}
_DYNAMIC = re.compile(r"\{[^/}]*\}|:[A-Za-z_][A-Za-z0-9_]*|\[[^/\]]*\]|\d+")


def fold(route: str) -> str:
    """A route with its dynamic segments as `[id]` and no query or trailing slash:
    `/api/players/:id` -> `/api/players/[id]`. A label holding a pattern (`/api(.*)`: where
    @koa/router mounts middleware) names no route: `unmatched`, what no route answered."""
    if any(char in route for char in "(*"):
        return "unmatched"
    path = route.split("?", 1)[0].rstrip("/") or "/"
    return "/".join("[id]" if _DYNAMIC.fullmatch(part) else part for part in path.split("/"))


@dataclass(frozen=True)
class ObservedMix:
    """What users sent over the period: each request's share of all traffic (a scenario's request by
    its name, any other route by itself), the scenarios' weights from it (the requests with at least
    the smallest share), and the query.
    """

    of_all: dict[str, float]  # scenario request or other route -> share of all traffic (sums to 1)
    min_share: float = 0.0
    total: float = 0.0  # requests over the period
    query: str = ""
    window: str = ""

    @property
    def shares(self) -> dict[str, float]:
        """The scenario requests with at least the smallest share, as shares of those (sums to
        1)."""
        kept = {
            key: share
            for key, share in self.of_all.items()
            if key in SCENARIO_ROUTES and share >= self.min_share
        }
        total = sum(kept.values()) or 1.0
        return {key: share / total for key, share in kept.items()}

    @property
    def left_out(self) -> dict[str, float]:
        """What a plan on this mix does not send: routes no scenario sends, requests under the
        smallest share."""
        return {key: share for key, share in self.of_all.items() if key not in self.shares}

    @property
    def weights(self) -> dict[str, float]:
        """The shares as the scenarios' weights (percentages)."""
        return {key: round(share * 100, 1) for key, share in self.shares.items()}

    def describe(self) -> str:
        mix = ", ".join(
            f"{key} {share:.0%}"
            for key, share in sorted(self.shares.items(), key=lambda kv: -kv[1])
        )
        out = (
            "; left out: "
            + ", ".join(f"{route} {share:.1%}" for route, share in self.left_out.items())
            if self.left_out
            else ""
        )
        return f"{mix} ({self.total:.0f} requests over {self.window}){out}"


def from_counts(
    counts: Mapping[str, float], settings: Mapping, query: str = ""
) -> ObservedMix | None:
    """The mix from request counts by route label (None when nothing the scenarios send was
    counted)."""
    ignored = {fold(route) for route in settings["ignore_routes"]} | set(settings["ignore_routes"])
    names = {route: key for key, route in SCENARIO_ROUTES.items()}
    by_name: dict[str, float] = {}
    for route, count in counts.items():
        if route in ignored or fold(route) in ignored or count <= 0:
            continue
        name = names.get(fold(route), fold(route))
        by_name[name] = by_name.get(name, 0.0) + count
    total = sum(by_name.values())
    if not total or not any(key in SCENARIO_ROUTES for key in by_name):
        return None
    of_all = {key: count / total for key, count in sorted(by_name.items(), key=lambda kv: -kv[1])}
    return ObservedMix(of_all, settings["min_share"], total, query, settings["window"])


def read(target: Target, until: dt.datetime) -> tuple[ObservedMix | None, str]:
    """The mix over the period before `until` from the profile's Prometheus, and the query; None and
    why when it cannot be read."""
    if target.profile.prometheus is None:
        return None, "no [prometheus] section"
    with _prometheus(target) as prom:
        return query(prom, target.expectations["load.observed"], until)


def read_rate(target: Target, until: dt.datetime) -> tuple[ObservedRate | None, str]:
    """The rate as `rate` gives it, from the profile's Prometheus (the capacity plan's headroom);
    None and why."""
    if target.profile.prometheus is None:
        return None, "no [prometheus] section"
    with _prometheus(target) as prom:
        return rate(
            prom,
            target.expectations["load.observed"],
            target.expectations["load.capacity"]["min_headroom"],
            until,
        )


@contextlib.contextmanager
def _prometheus(target: Target):
    """The profile's Prometheus for a planning query (its subqueries over a quarter may take a
    while)."""
    prom = factory.prometheus(target, timeout_s=max(30.0, target.expectations["api.timeout_s"]))
    try:
        yield prom
    finally:
        prom.close()


def query(prom, settings: Mapping, until: dt.datetime) -> tuple[ObservedMix | None, str]:
    """The mix as `read` gives it, from a Prometheus client at hand."""
    expr = (
        f"sum by ({settings['route_label']})"
        f" (increase({settings['counter']}[{settings['window']}]))"
    )
    try:
        result = prom.query(expr, at=until.timestamp())
    except NbaverifyError as exc:
        return None, f"{expr}: {exc}"
    counts = {r["metric"].get(settings["route_label"], ""): float(r["value"][1]) for r in result}
    mix = from_counts(counts, settings, expr)
    return (
        (mix, expr)
        if mix
        else (None, f"{expr}: no request the scenarios send was counted over the period")
    )


def from_log_lines(
    lines, settings: Mapping, start: dt.datetime, until: dt.datetime
) -> tuple[ObservedMix | None, int]:
    """The mix from access-log lines (the combined format an ingress, or morgan('combined'), writes;
    a kubelet's timestamp before it is allowed): the requests between `start` and `until` by path,
    folded, its window the span the lines reach back (a log rarely keeps a quarter); and how many
    lines were counted."""
    counts: dict[str, float] = {}
    oldest = until
    for line in lines:
        stamp = KUBELET.match(line)
        found = COMBINED.match(line[stamp.end() :] if stamp else line)
        if not found:
            continue
        try:
            when = dt.datetime.strptime(found.group("time"), "%d/%b/%Y:%H:%M:%S %z")
        except ValueError:
            continue
        if start < when <= until:
            counts[found.group("path")] = counts.get(found.group("path"), 0.0) + 1
            oldest = min(oldest, when)
    mix = from_counts(counts, settings, "the API's access log")
    reach = (
        f"the log's last {duration_words((until - oldest).total_seconds())} (of"
        f" {settings['window']} asked)"
    )
    return (dataclasses.replace(mix, window=reach) if mix else None), int(sum(counts.values()))


def read_log(target: Target, until: dt.datetime) -> tuple[ObservedMix | None, str]:
    """The mix over the period before `until` from the API's log where [logs] says (its access
    lines), for a platform whose Prometheus does not count requests by route; None and why."""
    logs, where_k8s = target.profile.logs, target.profile.kubernetes
    cluster = (
        factory.kubernetes(target) if logs and logs.source == "kubernetes" and where_k8s else None
    )
    settings = target.expectations["load.observed"]
    window_s = duration_seconds(settings["window"])
    try:
        sources, missing = factory.log_sources(target, cluster)
        if missing:
            return None, f"not configured: {missing}"
        streams = [stream for source in sources for stream in source.read(window_s)]
    except NbaverifyError as exc:
        return None, f"the API's log: {exc}"
    finally:
        if cluster is not None:
            cluster.close()
    start = until - dt.timedelta(seconds=window_s)
    mix, counted = from_log_lines(
        (line for stream in streams for line in stream.text.splitlines()), settings, start, until
    )
    where = "; ".join(source.description for source in sources)
    if mix is None:
        return (
            None,
            (
                f"the API's log ({where}) has {counted} access line(s) over {settings['window']}"
                " and none the scenarios send: it writes no line a request (the combined format),"
                " or nobody used the API"
            ),
        )
    return mix, f"the API's access log ({where})"


def distance(planned: Mapping[str, float], observed: ObservedMix) -> float:
    """Total variation distance between the planned weights and all observed traffic (what the plan
    leaves out counts as traffic it does not send): 0 alike, 1 disjoint."""
    weight = sum(planned.values()) or 1.0
    plan = {key: value / weight for key, value in planned.items()}
    seen = observed.of_all
    return round(
        0.5 * sum(abs(plan.get(key, 0.0) - seen.get(key, 0.0)) for key in {*plan, *seen}), 4
    )


QUARTERS_BACK = 4  # the growth trend: the peaks of up to this many quarters before the window


@dataclass(frozen=True)
class ObservedRate:
    """The rate a plan on production traffic offers: the observed peak, times the growth, times the
    headroom; with where each factor came from."""

    peak_rps: float
    growth: float
    growth_from: str  # "the trend of N quarters' peaks" or "the profile's"
    headroom: float
    query: str

    @property
    def target_rps(self) -> float:
        return round(self.peak_rps * self.growth * self.headroom, 2)

    def describe(self) -> str:
        return (
            f"{self.target_rps:g} req/s = the observed peak {self.peak_rps:g} req/s x growth"
            f" {self.growth:.2f} ({self.growth_from}) x headroom {self.headroom:g}"
        )


def peak_expr(settings: Mapping, offset_days: int = 0) -> str:
    """A high percentile of the per-minute request rate over the window (ending `offset_days` before
    now)."""
    offset = f" offset {offset_days}d" if offset_days else ""
    return (
        f"quantile_over_time({settings['peak_quantile']}, (sum(rate({settings['counter']}[1m])))"
        f"[{settings['window']}:{settings['peak_step']}]{offset})"
    )


def growth_of(peaks: list[float]) -> float | None:
    """The mean quarter-over-quarter ratio of consecutive peaks (newest first), None without two of
    them."""
    pairs = [(newer, older) for newer, older in itertools.pairwise(peaks) if older > 0]
    if not pairs:
        return None
    return round(sum(newer / older for newer, older in pairs) / len(pairs), 3)


def rate(
    prom, settings: Mapping, headroom: float, until: dt.datetime
) -> tuple[ObservedRate | None, str]:
    """The observed peak and its growth from the quarters before (the profile's growth without two),
    read at `until`; None and why when the peak cannot be read."""
    window_days = _days(settings["window"])
    peaks = []
    for quarter in range(QUARTERS_BACK + 1):
        expr = peak_expr(settings, quarter * window_days)
        try:
            result = prom.query(expr, at=until.timestamp())
        except NbaverifyError as exc:
            if quarter == 0:
                return None, f"{expr}: {exc}"
            break
        values = [float(r["value"][1]) for r in result]
        if not values or values[0] <= 0:
            if quarter == 0:
                return None, f"{expr}: no request rate over the period"
            break
        peaks.append(values[0])
    trend = growth_of(peaks)
    growth, source = (
        (trend, f"the trend of {len(peaks)} quarters' peaks")
        if trend is not None
        else (float(settings["growth"]), "the profile's: no earlier quarter on record")
    )
    return ObservedRate(round(peaks[0], 2), growth, source, headroom, peak_expr(settings)), ""


def _days(window: str) -> int:
    units = {"d": 1, "w": 7, "y": 365}
    if window[-1] in units and window[:-1].isdigit():
        return int(window[:-1]) * units[window[-1]]
    return 90  # hours or minutes: a quarter before, as the default window


@dataclass(frozen=True)
class ObservedDay:
    """The busiest day of the window (`day` long, the one with the most requests): its mean request
    rate over each `day_step`, oldest first, for `--shape observed` to replay as the open model's
    arrival stages.
    """

    start: float  # epoch seconds at which the day began
    step_s: float
    rates: list[float]
    query: str

    def stages(self, total_s: float, peak_rps: float) -> list[dict]:
        """The day compressed into `total_s` seconds, one stage a step, its busiest step at
        `peak_rps`."""
        top = max(self.rates)
        each = round(total_s / len(self.rates), 3)
        return [
            {"duration_s": each, "rate": round(rate / top * peak_rps, 3)} for rate in self.rates
        ]

    def describe(self, total_s: float, peak_rps: float) -> str:
        began = dt.datetime.fromtimestamp(self.start, dt.UTC)
        low = min(self.rates) / max(self.rates) * peak_rps
        return (
            f"the busiest day, from {began:%Y-%m-%d %H:%M} UTC ({len(self.rates)} steps of"
            f" {self.step_s:g}s, {min(self.rates):.3g}-{max(self.rates):.3g} req/s), replayed as"
            f" {len(self.rates)} stages of {total_s / len(self.rates):.3g}s at"
            f" {low:.3g}-{peak_rps:.3g} req/s"
        )


def day_expr(settings: Mapping) -> str:
    return f"sum(rate({settings['counter']}[{settings['day_step']}]))"


def busiest_day(prom, settings: Mapping, until: dt.datetime) -> tuple[ObservedDay | None, str]:
    """The day of the window with the most requests, every one of its steps measured; None and why
    when no day of the window is whole (the platform's Prometheus keeps less, or it was down)."""
    expr = day_expr(settings)
    step, day, window = (duration_seconds(settings[key]) for key in ("day_step", "day", "window"))
    points = round(day / step)
    if points < 2 or window < day:
        return (
            None,
            (
                f"[load.observed] day ({settings['day']}) must hold two day_steps and fit in the"
                " window"
            ),
        )
    end = until.timestamp()
    try:
        result = prom.query_range(expr, end - window + step, end, step)
    except NbaverifyError as exc:
        return None, f"{expr}: {exc}"
    values = {
        round((float(t) - end) / step): float(v) for t, v in (result[0]["values"] if result else [])
    }
    # each whole day back from `until`: (requests, its first step's start, its rates oldest first)
    days = []
    for back in range(int(window // day)):
        steps = [-(back * points) - offset for offset in range(points - 1, -1, -1)]
        if all(n in values for n in steps):
            rates = [values[n] for n in steps]
            days.append((sum(rates), end + (steps[0] - 1) * step, rates))
    busiest = max(days, key=lambda d: d[0], default=None)
    if busiest is None or busiest[0] <= 0:
        return (
            None,
            f"{expr} over {settings['window']}: no whole day of {settings['day']} with requests",
        )
    return ObservedDay(busiest[1], step, busiest[2], expr), expr


def read_day(target: Target, until: dt.datetime) -> tuple[ObservedDay | None, str]:
    """The busiest day as `busiest_day` gives it, from the profile's Prometheus; None and why."""
    if target.profile.prometheus is None:
        return None, "no [prometheus] section"
    with _prometheus(target) as prom:
        return busiest_day(prom, target.expectations["load.observed"], until)
