"""`nbaverify load --profile capacity`: the knee search run for real. One Locust run of the open
model lasts the whole search (load/search.py); each step offers one rate, a warm-up named apart so
it is not judged, then the judged part. Before each step the platform's /health must answer (after a
step that broke, about as fast as before the search); a 429 or a load generator out of CPU ends the
search with that reason, rather than pass the limiter's or the generator's limit off as the
platform's."""

from __future__ import annotations

import datetime as dt
import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from nbaverify import procs
from nbaverify.clients import ApiClient
from nbaverify.config import Target
from nbaverify.errors import NbaverifyError
from nbaverify.loadtest import runner, stats
from nbaverify.loadtest.fleet import observed_peak, project, read_fleet
from nbaverify.loadtest.knee import KneeSearch, SearchSettings, Step

# Locust warns so (above 90 %, or "exceeded on workers") when the generator is the limit
GENERATOR_CPU = "CPU usage"


@dataclass
class SearchOutcome:
    """How a capacity search ended: the knee search with its steps, why it stopped early (`aborted`)
    or whether it was interrupted, its wall time in seconds, and the peak RSS in MiB of each Locust
    process."""

    search: KneeSearch
    aborted: str | None = None
    interrupted: bool = False
    wall_s: float = 0.0
    peak_rss_mib: dict[str, float] | None = None


# for a step's last figures to reach the master (search.py: workers report each second)
REPORT_LAG_S = {False: 1.5, True: 2.5}
# for Locust to start (remote workers get 5 minutes to connect)
READY_S = {False: 30.0, True: 330.0}


def search_plan(base: runner.Plan, out: Path) -> runner.Plan:
    """One Locust run for the whole search: the shape holds one user a process until nbaverify says
    done."""
    config = {
        **base.config,
        "arrival_stages": [],
        "stages": [],
        "search": {
            "control_file": str(out / "search-control.json"),
            "stats_file": str(out / "search-stats.json"),
        },
    }
    return replace(base, stages=[], arrival_stages=[], duration_s=0.0, config=config)


def search(
    base: runner.Plan,
    target: Target,
    out: Path,
    settings: SearchSettings,
    say: Callable[[str], None],
    remote_workers: int = 0,
    master_port: int = 5557,
) -> SearchOutcome:
    """Step until the knee is known, the budget is spent, or something other than the platform's
    capacity decides the outcome (an unhealthy platform, a 429, a load generator out of CPU, Locust
    gone)."""
    knee = KneeSearch(settings)
    outcome = SearchOutcome(knee, peak_rss_mib={})
    plan = search_plan(base, out)
    distributed = bool(remote_workers or plan.workers > 1)
    drain = float(target.expectations["load.drain_s"])
    control = Path(plan.config["search"]["control_file"])
    figures = Path(plan.config["search"]["stats_file"])
    for stale in (control, figures):
        stale.unlink(missing_ok=True)
    health = Health(target)
    try:
        running = runner.start(plan, target, out, say, remote_workers, master_port)
    except BaseException:
        health.close()
        raise
    try:
        outcome.aborted = _wait_for(
            lambda: _read(figures) is not None,
            running,
            READY_S[bool(remote_workers)],
            "Locust to start its users",
        )
        while outcome.aborted is None and (planned := knee.next()) is not None:
            phase, rate = planned
            previous = knee.steps[-1] if knee.steps else None
            outcome.aborted = (
                health.recover(previous.offered_rps) if previous and not previous.held else None
            )
            outcome.aborted = outcome.aborted or health.problem()
            if outcome.aborted:
                break
            number = len(knee.steps) + 1
            judged_s = settings.hold_s if phase == "confirm" else settings.step_s
            say(
                f"  step {number} ({phase}): {rate:g} req/s offered, "
                f"{settings.warmup_s:g}s warm-up + {judged_s:g}s judged"
            )
            log_mark = _log_size(out)
            step_order = {
                "number": number,
                "rate": rate,
                "warmup_s": settings.warmup_s,
                "judged_s": judged_s,
                "drain_s": drain,
            }
            procs.write_atomic(control, json.dumps({"step": step_order}))
            sent = time.time()
            # the shape relays the step within a tick (1 s); its figures are complete a report later
            ready_at = sent + 1.0 + settings.warmup_s + judged_s + drain + REPORT_LAG_S[distributed]
            outcome.aborted = _wait_for(
                functools.partial(_written_since, figures, ready_at),
                running,
                ready_at - time.time() + 15,
                f"the figures of step {number}",
                peaks=outcome.peak_rss_mib,
            )
            if outcome.aborted:
                break
            step = measure(_read(figures) or {}, number, phase, rate, judged_s, settings)
            step.wall_s = round(time.time() - sent, 1)
            knee.record(step)
            say(
                f"    {'held' if step.held else 'broke'}: achieved {step.achieved_rps:.1f} req/s,"
                f" p95 {step.p95_ms:.0f} ms, errors {step.error_ratio:.2%}"
                + (f" ({'; '.join(step.reasons)})" if step.reasons else "")
            )
            outcome.aborted = _not_the_platform(_read(figures) or {}, number, rate, out, log_mark)
    except KeyboardInterrupt:
        outcome.interrupted = True
        say("  interrupted: stopping Locust, keeping the steps measured so far")
    finally:
        procs.write_atomic(control, json.dumps({"done": True}))
        _wait_for(lambda: running.master.poll() is not None, running, 10, "Locust to stop")
        running.stop()
        health.close()
    outcome.wall_s = round(time.monotonic() - running.started, 1)
    return outcome


