"""The nbaverify pytest plugin: options, markers, the client fixtures, and the run record.

Registered by a pytest11 entry point wherever nbaverify is installed (and by the checkout's root
conftest.py), so `pytest --target T -m gate --pyargs nbaverify_checks` and `nbaverify check gate`
are the same run. It does nothing to a session that collects no check (the self-tests).

Fixtures a check may ask for:
    target    the resolved Target (profile + expectations + secrets)
    expect    the expectations, read by dotted key: expect["api.slow_response_ms"]
    api       ApiClient for the profile's [api]               (skips: "not configured: api")
    db        Database for the primary, read-only             (skips: "not configured: database")
    replica   Database for the replica, read-only             (skips: "not configured: database.replica_dsn_env")
    prom      Prometheus HTTP API client                       (skips: "not configured: prometheus")
    k8s       the Kubernetes objects: manifests or a live cluster (skips: "not configured: kubernetes")
    host      a testinfra host, one case per profile hosts URL  (skips: "not configured: hosts"); host_url names it
    read_source  the replica when configured, else the primary: for full-table reads
    history   values remembered from the previous run against the target (History.exchange)
    evidence  a dict whose contents go into the check's record in summary.json
"""

from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path

import pytest

from nbaverify import __version__, options, shipped, waivers
from nbaverify import evidence as evidence_record
from nbaverify.clients import ApiClient, Database
from nbaverify.clients.api import token_claims
from nbaverify.clients.prom import Prometheus
from nbaverify.config import SANDBOX_TARGET, Target, load_target
from nbaverify.errors import ConfigError, NbaverifyError, NotConfigured, TargetUnreachable, TargetUntrusted
from nbaverify.history import History
from nbaverify.io_stats import IO
from nbaverify.markers import AREAS, MARKERS, SAFETY, SEVERITIES, TIERS
from nbaverify.redact import Redactor
from nbaverify.render import terminal_lines, write_all
from nbaverify.results import CheckResult, RunSummary, new_run_id, utc_now_iso
from nbaverify.waivers import Waiver

RUN = pytest.StashKey["Run"]()
OPTIONS = pytest.StashKey[dict]()
EVIDENCE = pytest.StashKey[dict]()
CHECK_PREFIX = "check_"
EXIT_CONFIG = 2


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nbaverify", "nbaverify: verify the NBA Stat Projections platform")
    for option in options.OPTIONS:  # the same table `nbaverify check` is built from
        group.addoption(option.flag, metavar=option.metavar, help=option.full_help(), default=None,
                        choices=option.choices, action="append" if option.repeat else "store", dest=f"nbv_{option.dest}")
    group.addoption("--tier", metavar="TIER", choices=(*TIERS, "all"), default=None,
                    help=f"run one cadence: {', '.join(TIERS)} or all (e.g. --tier gate; `nbaverify check TIER`)")


def option(config: pytest.Config, dest: str):
    """A run option as resolved: command line > NBAVERIFY_* environment > project configuration > default."""
    cache = config.stash.setdefault(OPTIONS, {})
    if dest not in cache:
        cache[dest] = options.resolve(dest, config.getoption(f"nbv_{dest}"))
    return cache[dest]


# pytest plugins of other packages that must not take part in a verification run, wherever it is
# installed: Locust's (importing it after urllib3 crashes with RecursionError) and testinfra's (its
# `host` fixture would shadow the one that takes the profile's hosts)
GUARDED_PLUGINS = ("locust", "pytest11.testinfra")


def pytest_plugin_registered(plugin, manager: pytest.PytestPluginManager) -> None:
    # historic: called for every plugin registered before us too, so the first call blocks them in time
    for name in GUARDED_PLUGINS:
        if not manager.is_blocked(name):
            manager.set_blocked(name)  # unregisters it if it came first; otherwise it is never loaded


def pytest_configure(config: pytest.Config) -> None:
    for marker, text in MARKERS.items():
        config.addinivalue_line("markers", f"{marker}: {text}")
    config.addinivalue_line("python_functions", CHECK_PREFIX + "*")  # checks are check_*, whatever the ini says
    run = Run(config)
    config.stash[RUN] = run
    IO.reset()
    try:
        given = {dest: option(config, dest) for dest in options.BY_DEST}
    except ConfigError as exc:
        pytest.exit(f"nbaverify: {exc}", returncode=EXIT_CONFIG)
    if given["waivers"]:
        run.load_waivers(Path(given["waivers"]))
    if config.getoption("nbv_target") or os.environ.get("NBAVERIFY_TARGET") or options.project_config()[0].get("target"):
        run.load_target(given["target"])
    # a team's own check folders join the collection (nbaverify check --checks passes them as paths itself)
    config.args.extend(str(folder) for folder in given["checks"] if str(folder) not in config.args)


