"""`nbaverify load`: plan the run from the profile, run Locust, judge it, write the report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from nbaverify import __version__, extras, procs
from nbaverify.clients import ApiClient
from nbaverify.config import SANDBOX_TARGET, Target, load_target
from nbaverify.errors import ConfigError
from nbaverify.loadtest import capacity, observed, past_runs, runner, stats, thresholds
from nbaverify.loadtest import kubernetes as k8s_load
from nbaverify.loadtest.knee import SearchSettings
from nbaverify.loadtest.summary import LoadSummary, LoadTotals, Trend, TrendRow
from nbaverify.reports import capacity_report, load_report
from nbaverify.results import utc_now_iso
from nbaverify.signals import sigterm_interrupts

LOAD_REPORTS = Path("reports") / "load"  # under the working directory, like a check run's reports


@dataclass(frozen=True)
class LoadRequest:
    """What the person asked for (the CLI's `load` options)."""

    target: str | None = None  # None: the sandbox
    profile: str = "smoke"
    model: str | None = None  # None: the profile's
    workers: int = 0
    remote_workers: int = 0
    master_port: int = 5557
    plan_only: bool = False
    report_dir: str | None = None
    run_id: str | None = None
    allow: Sequence[str] = ()
    mix: str | None = None  # None: expectations.load.mix; "expectations" or "observed"
    kubernetes: bool = False  # with plan_only: the distributed run as Kubernetes objects too
    # None: expectations.load.rate; "profile" or "observed" (the open model's arrival rates)
    rate: str | None = None
    # None: expectations.load.shape; "profile" or "observed" (the busiest day's curve)
    shape: str | None = None


def run_load(request: LoadRequest, say=lambda line: print(line, flush=True)) -> int:
    extras.require("load")
    if request.kubernetes and not request.plan_only:
        raise ConfigError(
            "--kubernetes",
            None,
            "renders the distributed run for the cluster: use it with --plan-only",
        )
    # a cancelled job stops Locust and still writes the report of what it measured
    sigterm_interrupts()
    spec = request.target or SANDBOX_TARGET
    sandbox = None
    if spec == SANDBOX_TARGET:
        # the sandbox (~30 ms: its manager, its faults) only when it is the target
        from nbaverify.sandbox import Sandbox

        sandbox = Sandbox(say=lambda line: say(f"sandbox: {line}")).ready_for_a_run()
    target = load_target(spec)
    if target.is_production and "disruptive" not in request.allow:
        raise ConfigError(
            str(target.source),
            "environment",
            "a load test is disruptive: against production it runs only "
            "with --allow disruptive (and the platform team's agreement)",
        )
    limits = thresholds.parse_all(target.expectations["load.thresholds"])
    settings = capacity_settings(target, request)
    plan = runner.plan(
        target, request.profile, request.model, request.workers or request.remote_workers
    )
    started = dt.datetime.now(dt.UTC)
    traffic = plan_mix(plan, target, request.mix or target.expectations["load.mix"], started)
    traffic["rate"] = plan_rate(
        plan, target, request.rate or target.expectations["load.rate"], started, settings
    )
    traffic["shape"] = plan_shape(
        plan, target, request.shape or target.expectations["load.shape"], started, settings
    )
    started_at = utc_now_iso()
    run_id = (
        request.run_id
        or f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{plan.profile}-{plan.model}-{target.name}"
    )
    out = Path(request.report_dir) if request.report_dir else LOAD_REPORTS / run_id
    length = "a knee search" if settings else f"{plan.duration_s:.0f}s"
    say(
        f"nbaverify load {plan.profile} ({plan.model} model, {max(1, plan.workers)} process(es), "
        f"{length}) -> {target.name} ({target.api.base_url})"
    )
    say(f"  mix ({traffic['source']}): {traffic['described']}")
    if traffic["rate"]:
        say(
            f"  rate (observed): {traffic['rate']['described']}; the profile's arrival rates"
            f" x{traffic['rate']['factor']:.3g}"
        )
    if traffic["shape"]:
        say(f"  shape (observed): {traffic['shape']['described']}")
    preflight(target, request)
    if request.plan_only:  # for workers elsewhere: the settings every Locust process reads
        planned = capacity.search_plan(plan, out) if settings else plan
        say(f"plan: {runner.write_config(planned, out)}")
        if request.kubernetes:
            say(
                f"kubernetes: {render_kubernetes(planned, target, request, traffic['source'], out)}"
            )
        return 0
    if sandbox is not None:
        # as the platform's operators must: the load generator is exempt from the rate limit
        sandbox.allowlist(["127.0.0.1"])
        say("sandbox: allowlisted the load generator (127.0.0.1) for this run")
    try:
        if settings is not None:
            say(
                f"  the knee search: from {settings.start_rps:g} req/s (x{settings.growth:g}) up to"
                f" {settings.max_rps:g}, then bisection to within {settings.tolerance:.0%}, then a"
                f" hold of {settings.hold_s:g}s at the knee"
            )
            found = capacity.search(
                plan,
                target,
                out,
                settings,
                say,
                remote_workers=request.remote_workers,
                master_port=request.master_port,
            )
        else:
            outcome = runner.run(
                plan,
                target,
                out,
                [t for t in limits if t.abort],
                say,
                remote_workers=request.remote_workers,
                master_port=request.master_port,
            )
    finally:
        if sandbox is not None:
            sandbox.allowlist([])
    if settings is not None:
        summary = judge_capacity(plan, target, out, found, run_id, started, started_at)
        plan_of = summary.capacity or {}
        images = (
            {load_report.CAPACITY_CHART: capacity_report.chart(plan_of)}
            if plan_of.get("steps")
            else {}
        )
    else:
        summary = judge(plan, target, out, limits, outcome, run_id, started_at)
        history = [
            sample
            for sample in stats.read_history(out / "locust")
            if sample.t <= plan.duration_s + 1
        ]
        images = load_report.charts(history, summary.thresholds) if history else {}
    summary.mix = traffic
    if traffic.get("observed"):
        images[load_report.MIX_CHART] = load_report.mix_chart(traffic)
    load_report.write_all(summary, out, images)
    for line in load_report.terminal_lines(summary):
        say(line)
    say(f"reports: {out}")
    return summary.exit_code


def render_kubernetes(
    plan: runner.Plan, target: Target, request: LoadRequest, mix: str, out: Path
) -> Path:
    """kubernetes.yaml: the master Job and worker Deployment that run this plan inside the
    cluster."""
    settings = target.expectations["load.kubernetes"]
    workers = request.remote_workers or settings["workers"]
    argv = ["--profile", plan.profile, "--model", plan.model, "--mix", mix]
    objects = k8s_load.render(plan.config, target, argv, workers, settings)
    return k8s_load.write(objects, out, k8s_load.signing_variable(target))


def plan_mix(plan: runner.Plan, target: Target, source: str, started: dt.datetime) -> dict:
    """The run's traffic mix: the expectations' weights, or (source "observed") the users' own from
    Prometheus over the period before the run, else from the API's access log; either way the
    observed mix beside it, when it can be read, and their distance."""
    if source not in MIX_SOURCES:
        raise ConfigError("--mix", source, f"choose one of {', '.join(MIX_SOURCES)}")
    seen, why = observed.read(target, started)
    if seen is None:  # Prometheus does not count requests by route here: the API's access log may
        from_log, log_why = observed.read_log(target, started)
        seen, why = (from_log, log_why) if from_log else (None, f"{why}; {log_why}")
    if source == "observed":
        if seen is None:
            raise ConfigError(
                "--mix",
                source,
                f"the observed traffic cannot be read ({why}); plan on the expectations' "
                "weights with --mix expectations",
            )
        plan.config["weights"] = seen.weights
    planned = plan.config["weights"]
    described = ", ".join(f"{key} {weight:g}" for key, weight in planned.items())
    return {
        "source": source,
        "planned": planned,
        "described": described,
        "observed": seen.of_all if seen else None,
        "observed_from": why,
        "window": seen.window if seen else None,
        "observed_requests": round(seen.total) if seen else None,
        "left_out": seen.left_out if seen else {},
        "distance": observed.distance(planned, seen) if seen else None,
    }


MIX_SOURCES = ("expectations", "observed")
RATE_SOURCES = ("profile", "observed")


def plan_rate(
    plan: runner.Plan,
    target: Target,
    source: str,
    started: dt.datetime,
    search: SearchSettings | None,
) -> dict | None:
    """With source "observed", the open model's arrival rates scaled so that the profile's plateau
    (its longest stage) is the observed peak x growth x headroom; what each factor was, or None when
    the profile's rates stand.
    """
    if not _observed_arrivals("--rate", source, plan, search, "arrival rates"):
        return None
    seen, why = observed.read_rate(target, started)
    if seen is None:
        raise ConfigError(
            "--rate",
            source,
            f"the observed peak cannot be read ({why}); run at the profile's rates "
            "with --rate profile",
        )
    plateau = _plateau(plan.arrival_stages)
    factor = seen.target_rps / plateau
    stages = [{**stage, "rate": round(stage["rate"] * factor, 3)} for stage in plan.arrival_stages]
    plan.arrival_stages = plan.config["arrival_stages"] = stages
    return {
        "described": seen.describe(),
        "target_rps": seen.target_rps,
        "peak_rps": seen.peak_rps,
        "growth": seen.growth,
        "growth_from": seen.growth_from,
        "headroom": seen.headroom,
        "query": seen.query,
        "factor": round(factor, 4),
        "profile_plateau_rps": plateau,
    }


def _observed_arrivals(
    option: str, source: str, plan: runner.Plan, search: SearchSettings | None, what: str
) -> bool:
    """Does an open model's option ask for production's figures ("observed")? ConfigError where it
    cannot apply."""
    if source not in RATE_SOURCES:
        raise ConfigError(option, source, f"choose one of {', '.join(RATE_SOURCES)}")
    if source == "profile":
        return False
    if search is not None or plan.model != "open":
        raise ConfigError(
            option,
            source,
            f"sets the {what} of a run: use it with the open model (--model open), not "
            "with the closed model or the capacity search",
        )
    return True


def _plateau(stages: list[dict]) -> float:
    """A profile's plateau: the rate of its longest stage."""
    return max(stages, key=lambda stage: stage["duration_s"])["rate"]


def plan_shape(
    plan: runner.Plan,
    target: Target,
    source: str,
    started: dt.datetime,
    search: SearchSettings | None,
) -> dict | None:
    """With source "observed", the open model's arrival stages become the busiest day of the window,
    one stage a `day_step`, compressed into the profile's length, its busiest step at the plateau
    (the profile's longest stage, after `--rate`); what it replays, or None when the profile's
    stages stand."""
    if not _observed_arrivals("--shape", source, plan, search, "arrival stages"):
        return None
    day, why = observed.read_day(target, started)
    if day is None:
        raise ConfigError(
            "--shape",
            source,
            f"the observed day cannot be read ({why}); run the profile's stages with "
            "--shape profile",
        )
    total, plateau = (
        sum(stage["duration_s"] for stage in plan.arrival_stages),
        _plateau(plan.arrival_stages),
    )
    plan.arrival_stages = plan.config["arrival_stages"] = day.stages(total, plateau)
    return {
        "described": day.describe(total, plateau),
        "day_start": day.start,
        "step_s": day.step_s,
        "observed_rps": [round(rate, 3) for rate in day.rates],
        "query": day.query,
    }


def capacity_settings(target: Target, request: LoadRequest) -> SearchSettings | None:
    """The knee search's settings when the profile is a search (`search = "knee"`), else None."""
    profile = target.expectations["load.profiles"].get(request.profile) or {}
    if not profile.get("search"):
        return None
    if (request.model or profile.get("model")) != "open":
        raise ConfigError(
            "--model",
            request.model or profile.get("model"),
            f"the {request.profile} profile searches "
            "for the knee by offering fixed rates: it runs the open model only",
        )
    return SearchSettings.of(profile, target.expectations["load.capacity"])


def judge_capacity(
    plan: runner.Plan,
    target: Target,
    out: Path,
    found: capacity.SearchOutcome,
    run_id: str,
    started: dt.datetime,
    started_at: str,
) -> LoadSummary:
    """The capacity run's record: the knee, the projection and the steps; its totals are the last
    step's (the hold at the knee when it held)."""
    previous = past_runs.previous_summary(out.parent, out, target.name, plan.profile, plan.model)
    before = (
        (previous.run_id, previous.capacity["knee_rps"])
        if previous and previous.capacity and previous.capacity.get("knee_rps")
        else None
    )
    plan_of, problems = capacity.plan_capacity(target, found, started, before)
    if found.interrupted:
        problems.insert(
            0, f"interrupted after {found.wall_s:.0f}s: the search did not finish; run it again"
        )
    if found.aborted:
        problems.insert(0, f"stopped early: {found.aborted}")
    crashed = stats.scenario_problem(out / "locust")
    if crashed:
        problems.insert(0, crashed)
    steps = found.search.steps
    last = steps[-1] if steps else None
    totals = (
        LoadTotals(
            requests=last.requests,
            failures=last.failures,
            rps=last.achieved_rps,
            p50_ms=last.p50_ms,
            p95_ms=last.p95_ms,
            p99_ms=last.p99_ms,
            error_rate=last.error_ratio,
            target_rps=last.offered_rps,
            achieved_rps=last.achieved_rps,
        )
        if last
        else LoadTotals.of(stats.EndpointStats.empty())
    )
    endpoints = capacity.endpoints_of(out, last) if last else []
    summary = LoadSummary(
        run_id=run_id,
        target=target.name,
        environment=target.environment,
        profile=plan.profile,
        model=plan.model,
        workers=plan.workers,
        started_at=started_at,
        duration_s=found.wall_s,
        totals=totals,
        problems=problems,
        aborted=found.aborted,
        interrupted=found.interrupted,
        peak_rss_mib=found.peak_rss_mib or {},
        endpoints=endpoints,
        capacity=plan_of,
        nbaverify_version=__version__,
    )
    if before and plan_of["knee_rps"] is not None:
        change = (plan_of["knee_rps"] - before[1]) / before[1] * 100
        tolerance = target.expectations["load.trend_tolerance_pct"]
        row = TrendRow(
            "knee", before[1], plan_of["knee_rps"], round(change, 1), "req/s", change < -tolerance
        )
        summary.trend = Trend(
            before[0],
            [row],
            (
                [
                    f"knee {before[1]:g} -> {plan_of['knee_rps']:g} req/s ({change:+.0f}%, "
                    f"tolerance {tolerance:g}%)"
                ]
                if row.regression
                else []
            ),
        )
    return summary


def preflight(target: Target, request: LoadRequest) -> None:
    """Before any load: the API answers /health (else one line, not a run of 100 % errors), the port
    is free."""
    client = ApiClient.unauthenticated(target)
    try:
        client.get("/health")
    finally:
        client.close()
    if request.remote_workers:
        procs.ensure_port_free(
            request.master_port, "the Locust master", choose="another with --master-port"
        )


def judge(
    plan: runner.Plan,
    target: Target,
    out: Path,
    limits: list[thresholds.Threshold],
    outcome: runner.Outcome,
    run_id: str,
    started_at: str,
) -> LoadSummary:
    """The run's record from Locust's CSV files: every threshold's verdict and every reason it
    fails."""
    prefix = out / "locust"
    table = stats.read_final(prefix)
    overall = table.get("all") or stats.EndpointStats.empty()
    verdicts = thresholds.evaluate(limits, table)
    problems = []
    if outcome.interrupted:
        problems.append(
            f"interrupted after {outcome.wall_s:.0f}s of {plan.duration_s:.0f}s: the figures cover"
            " only the part that ran; run it again to judge the platform"
        )
    limited = stats.rate_limited(prefix)
    if limited:
        problems.append(
            f"the target rate-limited the load generator: {limited} requests answered 429, so"
            " latency and throughput mean nothing; allowlist the load generator's address on the"
            " platform's rate limiter"
        )
    if overall.requests == 0:
        problems.append(f"no request was made: see {out / 'locust.log'}")
    crashed = stats.scenario_problem(prefix)
    if crashed:
        problems.append(crashed)
    if outcome.aborted:
        problems.append(f"stopped early: {outcome.aborted}")
    problems += [f"threshold {v.id}: {v.message}" for v in verdicts if v.outcome == "failed"]
    totals = LoadTotals.of(overall)
    if plan.model == "open":
        planned_s = sum(s["duration_s"] for s in plan.arrival_stages)
        totals.target_rps = (
            sum(s["rate"] * s["duration_s"] for s in plan.arrival_stages) / planned_s
        )
        totals.achieved_rps = round(totals.requests / planned_s, 2)
    endpoints = sorted(
        (replace(s, rps=round(s.rps, 2)) for key, s in table.items() if key != "all"),
        key=lambda e: -e.requests,
    )
    summary = LoadSummary(
        run_id=run_id,
        target=target.name,
        environment=target.environment,
        profile=plan.profile,
        model=plan.model,
        workers=plan.workers,
        started_at=started_at,
        duration_s=outcome.wall_s,
        totals=totals,
        thresholds=verdicts,
        problems=problems,
        aborted=outcome.aborted,
        interrupted=outcome.interrupted,
        rate_limited=limited,
        peak_rss_mib=outcome.peak_rss_mib,
        endpoints=endpoints,
        nbaverify_version=__version__,
    )
    if not outcome.interrupted:  # a run cut short is not the profile: no trend from it
        previous = past_runs.previous_summary(
            out.parent, out, target.name, plan.profile, plan.model
        )
        summary.trend = Trend.between(
            totals, previous, target.expectations["load.trend_tolerance_pct"]
        )
    return summary
