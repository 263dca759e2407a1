"""`nbaverify`: run checks, manage the sandbox (Contract 3).

Exit codes: 0 no critical check failed; 1 a critical check failed (or the sandbox failed to do
what was asked); 2 bad profile, bad usage, an unwritable report directory, or nothing selected;
4 interrupted (SIGINT/SIGTERM), the reports of what ran still written.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import json
import os
import shutil
import sys
from pathlib import Path

from nbaverify import __version__, options, shipped
from nbaverify.config import SANDBOX_TARGET, load_target
from nbaverify.errors import ConfigError, NbaverifyError
from nbaverify.exit_codes import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_RUNNING,
    EXIT_OK,
    EXIT_USAGE,
)
from nbaverify.markers import AREAS, TIERS

CHECKS_DIR = shipped.CHECKS


def main(argv: list[str] | None = None) -> int:
    # start-up: httpx imports its command-line client (click, rich: ~50 ms a run here)
    # whenever those are installed, as a dev install's tools have them, and nbaverify never calls
    # it. A None entry makes that one import fail, and httpx falls back to a stub `httpx.main`.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    try:
        code = _main(argv)
        # here, not at exit: a reader that closed the pipe is then ours to handle
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # `nbaverify sandbox faults | head`: the reader has what it wanted
        # no second error at exit's flush
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1 :]
    args = build_parser().parse_args(argv)
    try:
        if args.command == "check":
            return run_checks(args, passthrough)
        if args.command == "sandbox":
            return run_sandbox(args)
        if args.command == "report":
            return run_report(args)
        if args.command in ("checks", "explain"):
            return run_catalogue(args)
        if args.command == "load":
            # start-up: the load command brings the clients (httpx, psycopg, PyJWT: ~220 ms);
            # `nbaverify load` alone needs them
            from nbaverify.loadtest.command import LoadRequest, run_load

            resolved(args, only=LOAD_SHARED)
            return run_load(
                LoadRequest(
                    **{f.name: getattr(args, f.name) for f in dataclasses.fields(LoadRequest)}
                )
            )
    except ConfigError as exc:
        print(f"nbaverify: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NbaverifyError as exc:
        print(f"nbaverify: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:  # before a run began, or a second Ctrl-C while it stopped
        print("nbaverify: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    build_parser().print_help()
    return EXIT_USAGE


# the run options `nbaverify load` shares with `nbaverify check`, resolved alike; its --report-dir
# (reports/load/) and --allow (a load test against production needs it on its own command line,
# never from a project's configuration) are its own
LOAD_SHARED = ("target", "run_id")


def add_options(parser, only: tuple[str, ...] | None = None) -> None:
    """The run options, from the one table the pytest plugin is built from too
    (nbaverify.options)."""
    for option in options.OPTIONS:
        if only is None or option.dest in only:
            parser.add_argument(
                option.flag,
                metavar=option.metavar,
                help=option.full_help(),
                default=None,
                choices=option.choices,
                action="append" if option.repeat else "store",
            )


def resolved(args, only: tuple[str, ...] | None = None) -> None:
    """Fill every option left unset on the command line from the environment, the project config,
    the default."""
    config = options.project_config()[0]
    for option in options.OPTIONS:
        if only is None or option.dest in only:
            setattr(
                args,
                option.dest,
                options.resolve(option.dest, getattr(args, option.dest), config=config),
            )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nbaverify",
        description="Verify the NBA Stat Projections platform against its maintenance guide.",
    )
    parser.add_argument("--version", action="version", version=f"nbaverify {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser(
        "check",
        help="run a tier of checks and write the run record",
        description="Run checks with pytest; extra pytest arguments go after --.",
    )
    check.add_argument(
        "tier",
        nargs="?",
        default="gate",
        choices=(*TIERS, "all"),
        help="which cadence to run (default: gate)",
    )
    add_options(check)

    report = commands.add_parser(
        "report",
        help="the period's compliance report, built from the runs' evidence records",
        description=(
            "Read every reports/*/evidence.json of the period and write compliance.md "
            "and compliance.json: scheduled runs held or missed, failures and how long "
            "each stayed open, waivers in force, guide coverage."
        ),
    )
    report.add_argument(
        "--reports",
        metavar="DIR",
        default=os.environ.get("NBAVERIFY_REPORTS_ROOT", "reports"),
        help=(
            "where the runs' report directories are (default: reports; env NBAVERIFY_REPORTS_ROOT)"
        ),
    )
    report.add_argument(
        "--target", metavar="NAME", help="only runs against this target (default: every target)"
    )
    report.add_argument(
        "--since",
        metavar="YYYY-MM-DD",
        type=_date,
        help="first day of the period (default: 30 days ago)",
    )
    report.add_argument(
        "--until",
        metavar="YYYY-MM-DD",
        type=_date,
        help="last day of the period (default: today, UTC)",
    )
    report.add_argument(
        "--out",
        metavar="DIR",
        help="where to write it (default: <reports>/compliance-<since>-<until>)",
    )

    load = commands.add_parser(
        "load",
        help="run a Locust load scenario, judged by the thresholds in the expectations",
        description=(
            "Run the platform's Locust scenarios (load/) headless in a subprocess; "
            "reports in reports/load/<run-id>/ (summary.json, summary.md, report.html "
            "with charts, Locust's CSV files). Exit 0: every threshold held; 1: a "
            "threshold breached, the run aborted, or the target rate-limited the load; "
            "2: bad usage or profile; 4: interrupted (the report of what ran is kept)."
        ),
    )
    add_options(load, only=LOAD_SHARED)
    load.add_argument(
        "--profile",
        default="smoke",
        help=(
            "load profile from expectations.load.profiles: smoke (about "
            "30 s, for CI) or quarterly (ramp-up, plateau, spike); default smoke"
        ),
    )
    load.add_argument(
        "--model",
        choices=["closed", "open"],
        help=(
            "closed: virtual users wait for replies; open: a constant arrival rate, latency from"
            " each request's intended send time (default: the profile's)"
        ),
    )
    load.add_argument(
        "--workers",
        type=_count,
        default=0,
        metavar="N",
        help="run a Locust master with N local worker processes (default: one process)",
    )
    load.add_argument(
        "--remote-workers",
        type=_count,
        default=0,
        metavar="N",
        help=(
            "start only the Locust master (all interfaces, --master-port) and wait for N workers "
            "started elsewhere (other machines; in a cluster: --plan-only --kubernetes)"
        ),
    )
    load.add_argument(
        "--master-port",
        type=int,
        default=5557,
        metavar="PORT",
        help="with --remote-workers (default 5557)",
    )
    load.add_argument(
        "--mix",
        choices=["expectations", "observed"],
        help=(
            "the requests' weights: expectations.load.weights, or observed: what users sent over"
            " expectations.load.observed.window, read from Prometheus (default:"
            " expectations.load.mix)"
        ),
    )
    load.add_argument(
        "--plan-only",
        action="store_true",
        help="write the run's config.json (what remote workers read) to the report dir and stop",
    )
    load.add_argument(
        "--rate",
        choices=["profile", "observed"],
        help=(
            "the open model's arrival rates: the profile's, or observed: scaled so its plateau is"
            " the peak users sent x their growth x the capacity plan's headroom, from Prometheus"
            " (default: expectations.load.rate)"
        ),
    )
    load.add_argument(
        "--shape",
        choices=["profile", "observed"],
        help=(
            "the open model's arrival stages: the profile's, or observed: the busiest day of"
            " expectations.load.observed.window, a stage a day_step, compressed into the profile's"
            " length with its busiest step at the plateau, from Prometheus (default:"
            " expectations.load.shape)"
        ),
    )
    load.add_argument(
        "--kubernetes",
        action="store_true",
        help=(
            "with --plan-only: also kubernetes.yaml, the distributed run inside a cluster (a master"
            " Job that judges it, a worker Deployment of --remote-workers or"
            " expectations.load.kubernetes.workers Locust processes); validate it with kubectl"
            " apply --dry-run=server"
        ),
    )
    load.add_argument(
        "--report-dir", metavar="DIR", help="where the report goes (default: reports/load/<run-id>)"
    )
    load.add_argument(
        "--allow",
        metavar="KIND",
        action="append",
        default=[],
        choices=["disruptive"],
        help="against production: --allow disruptive is required (a load test is disruptive)",
    )

    listing = commands.add_parser(
        "checks",
        help="the catalogue: every check, its cadences, severity and summary",
        description=(
            "List the checks (shipped, and a team's --checks folders) without "
            "running any: what `nbaverify check TIER` would run."
        ),
    )
    listing.add_argument(
        "tier",
        nargs="?",
        default="all",
        choices=(*TIERS, "all"),
        help="only the checks of this cadence (default: all)",
    )
    listing.add_argument("--area", choices=AREAS, help="only the checks of this area")
    listing.add_argument(
        "--checks",
        metavar="DIR",
        action="append",
        default=[],
        help="a folder of a team's own checks to list too (repeatable)",
    )
    shape = listing.add_mutually_exclusive_group()
    shape.add_argument(
        "--json", action="store_true", help="machine-readable: one entry a check, with its cases"
    )
    shape.add_argument("--markdown", action="store_true", help="Markdown tables, one an area")
    explain = commands.add_parser(
        "explain",
        help=(
            "one check: the guide's words, what it reads, its severity and why, "
            "the faults that prove it"
        ),
        description=(
            "Explain a check: name it as check_x, check_x[case] or checks/test_mod.py::check_x."
        ),
    )
    explain.add_argument("check", help="the check, e.g. check_token_refused")
    explain.add_argument(
        "--checks",
        metavar="DIR",
        action="append",
        default=[],
        help="a folder of a team's own checks to look in too (repeatable)",
    )

    sandbox = commands.add_parser(
        "sandbox",
        help="the built-in sandbox target",
        description=(
            "The built-in sandbox: PostgreSQL primary + replica, the reference "
            "API, Prometheus. State in NBAVERIFY_SANDBOX_DIR "
            "(default /tmp/nbaverify-sandbox)."
        ),
    )
    verbs = sandbox.add_subparsers(dest="verb", metavar="VERB", required=True)
    up = verbs.add_parser(
        "up", help="start the sandbox (idempotent) with exactly the given faults on"
    )
    up.add_argument(
        "--fault",
        metavar="NAME",
        action="append",
        default=[],
        help="switch on a fault from the catalogue (repeatable; see `nbaverify sandbox faults`)",
    )
    up.add_argument(
        "--api",
        choices=["python", "node"],
        default=None,
        help=(
            "which reference API serves the platform: python (Starlette) or node (koa, the guide's "
            "own libraries); env NBAVERIFY_SANDBOX_API; remembered until changed (default python)"
        ),
    )
    up.add_argument(
        "--capacity-limited",
        metavar="SLOTS/MS",
        type=_capacity_limit,
        help=(
            "give the API a known capacity: SLOTS requests served at once, each for MS milliseconds"
            " (4/40: 100 req/s), for proving `nbaverify load --profile capacity`; the next `up`"
            " lifts it"
        ),
    )
    up.add_argument(
        "--scale",
        type=_scale,
        default=None,
        metavar="N",
        help=(
            "seed N times the data (player_stats, game_stats) and serve N times the cluster's"
            " objects (1, 10 or 100; set when the sandbox is first seeded: 10 takes about 2 minutes"
            " and 5 GiB, 100 about 15 minutes and 56 GiB)"
        ),
    )
    up.add_argument(
        "--variant",
        metavar="NAME|SEED",
        default=None,
        help=(
            "a healthy variant: every choice the guide leaves open made otherwise (receiver names,"
            " timers, label keys, a TLS proxy...); a name from `nbaverify sandbox variants`, a"
            " number to draw one, or 'default'; remembered until changed"
        ),
    )
    down = verbs.add_parser("down", help="stop every sandbox process (data is kept)")
    down.add_argument(
        "--purge", action="store_true", help="also delete the sandbox's state directory"
    )
    status = verbs.add_parser("status", help="what runs, where, and which faults are on")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    faults = verbs.add_parser(
        "faults", help="the fault catalogue: what each breaks and which checks catch it"
    )
    faults.add_argument("--json", action="store_true", help="machine-readable output")
    variants = verbs.add_parser(
        "variants", help="the healthy variants: the choices each makes otherwise"
    )
    variants.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _scale(text: str) -> int:
    if text not in ("1", "10", "100"):
        raise argparse.ArgumentTypeError(f"must be 1, 10 or 100, got {text!r}")
    return int(text)


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a number of processes: {text!r} (0 or more)")
    return value


def _capacity_limit(text: str) -> tuple[int, float]:
    slots, _, ms = text.partition("/")
    try:
        limit = int(slots), float(ms)
    except ValueError:
        limit = (0, 0.0)
    if limit[0] < 1 or limit[1] <= 0:
        raise argparse.ArgumentTypeError(
            f"not SLOTS/MS: {text!r} (e.g. 4/40: 4 at once, 40 ms each)"
        )
    return limit


def _date(text: str):
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (write YYYY-MM-DD)") from None


# -- report -----------------------------------------------------------------------------------
def run_report(args) -> int:
    # start-up: the report's modules (~11 ms) are for `nbaverify report` alone
    from nbaverify.loadtest import past_runs
    from nbaverify.reports import compliance_page, evidence_records

    until = args.until or dt.datetime.now(dt.UTC).date()
    since = args.since or until - dt.timedelta(days=29)
    if since > until:
        raise ConfigError("--since", None, f"{since} is after --until {until}")
    root = Path(args.reports)
    if not root.is_dir():
        raise ConfigError(
            "--reports",
            None,
            f"{root} is not a directory; point it at the runs' report directories",
        )
    records = evidence_records.collect(root, args.target, since, until)
    if not records:
        print(
            f"nbaverify: no evidence record in {root}/*/{evidence_records.RECORD_FILE} for"
            f" {args.target or 'any target'} from {since} to {until}; scheduled runs write one each"
            " (nbaverify check TIER --report-dir ...)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    report = evidence_records.build_report(
        records,
        since,
        until,
        args.target,
        load=past_runs.load_runs(root / "load", args.target, since, until),
    )
    out = Path(args.out or root / f"compliance-{since}-{until}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "compliance.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "compliance.md").write_text(evidence_records.report_markdown(report))
    (out / "compliance.html").write_text(compliance_page.render(report))
    still_open = [f for f in report["failures"] if not f["resolved"]]
    missed = sum(len(row["missed"]) for row in report["schedule"])
    print(
        f"compliance {since}..{until}: {len(records)} run(s), {missed} scheduled period(s) without"
        f" a run, {len(report['failures'])} failure stretch(es) ({len(still_open)} still open),"
        f" {len(report['waivers'])} waiver(s), {len(report['load_tests'])} load test(s)"
    )
    print(f"report: {out / 'compliance.html'} (and compliance.md, compliance.json)")
    return EXIT_OK


# -- check ------------------------------------------------------------------------------------
def run_checks(args, passthrough: list[str]) -> int:
    # start-up (pytest, the plugins, the checks' modules, collection) builds objects that live the
    # whole run, and the cyclic GC walked them over and over: ~0.2 s of a 2 s gate. Off until
    # collection ends, when Handoff freezes what start-up built and turns it back on.
    gc.disable()
    try:
        return _run_checks(args, passthrough)
    finally:
        gc.enable()


def _run_checks(args, passthrough: list[str]) -> int:
    resolved(args)
    spec = args.target or SANDBOX_TARGET
    if spec == SANDBOX_TARGET:
        ensure_sandbox()
    target = load_target(spec)  # a bad profile stops here, before pytest starts
    accepted = []
    if args.waivers:
        # start-up: its pydantic models (~2 ms) are built only for a run given --waivers
        from nbaverify import waivers

        accepted = waivers.load(Path(args.waivers))  # and so does a malformed waivers file
    where = target.profile.api.base_url if target.profile.api else target.source
    print(f"nbaverify {args.tier} -> {target.name} ({target.environment}, {where})", flush=True)

    # start-up: nbaverify --help and the sandbox commands must not import pytest (~110 ms) or the
    # reports' writer
    import pytest

    from nbaverify.reports.render import ensure_writable

    # before any check, in one line
    ensure_writable(Path(args.report_dir) if args.report_dir else Path("reports"))
    team = [Path(folder) for folder in args.checks]
    for folder in team:
        if not folder.is_dir():
            raise ConfigError("--checks", str(folder), "no such folder of checks")
    # explicit node ids or paths after -- replace the default "every check"; checks/... names a
    # shipped one
    passthrough = [shipped_check_path(arg) for arg in passthrough]
    selection = (
        [] if any("::" in arg or arg.endswith(".py") for arg in passthrough) else [str(CHECKS_DIR)]
    )
    # the working directory is the run's root (reports/, a team's ids); nbaverify's own settings are
    # given here, not read from an ini file, so the run is the same from a checkout or an install
    pytest_args = [
        *selection,
        *map(str, team),
        f"--rootdir={Path.cwd()}",
        "-c",
        os.devnull,
        "-p",
        "nbaverify.plugin",
        "-p",
        "no:locust",
        "-p",
        "no:pytest11.testinfra",
        # Hypothesis's plugin imports all of Hypothesis at start-up (0.65 s a run here); the fuzzing
        # checks import it themselves when they run, and need none of the plugin's options
        "-p",
        "no:hypothesispytest",
        "--target",
        spec,
        "--tier",
        args.tier,
        "-q",
        "--tb=no",
        "-rN",
        "-p",
        "no:cacheprovider",
        # every check's assert carries its one-line message; rewriting would add nothing to the
        # record, yet costs ~1 s a run rewriting hypothesis's modules where bytecode is not cached
        "--assert=plain",
        # we imported httpx (and so anyio, a pytest plugin) before pytest: harmless here
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
    ]
    for option in options.OPTIONS:
        # every run option as resolved above (the team's folders are paths already)
        if option.dest not in ("target", "checks"):
            pytest_args += option.argv(getattr(args, option.dest))
    # start-up: the plugin side imports pytest, for `nbaverify check` alone
    from nbaverify.plugins.handoff import Handoff

    code = int(pytest.main(pytest_args + passthrough, plugins=[Handoff(target, tuple(accepted))]))
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        print(
            "nbaverify: no check matched the selection (tier, --area, or pytest arguments)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if code in (pytest.ExitCode.USAGE_ERROR, EXIT_USAGE):
        return EXIT_USAGE
    return code


def shipped_check_path(arg: str) -> str:
    """`checks/test_jwt.py::check_x` names a shipped check wherever nbaverify is installed."""
    path, sep, rest = arg.partition("::")
    if path.startswith("checks/") and not Path(path).exists():
        return str(CHECKS_DIR / path.removeprefix("checks/")) + sep + rest
    return arg


def ensure_sandbox():
    # start-up: the sandbox (httpx, psycopg, its manager) only for a sandbox run
    from nbaverify.sandbox import Sandbox

    return Sandbox(say=lambda line: print(f"sandbox: {line}", flush=True)).ready_for_a_run()


# -- sandbox ----------------------------------------------------------------------------------
def run_catalogue(args) -> int:
    # start-up: both import pytest, and reference the sandbox's faults
    from nbaverify import catalogue, reference

    folders = [Path(folder) for folder in args.checks]
    for folder in folders:
        if not folder.is_dir():
            raise ConfigError("--checks", str(folder), "no such folder of checks")
    specs = catalogue.collect(folders)
    width = shutil.get_terminal_size((120, 24)).columns
    if args.command == "explain":
        # start-up: the plugin's fixtures import pytest and the clients (httpx)
        from nbaverify.plugins import fixtures

        sources = {
            name: " ".join((getattr(fixtures, name).__doc__ or "").split())
            for name in catalogue.SOURCES
        }
        print(
            reference.explain(
                reference.find(specs, args.check), specs, sources, width=min(width, 100)
            ),
            end="",
        )
        return EXIT_OK
    chosen = reference.select(specs, args.tier, args.area)
    if not chosen:
        print(
            f"nbaverify: no check is in tier {args.tier}"
            + (f", area {args.area}" if args.area else ""),
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.json:
        print(json.dumps(reference.as_json(chosen), indent=2))
    elif args.markdown:
        print(reference.markdown(chosen), end="")
    else:
        print(reference.text(chosen, width=width))
    return EXIT_OK


def run_sandbox(args) -> int:
    # start-up: the sandbox (httpx, psycopg, its manager: ~170 ms) is imported by the sandbox
    # commands alone
    from nbaverify.sandbox import Sandbox, variants
    from nbaverify.sandbox.faults import CATALOGUE

    if args.verb == "faults":
        entries = [
            {
                "name": f.name,
                "area": f.area,
                "breaks": f.breaks,
                "caught_by": list(f.caught_by),
                "requires": f.requires,
                "variant": f.variant,
            }
            for f in CATALOGUE.values()
        ]
        if args.json:
            print(json.dumps(entries, indent=2))
            return EXIT_OK
        for fault in CATALOGUE.values():
            print(f"{fault.name} [{fault.area}]\n  breaks:    {fault.breaks}")
            if fault.variant:
                print(f"  made on:   sandbox up --variant {fault.variant}")
            print("  caught by: " + "\n             ".join(fault.caught_by))
        return EXIT_OK
    if args.verb == "variants":
        if args.json:
            print(
                json.dumps(
                    {
                        "dimensions": {
                            d: {"about": a, "values": list(v)}
                            for d, (a, v) in variants.DIMENSIONS.items()
                        },
                        "variants": {
                            n: {"choices": v.choices, "expects": v.expects}
                            for n, v in variants.VARIANTS.items()
                        },
                    },
                    indent=2,
                )
            )
        else:
            print(variants.listing())
        return EXIT_OK
    sandbox = Sandbox(say=lambda line: print(f"sandbox: {line}", flush=True))
    if args.verb == "up":
        sandbox.up(args.fault, api=args.api, scale=args.scale, variant=args.variant)
        if args.capacity_limited:
            capacity = sandbox.limit_capacity(*args.capacity_limited)
            print(
                f"sandbox: API capacity limited to {capacity:g} req/s ({args.capacity_limited[0]}"
                f" slots, {args.capacity_limited[1]:g} ms each)"
            )
        print(f"profile: {sandbox.layout.target_file} (use --target sandbox)")
        return EXIT_OK
    if args.verb == "down":
        sandbox.down(purge=args.purge)
        return EXIT_OK
    status = sandbox.status()
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        print(
            f"state: {status['state_dir']}"
            f" ({'initialised' if status['initialised'] else 'not initialised'})"
        )
        for name, service in status["services"].items():
            state = "running" if service["running"] else "stopped"
            if service.get("installed") is False:
                state = "not installed"
            implementation = (
                f" ({service['implementation']} reference API)"
                if "implementation" in service
                else ""
            )
            print(f"  {name:17} {state:13} {service['address']}{implementation}")
        print(f"faults: {', '.join(status['faults']) or 'none'}")
        print(f"variant: {status['variant']}")
        if status["scale"] > 1:
            print(f"scale: {status['scale']}x the base data and cluster objects")
        if status["capacity_limited"]:
            limit = status["capacity_limited"]
            print(
                f"capacity limited: {limit['slots']} slots, {limit['service_ms']:g} ms each "
                f"({limit['slots'] / limit['service_ms'] * 1000:g} req/s)"
            )
    return EXIT_OK if sandbox.running() else EXIT_NOT_RUNNING


if __name__ == "__main__":
    sys.exit(main())