class Run:
    """The state of one verification run: its target, its selection, and its check records."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.target: Target | None = None
        self.redactor = Redactor()
        self.records: dict[str, CheckResult] = {}
        self.started = time.monotonic()
        self.started_at = utc_now_iso()
        self.summary: RunSummary | None = None
        self.report_dir: Path | None = None
        self.waivers: list[Waiver] = []
        self.today = dt.datetime.now(dt.UTC).date()
        self.not_run: dict[str, Waiver] = {}  # node id -> the run=false waiver that skipped it
        self.waiver_states: dict[Waiver, str] = {}

    def load_waivers(self, path: Path) -> None:
        try:
            self.waivers = waivers.load(path)
        except ConfigError as exc:  # before any check: a half-applied waivers file would mislead
            pytest.exit(f"nbaverify: {exc}", returncode=EXIT_CONFIG)

    def select_waivers(self, checks: list[pytest.Item]) -> None:
        """Note which waivers name a selected check; skip the checks a live run=false waiver covers."""
        for waiver in self.waivers:
            covered = [item for item in checks if waiver.covers(check_id(item))]
            if not covered:
                continue
            if waiver.expired(self.today):
                self.waiver_states[waiver] = "expired"
                continue
            self.waiver_states.setdefault(waiver, "in force")
            if not waiver.run:
                for item in covered:
                    if waiver.applies(check_id(item), None):
                        self.not_run[check_id(item)] = waiver
                        item.add_marker(pytest.mark.skip(reason=f"waived, not run: {waiver.describe()}"))

    def _waive(self, result: CheckResult) -> None:
        if result.id in self.not_run:
            result.outcome, result.message = "waived", f"not run: {self.not_run[result.id].describe()}"
            return
        if result.outcome not in ("failed", "error"):
            return
        for waiver in self.waivers:
            if self.waiver_states.get(waiver) == "in force" and waiver.applies(result.id, result.message):
                result.outcome, result.message = "waived", f"{result.message} [waived: {waiver.describe()}]"
                return

    def load_target(self, spec: str) -> None:
        try:
            self.target = load_target(spec)
        except ConfigError as exc:
            pytest.exit(f"nbaverify: {exc}", returncode=EXIT_CONFIG)
        for value in self.target.secret_values():
            self.redactor.add(value)

    def ensure_target(self) -> Target:
        if self.target is None:
            self.load_target(SANDBOX_TARGET)
        return self.target

    @property
    def tier(self) -> str:
        return self.config.getoption("tier") or self.config.getoption("markexpr") or "all"

    def record(self, item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> None:
        result = self.records.get(item.nodeid)
        if result is None:
            result = self.records[item.nodeid] = check_result(item)
        result.duration_s = round(result.duration_s + report.duration, 4)
        if report.skipped and result.outcome == "passed":
            result.outcome, result.message = "skipped", self.redactor(skip_reason(report))
        elif report.failed and result.outcome in ("passed", "skipped"):
            failed_assert = (report.when == "call" and call.excinfo is not None
                             and call.excinfo.errisinstance((AssertionError, pytest.fail.Exception)))
            result.outcome = "failed" if failed_assert else "error"
            result.message = self.redactor(one_line(call.excinfo) if call.excinfo else str(report.longrepr))
        if report.when == "teardown":
            result.evidence = redact_tree(item.stash.get(EVIDENCE, {}), self.redactor)
            self._waive(result)

    def finish(self) -> RunSummary:
        target = self.target
        summary = RunSummary(
            run_id=option(self.config, "run_id") or new_run_id(self.tier, target.name if target else "none"),
            target=target.name if target else "none", environment=target.environment if target else "none",
            tier=self.tier, started_at=self.started_at, checks=list(self.records.values()),
            nbaverify_version=__version__, fail_on=option(self.config, "fail_on"),
            waivers=[redact_tree(w.record(state), self.redactor) for w, state in self.waiver_states.items()], io=IO.snapshot(),
        )
        summary.finish(time.monotonic() - self.started)
        self.report_dir = Path(option(self.config, "report_dir") or self.config.rootpath / "reports" / summary.run_id)
        write_all(summary, self.report_dir)
        evidence_record.write_record(summary, self.report_dir, target.describe() if target else {})
        self.summary = summary
        self._export_metrics(summary)
        return summary

    def _export_metrics(self, summary: RunSummary) -> None:
        from nbaverify import run_metrics

        if option(self.config, "metrics_file"):
            run_metrics.write_textfile(summary, Path(option(self.config, "metrics_file")))
        gateway = option(self.config, "pushgateway")
        if gateway:
            try:
                run_metrics.push(summary, gateway)
            except OSError as exc:  # the run's verdict stands; say the push failed, in one line
                print(f"nbaverify: could not push metrics to {gateway}: {exc}")


def is_check(item: pytest.Item) -> bool:
    return isinstance(item, pytest.Function) and item.originalname.startswith(CHECK_PREFIX)


def check_id(item: pytest.Item) -> str:
    """The id a check is known by in every report and waiver: checks/<module>::<name> for the shipped
    checks wherever nbaverify is installed; a team's own keep pytest's id (relative to the run's rootdir)."""
    rest = item.nodeid.split("::", 1)[1] if "::" in item.nodeid else item.name
    return shipped.check_id(Path(item.path), rest) or item.nodeid


def check_result(item: pytest.Item) -> CheckResult:
    marker = item.get_closest_marker
    return CheckResult(
        id=check_id(item),
        area=marker("area").args[0],
        tiers=[tier for tier in TIERS if marker(tier)],
        severity=marker("severity").args[0],
        safety=marker("safety").args[0] if marker("safety") else "readonly",
        runbook=marker("runbook").args[0],
    )


def validate_check(item: pytest.Item) -> str | None:
    """What is wrong with a check's declaration, or None: every check says what, how bad, and why."""
    marker = item.get_closest_marker
    for name in ("area", "severity", "runbook"):
        if marker(name) is None or not marker(name).args:
            return f"@pytest.mark.{name}(...) is missing"
    if marker("severity").args[0] not in SEVERITIES:
        return f"severity must be one of {', '.join(SEVERITIES)}"
    if marker("area").args[0] not in AREAS:
        return f"area {marker('area').args[0]!r} is not one of {', '.join(AREAS)}"
    if marker("safety") and marker("safety").args[0] not in SAFETY:
        return f"safety must be one of {', '.join(SAFETY)}"
    if not any(marker(tier) for tier in TIERS):
        return f"no cadence marker ({', '.join(TIERS)})"
    return None


def one_line(excinfo: pytest.ExceptionInfo) -> str:
    exc = excinfo.value
    if isinstance(exc, TargetUnreachable):
        return f"unreachable: {exc}"
    if isinstance(exc, TargetUntrusted):
        return f"untrusted: {exc}"
    if isinstance(exc, NbaverifyError):  # already a sentence for a person
        return str(exc)
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(exc, (AssertionError, pytest.fail.Exception)):
        return first or "assertion failed"
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def skip_reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr)