def _read(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _written_since(path: Path, moment: float) -> bool:
    return (_read(path) or {}).get("written_at", 0) >= moment


def _log_size(out: Path) -> int:
    try:
        return (out / "locust.log").stat().st_size
    except OSError:
        return 0


def _wait_for(
    done: Callable[[], bool],
    running: runner.Running,
    seconds: float,
    what: str,
    peaks: dict[str, float] | None = None,
) -> str | None:
    """None once done() holds; else why not (Locust exited, or the wait ran out)."""
    deadline = time.monotonic() + seconds
    while not done():
        if running.master.poll() is not None:
            return (
                f"Locust exited (code {running.master.returncode}) while nbaverify waited for"
                f" {what}: see locust.log"
            )
        if time.monotonic() > deadline:
            return f"waited {seconds:.0f}s for {what} in vain: see locust.log"
        if peaks is not None:
            runner.peak_memory(running.processes, peaks)
        time.sleep(0.25)
    return None


def measure(
    figures: dict, number: int, phase: str, rate: float, judged_s: float, settings: SearchSettings
) -> Step:
    """The step's judged part: its own request names (`sNN: ...`), without its warm-up (`sNN
    warm-up: ...`)."""
    measured = stats.merge_entries(
        [e for e in figures.get("entries", []) if e["name"].startswith(f"s{number:02d}: ")]
    )
    step = Step(
        number=number,
        phase=phase,
        offered_rps=rate,
        duration_s=judged_s,
        achieved_rps=round(measured.achieved_rps(judged_s), 2),
        requests=measured.requests,
        failures=measured.failures,
        unfinished=max(0, round(rate * judged_s) - measured.requests),
        p50_ms=measured.p50_ms,
        p95_ms=measured.p95_ms,
        p99_ms=measured.p99_ms,
        error_ratio=round(measured.failures / measured.requests, 5) if measured.requests else 0.0,
    )
    step.judge(settings)
    return step


def endpoints_of(out: Path, step: Step) -> list[stats.EndpointStats]:
    """The step's judged requests by endpoint (the report's table: which endpoint slows first)."""
    prefix = f"s{step.number:02d}: "
    entries = [
        e
        for e in (_read(out / "search-stats.json") or {}).get("entries", [])
        if e["name"].startswith(prefix)
    ]
    rows = []
    for entry in entries:
        one = stats.merge_entries([entry])
        rows.append(
            stats.EndpointStats(
                name=entry["name"].removeprefix(prefix),
                method=entry.get("method", ""),
                requests=one.requests,
                failures=one.failures,
                rps=round(one.achieved_rps(step.duration_s), 2),
                p50_ms=one.p50_ms,
                p95_ms=one.p95_ms,
                p99_ms=one.p99_ms,
                max_ms=round(float(entry.get("max_response_time") or 0), 1),
            )
        )
    return sorted(rows, key=lambda e: -e.requests)


class Health:
    """GET /health between steps: the platform must answer it before a step, and after a step that
    broke the next waits until it answers about as fast as before the search (the last step's
    backlog is served: a step judged on top of it would measure the previous one)."""

    RECOVERY_S = 30.0

    def __init__(self, target: Target):
        self.client = ApiClient.unauthenticated(target)
        self.baseline_s: float | None = None

    def problem(self) -> str | None:
        """Why the platform is not fit for a step, or None; the first answers set the baseline."""
        try:
            timings = [self._get() for _ in range(3 if self.baseline_s is None else 1)]
        except HealthFailed as exc:
            return f"the platform's health failed before a step: {exc}"
        if self.baseline_s is None:
            self.baseline_s = min(timings)
        return None

    def recover(self, rate: float) -> str | None:
        """After a step that broke: None once /health answers within 3x its baseline (+20 ms), three
        times running."""
        assert self.baseline_s is not None
        limit = 3 * self.baseline_s + 0.02
        deadline, running, last = time.monotonic() + self.RECOVERY_S, 0, 0.0
        while running < 3:
            if time.monotonic() > deadline:
                return (
                    f"the platform did not recover within {self.RECOVERY_S:.0f}s of the step at"
                    f" {rate:g} req/s: GET /health still took {last * 1000:.0f} ms (before the"
                    f" search: {self.baseline_s * 1000:.0f} ms)"
                )
            try:
                last = self._get()
            except HealthFailed as exc:
                last, running = float("inf"), 0
                if time.monotonic() > deadline:
                    return f"the platform's health failed after the step at {rate:g} req/s: {exc}"
                time.sleep(0.25)
                continue
            running = running + 1 if last <= limit else 0
            time.sleep(0.1)
        return None

    def _get(self) -> float:
        started = time.perf_counter()
        try:
            reply = self.client.get("/health")
        except NbaverifyError as exc:
            raise HealthFailed(str(exc)) from None
        if reply.status_code != 200:
            raise HealthFailed(f"GET /health answered HTTP {reply.status_code}")
        return time.perf_counter() - started

    def close(self) -> None:
        self.client.close()


class HealthFailed(Exception):
    """GET /health failed between steps (an error, or not HTTP 200); `Health` turns it into the
    reason a search stops."""


def _not_the_platform(
    figures: dict, number: int, rate: float, out: Path, log_mark: int
) -> str | None:
    """A limit that is not the platform's capacity ends the search: the figures past it would
    mislead."""
    prefixes = (f"s{number:02d}: ", f"s{number:02d} warm-up: ")
    limited = sum(
        e["occurrences"]
        for e in figures.get("errors", [])
        if e["name"].startswith(prefixes) and "429" in str(e["error"])
    )
    if limited:
        return (
            f"the target rate-limited the load generator at {rate:g} req/s ({limited} requests"
            " answered 429): allowlist the load generator's address on the platform's rate limiter"
        )
    try:
        with (out / "locust.log").open("rb") as fh:
            fh.seek(log_mark)
            said = fh.read().decode(errors="replace")
    except OSError:
        said = ""
    if GENERATOR_CPU in said:
        return (
            f"the load generator ran out of CPU at {rate:g} req/s (Locust warned of its CPU usage),"
            " so what broke there may be the generator: run with --workers N (or"
            " --remote-workers N)"
        )
    return None


def plan_capacity(
    target: Target,
    outcome: SearchOutcome,
    started: dt.datetime,
    previous_knee: tuple[str, float] | None,
) -> tuple[dict, list[str]]:
    """summary.json's `capacity` object, and every reason the capacity plan fails."""
    knee_search, settings = outcome.search, outcome.search.settings
    expect = target.expectations["load.capacity"]
    knee = knee_search.knee_rps
    fleet = read_fleet(target)
    projection = project(knee, fleet)
    peak, peak_from = observed_peak(target, started)
    headroom = (
        round(projection.projected_max_rps / peak, 2)
        if projection.projected_max_rps and peak
        else None
    )
    problems = []
    if knee is None and not (outcome.aborted or outcome.interrupted):
        problems.append(f"no knee was found: {knee_search.stopped or 'the search ended early'}")
    if knee is not None:
        if projection.projected_max_rps is None:
            problems.append(
                "the projection through the autoscaler is incomplete: " + "; ".join(fleet.unknown)
            )
        if peak is None:
            problems.append(
                f"the observed peak request rate is unknown ({peak_from}), so the headroom cannot"
                " be judged"
            )
        if headroom is not None and headroom < expect["min_headroom"]:
            problems.append(
                f"headroom {headroom:.2f}x under the minimum {expect['min_headroom']:g}x: the"
                f" platform projects to {projection.projected_max_rps:g} req/s at"
                f" {projection.scalable_replicas} replicas against an observed peak of {peak:g}"
                " req/s"
            )
    capacity = {
        "knee_rps": knee,
        "confirmed": knee_search.confirmed,
        "note": knee_search.note,
        "bracket": [knee_search.held_at, knee_search.broke_at],
        "tolerance": settings.tolerance,
        "slo": {
            "p95_ms": settings.slo_p95_ms,
            "error_ratio": settings.slo_error_ratio,
            "min_achieved_ratio": settings.min_achieved_ratio,
        },
        "replicas": fleet.replicas,
        "per_replica_rps": projection.per_replica_rps,
        "hpa_max_replicas": fleet.hpa_max_replicas,
        "scalable_replicas": projection.scalable_replicas,
        "projected_max_rps": projection.projected_max_rps,
        "observed_peak_rps": peak,
        "peak_query": peak_from,
        "headroom": headroom,
        "min_headroom": expect["min_headroom"],
        "assumption": projection.assumption,
        "fleet": fleet.as_dict(),
        "search_wall_s": outcome.wall_s,
        "requests": sum(step.requests for step in knee_search.steps),
        "steps": [step.as_dict() for step in knee_search.steps],
        "previous_run": previous_knee[0] if previous_knee else None,
        "previous_knee_rps": previous_knee[1] if previous_knee else None,
    }
    return capacity, problems
