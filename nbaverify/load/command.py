"""`nbaverify load`: plan the run from the profile, run Locust, judge it, write the report."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from nbaverify import __version__, extras
from nbaverify.config import SANDBOX_TARGET, load_target
from nbaverify.errors import ConfigError
from nbaverify.load import report, runner, stats, thresholds
from nbaverify.results import utc_now_iso

LOAD_REPORTS = Path("reports") / "load"  # under the working directory, like a check run's reports


def run_load(args) -> int:
    extras.require("load")
    spec = args.target or SANDBOX_TARGET
    sandbox = None
    if spec == SANDBOX_TARGET:
        from nbaverify.sandbox import Sandbox

        sandbox = Sandbox(say=lambda line: print(f"sandbox: {line}", flush=True)).ready_for_a_run()
    target = load_target(spec)
    if target.is_production and "disruptive" not in args.allow:
        raise ConfigError(str(target.source), "environment", "a load test is disruptive: against production it runs only "
                          "with --allow disruptive (and the platform team's agreement)")
    limits = thresholds.parse_all(target.expectations["load.thresholds"])
    plan = runner.plan(target, args.profile, args.model, args.workers or args.remote_workers)
    started_at = utc_now_iso()
    run_id = args.run_id or f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{plan.profile}-{plan.model}-{target.name}"
    out = Path(args.report_dir) if args.report_dir else LOAD_REPORTS / run_id
    print(f"nbaverify load {plan.profile} ({plan.model} model, {max(1, plan.workers)} process(es), "
          f"{plan.duration_s:.0f}s) -> {target.name} ({target.profile.api.base_url})", flush=True)
    preflight(target, args)
    if args.plan_only:  # for workers elsewhere (fixtures/k8s/load/): the settings every Locust process reads
        print(f"plan: {runner.write_config(plan, out)}")
        return 0
    if sandbox is not None:  # as the platform's operators must: the load generator is exempt from the rate limit
        sandbox.allowlist(["127.0.0.1"])
        print("sandbox: allowlisted the load generator (127.0.0.1) for this run", flush=True)
    try:
        outcome = runner.run(plan, target, out, [t for t in limits if t.abort], lambda line: print(line, flush=True),
                             remote_workers=args.remote_workers, master_port=args.master_port)
    finally:
        if sandbox is not None:
            sandbox.allowlist([])
    summary = judge(plan, target, out, limits, outcome, run_id, started_at, args)
    print(f"reports: {out}")
    return summary["exit_code"]


def preflight(target, args) -> None:
    """Before any load: the API answers /health (else one line, not a run of 100 % errors), the port is free."""
    from nbaverify import procs
    from nbaverify.clients import ApiClient

    section = target.profile.api
    client = ApiClient(section.base_url, jwt_secret=None, ca_file=section.ca_file, timeout_s=target.expectations["api.timeout_s"])
    try:
        client.get("/health")
    finally:
        client.close()
    if args.remote_workers:
        procs.ensure_port_free(args.master_port, "the Locust master", choose="another with --master-port")


def judge(plan, target, out: Path, limits, outcome: dict, run_id: str, started_at: str, args) -> dict:
    prefix = out / "locust"
    table = stats.read_final(prefix)
    history = stats.read_history(prefix)
    overall = table.get("all") or stats.EndpointStats.empty()
    verdicts = thresholds.evaluate(limits, table)
    problems = []
    limited = stats.rate_limited(prefix)
    if limited:
        problems.append(f"the target rate-limited the load generator: {limited} requests answered 429, so latency and "
                        "throughput mean nothing; allowlist the load generator's address on the platform's rate limiter")
    if overall.requests == 0:
        problems.append(f"no request was made: see {out / 'locust.log'}")
    if outcome["aborted"]:
        problems.append(f"stopped early: {outcome['aborted']}")
    problems += [f"threshold {v.id}: {v.message}" for v in verdicts if v.outcome == "failed"]
    totals = {"requests": overall.requests, "failures": overall.failures, "rps": round(overall.rps, 2),
              "p50_ms": overall.p50_ms, "p95_ms": overall.p95_ms, "p99_ms": overall.p99_ms,
              "error_rate": round(overall.error_rate, 5)}
    if plan.model == "open":
        wanted = sum(s["rate"] * s["duration_s"] for s in plan.arrival_stages) / sum(s["duration_s"] for s in plan.arrival_stages)
        totals["target_rps"] = wanted
        totals["achieved_rps"] = round(totals["requests"] / sum(s["duration_s"] for s in plan.arrival_stages), 2)
    summary = {
        "run_id": run_id, "kind": "load", "target": target.name, "environment": target.environment, "profile": plan.profile,
        "model": plan.model, "workers": plan.workers, "started_at": started_at, "duration_s": outcome["wall_s"],
        "totals": totals, "thresholds": thresholds.as_dicts(verdicts), "problems": problems,
        "aborted": outcome["aborted"], "rate_limited": limited, "peak_rss_mib": outcome["peak_rss_mib"],
        "endpoints": report.endpoint_rows(table), "nbaverify_version": __version__,
    }
    previous = report.previous_summary(out.parent, out, target.name, plan.profile, plan.model)
    summary["trend"] = report.trend(summary, previous, target.expectations["load.trend_tolerance_pct"])
    summary["verdict"] = "FAIL" if problems else "PASS"
    summary["exit_code"] = 1 if problems else 0
    passed = sum(v.outcome == "passed" for v in verdicts)
    summary["status_line"] = (f"NBAVERIFY LOAD {summary['verdict']} - {passed}/{len(verdicts)} thresholds, "
                              f"{totals['requests']} requests, {totals['rps']:.1f}/s, p95 {totals['p95_ms']:.0f} ms, "
                              f"p99 {totals['p99_ms']:.0f} ms, errors {totals['error_rate']:.2%}")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    (out / "summary.md").write_text(report.markdown(summary))
    shown = [sample for sample in history if sample.t <= plan.duration_s + 1]  # not Locust's stopping seconds
    images = report.charts(shown, summary["thresholds"]) if shown else {}
    for name, data in images.items():
        (out / name).write_bytes(data)
    (out / "report.html").write_text(report.html_report(summary, images))
    for verdict in verdicts:
        mark = "ok  " if verdict.outcome == "passed" else "FAIL"
        print(f"{mark} {verdict.id}: {verdict.message}")
    for problem in problems[: len(problems) - sum(v.outcome == "failed" for v in verdicts)]:
        print(f"FAIL {problem}", file=sys.stdout)
    for regression in summary["trend"]["regressions"]:
        print(f"WARN regression since {summary['trend']['previous_run']}: {regression}")
    print(summary["status_line"])
    return summary