def redact_tree(value, redactor: Redactor):
    if isinstance(value, dict):
        return {k: redact_tree(v, redactor) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_tree(v, redactor) for v in value]
    if isinstance(value, str):
        return redactor(value)
    return value


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    checks = [item for item in items if is_check(item)]
    if not checks:
        return
    problems = [f"{item.path}::{item.originalname}: {why}" for item in checks if (why := validate_check(item))]
    if problems:
        raise pytest.UsageError("check declared without its metadata: " + "; ".join(dict.fromkeys(problems)))
    run = config.stash[RUN]
    run.ensure_target()
    tier, areas = config.getoption("tier"), set(option(config, "area"))
    keep, drop = [], []
    for item in items:
        if is_check(item) and ((tier and tier != "all" and not item.get_closest_marker(tier))
                               or (areas and item.get_closest_marker("area").args[0] not in areas)):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    run.select_waivers([item for item in items if is_check(item)])
    # disruptive checks last: the rate-limit check spends the window the others need (stable sort)
    items.sort(key=lambda item: is_check(item) and _safety(item) == "disruptive")
    allowed = {"readonly", *option(config, "allow")}
    if run.target.is_production:
        for item in items:
            kind = _safety(item)
            if is_check(item) and kind not in allowed:
                item.add_marker(pytest.mark.skip(
                    reason=f"safety: a {kind} check is not run against production (pass --allow {kind})"))


def expectations_at_collection(config: pytest.Config):
    """The expectations while tests are generated (before any fixture exists)."""
    return config.stash[RUN].ensure_target().expectations


def parametrize_from(metafunc: pytest.Metafunc, argname: str, key: str, id_key: str = "name") -> None:
    """Parametrize a check over a list in the expectations, one case (and id) per entry.

    Use from a check module's `pytest_generate_tests`; the ids name the object the case is
    about (`check_expected_index[idx_player_stats]`), so a failure says which one at a glance.
    """
    if argname not in metafunc.fixturenames:
        return
    entries = expectations_at_collection(metafunc.config)[key]
    ids = [str(entry[id_key]) if isinstance(entry, dict) else str(entry) for entry in entries]
    metafunc.parametrize(argname, entries, ids=ids)


def _safety(item: pytest.Item) -> str:
    marker = item.get_closest_marker("safety")
    return marker.args[0] if marker else "readonly"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    try:
        return (yield)
    except NotConfigured as exc:  # a fixture found the profile lacks what this check needs
        pytest.skip(str(exc))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    try:
        return (yield)
    except NotConfigured as exc:  # deep in a client: the profile lacks what this check needs
        pytest.skip(str(exc))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    run = item.config.stash.get(RUN, None)
    if run is not None and is_check(item):
        run.record(item, call, report)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run = session.config.stash.get(RUN, None)
    if run is None or not run.records or hasattr(session.config, "workerinput"):
        return  # an xdist worker holds only its share of the records: it must not write the run's reports
    summary = run.finish()
    if exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        session.exitstatus = summary.exit_code  # Contract 3: only a critical check fails the run


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is None or run.summary is None:
        return
    terminalreporter.section("nbaverify")
    for line in terminal_lines(run.summary):
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"reports: {run.report_dir}")


# -- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Target:
    run = request.config.stash[RUN]
    assert run.target is not None, "the target is loaded when checks are collected"
    return run.target


@pytest.fixture(scope="session")
def expect(target: Target):
    return target.expectations


@pytest.fixture(scope="session")
def api(request: pytest.FixtureRequest, target: Target, expect):
    section = target.profile.api
    if section is None:
        pytest.skip("not configured: api")
    client = ApiClient(section.base_url, jwt_secret=target.secret("api.jwt_secret_env"), ca_file=section.ca_file,
                       timeout_s=expect["api.timeout_s"], ws_path=section.ws_path,
                       redactor=request.config.stash[RUN].redactor, budget=expect["api.request_budget"],
                       claims=token_claims(expect))
    yield client
    client.close()


def _database(target: Target, expect, key: str, role: str):
    dsn = target.secret(key)
    if dsn is None:
        pytest.skip(f"not configured: {key.removesuffix('.dsn_env')}" if role == "primary" else f"not configured: {key}")
    return Database(dsn, role=role, connect_timeout_s=expect["database.connect_timeout_s"],
                    statement_timeout_ms=expect["database.statement_timeout_ms"],
                    lock_timeout_ms=expect["database.lock_timeout_ms"])


@pytest.fixture(scope="session")
def db(target: Target, expect):
    client = _database(target, expect, "database.dsn_env", "primary")
    yield client
    client.close()


@pytest.fixture(scope="session")
def replica(target: Target, expect):
    client = _database(target, expect, "database.replica_dsn_env", "replica")
    yield client
    client.close()


@pytest.fixture(scope="session")
def prom(target: Target, expect):
    section = target.profile.prometheus
    if section is None:
        pytest.skip("not configured: prometheus")
    client = Prometheus(section.url, timeout_s=expect["api.timeout_s"])
    client.wait_until_scraped(expect["monitoring.first_scrape_wait_s"])
    yield client
    client.close()


@pytest.fixture(scope="session")
def k8s(target: Target, expect):
    from nbaverify.clients.k8s import open_source

    section = target.profile.kubernetes
    if section is None:
        pytest.skip("not configured: kubernetes")
    source = open_source(section, target.source.parent, expect["kubernetes.request_timeout_s"])
    yield source
    source.close()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "host_url" in metafunc.fixturenames:  # one case per host of the profile, named by its URL
        hosts = metafunc.config.stash[RUN].ensure_target().profile.hosts
        urls = hosts.urls if hosts else [None]
        metafunc.parametrize("host_url", urls, ids=[u or "no-hosts" for u in urls], scope="session")


@pytest.fixture(scope="session")
def host(host_url):
    """testinfra's Host for host_url (local://, ssh://user@h, kubectl://pod?namespace=n, ...)."""
    if host_url is None:
        pytest.skip("not configured: hosts")
    import testinfra

    try:
        return testinfra.get_host(host_url)
    except Exception as exc:  # noqa: BLE001 - testinfra raises what its backend raises; one line for the report
        raise TargetUnreachable("host", host_url, str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None


@pytest.fixture(scope="session")
def read_source(target: Target, expect, request: pytest.FixtureRequest):
    """Where a heavy read should go: the replica when the profile names one, else the primary."""
    if target.secret("database.replica_dsn_env"):
        return request.getfixturevalue("replica")
    return request.getfixturevalue("db")


@pytest.fixture(scope="session")
def history(target: Target):
    """Values remembered from the previous run against this target (e.g. cumulative counters)."""
    store = History(target.name)
    yield store
    store.save()


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> dict:
    return request.node.stash.setdefault(EVIDENCE, {})
