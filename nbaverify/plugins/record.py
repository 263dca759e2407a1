"""The run record: every check's outcome, message and evidence, waivers applied, the reports
written, the exit code; a profile's problem stops the run before any check."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from nbaverify import __version__, coverage, options, waivers
from nbaverify.catalogue import COLLECTED, check_id, is_check, spec
from nbaverify.config import SANDBOX_TARGET, Target, load_target
from nbaverify.errors import (
    ConfigError,
    NbaverifyError,
    NotConfigured,
    TargetUnreachable,
    TargetUntrusted,
)
from nbaverify.exit_codes import EXIT_USAGE
from nbaverify.io_stats import IO
from nbaverify.plugins import reporters
from nbaverify.plugins.handoff import Handoff
from nbaverify.plugins.options import option
from nbaverify.plugins.reporters import FinishedRun
from nbaverify.redact import Redactor
from nbaverify.reports import run_history
from nbaverify.reports.render import ensure_writable, terminal_lines
from nbaverify.results import CheckResult, RunSummary, new_run_id, utc_now_iso
from nbaverify.signals import sigterm_interrupts
from nbaverify.waivers import Waiver

RUN = pytest.StashKey["Run"]()
EVIDENCE = pytest.StashKey[dict]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(reporters.HookSpec)


def pytest_configure(config: pytest.Config) -> None:
    sigterm_interrupts()  # pytest then stops at once and still finishes the session: reports
    run = Run(config)
    config.stash[RUN] = run
    IO.reset()
    try:
        given = {dest: option(config, dest) for dest in options.BY_DEST}
    except ConfigError as exc:
        pytest.exit(f"nbaverify: {exc}", returncode=EXIT_USAGE)
    handoff = Handoff.of(config)
    if handoff is not None:  # nbaverify check loaded them already
        run.waivers = list(handoff.waivers)
        run.take_target(handoff.target)
    else:
        if given["waivers"]:
            run.load_waivers(Path(given["waivers"]))
        if options.is_set("target", config.getoption("nbv_target")):
            # else the sandbox, once checks are collected
            run.load_target(given["target"])
    # a team's own check folders join the collection (nbaverify check --checks passes them as paths
    # itself)
    config.args.extend(str(folder) for folder in given["checks"] if str(folder) not in config.args)
    for reporter in reporters.wanted(config):  # each output of the run, registered only when wanted
        config.pluginmanager.register(reporter, f"nbaverify-{reporter.name}")


def pytest_collection_finish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN, None)
    if run is not None:
        run.selected = [check_id(item) for item in session.items if is_check(item)]
        if run.selected:
            # a run that cannot write its reports says so before any check, in one line
            try:
                ensure_writable(run.report_folder())
            except ConfigError as exc:
                pytest.exit(f"nbaverify: {exc}", returncode=EXIT_USAGE)


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
        self.selected: list[str] = []  # every check the run meant to run, by id
        # node ids whose teardown ran: an interrupted check is not among them
        self.finished: set[str] = set()
        self.report_dir: Path | None = None
        self.waivers: list[Waiver] = []
        self.today = dt.datetime.now(dt.UTC).date()
        self.not_run: dict[str, Waiver] = {}  # node id -> the run=false waiver that skipped it
        self.waiver_states: dict[Waiver, str] = {}

    def load_waivers(self, path: Path) -> None:
        try:
            self.waivers = waivers.load(path)
        except ConfigError as exc:  # before any check: a half-applied waivers file would mislead
            pytest.exit(f"nbaverify: {exc}", returncode=EXIT_USAGE)

    def select_waivers(self, checks: list[pytest.Item]) -> None:
        """Note which waivers name a selected check; skip the checks a live run=false waiver
        covers."""
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
                        item.add_marker(
                            pytest.mark.skip(reason=f"waived, not run: {waiver.describe()}")
                        )

    def _waive(self, result: CheckResult) -> None:
        if result.id in self.not_run:
            result.outcome, result.message = (
                "waived",
                f"not run: {self.not_run[result.id].describe()}",
            )
            return
        if result.outcome not in ("failed", "error"):
            return
        for waiver in self.waivers:
            if self.waiver_states.get(waiver) == "in force" and waiver.applies(
                result.id, result.message
            ):
                result.outcome, result.message = (
                    "waived",
                    f"{result.message} [waived: {waiver.describe()}]",
                )
                return

    def load_target(self, spec: str) -> None:
        try:
            target = load_target(spec)
        except ConfigError as exc:
            pytest.exit(f"nbaverify: {exc}", returncode=EXIT_USAGE)
        self.take_target(target)

    def take_target(self, target: Target) -> None:
        self.target = target
        for value in target.secret_values():
            self.redactor.add(value)

    def ensure_target(self) -> Target:
        if self.target is None:
            self.load_target(SANDBOX_TARGET)
        assert self.target is not None  # load_target sets it or raises
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
            failed_assert = (
                report.when == "call"
                and call.excinfo is not None
                and call.excinfo.errisinstance((AssertionError, pytest.fail.Exception))
            )
            result.outcome = "failed" if failed_assert else "error"
            result.message = self.redactor(
                one_line(call.excinfo) if call.excinfo else str(report.longrepr)
            )
        if report.when == "teardown":
            self.finished.add(item.nodeid)
            result.evidence = redact_tree(item.stash.get(EVIDENCE, {}), self.redactor)
            self._waive(result)

    def report_folder(self) -> Path:
        """--report-dir itself, or the folder the run's own directory (reports/<run-id>) goes
        into."""
        return Path(option(self.config, "report_dir") or self.config.rootpath / "reports")

    def finish(self, interrupted: bool = False) -> RunSummary:
        target = self.target
        records = [
            r for nodeid, r in self.records.items() if not interrupted or nodeid in self.finished
        ]
        summary = RunSummary(
            run_id=option(self.config, "run_id")
            or new_run_id(self.tier, target.name if target else "none"),
            target=target.name if target else "none",
            environment=target.environment if target else "none",
            tier=self.tier,
            started_at=self.started_at,
            checks=records,
            nbaverify_version=__version__,
            fail_on=option(self.config, "fail_on"),
            waivers=[
                redact_tree(w.record(state), self.redactor)
                for w, state in self.waiver_states.items()
            ],
            io=IO.snapshot(),
        )
        if interrupted:
            summary.interrupted = True
            summary.not_run = [
                cid for cid in self.selected if cid not in {r.id for r in summary.checks}
            ]
        summary.finish(time.monotonic() - self.started)
        self.report_dir = Path(
            option(self.config, "report_dir") or self.report_folder() / summary.run_id
        )
        # here, once: pluggy calls the reporters in any order
        self.report_dir.mkdir(parents=True, exist_ok=True)
        # runs.jsonl lives beside the run folders: reports/runs.jsonl
        beside = self.report_dir.parent
        triage = run_history.triage(summary, run_history.read(beside, summary.target))
        rows = coverage.of_run(
            summary.checks, [entry.sections for entry in self.config.stash.get(COLLECTED, [])]
        )
        self.config.hook.pytest_nbaverify_run_finished(
            run=FinishedRun(
                summary=summary,
                report_dir=self.report_dir,
                triage=triage,
                coverage=rows,
                target_info=target.describe() if target else {},
                manifests=_manifests_dir(target),
                interrupted=interrupted,
            )
        )
        self.summary = summary
        return summary


def _manifests_dir(target: Target | None) -> Path | None:
    """The manifests a Kubernetes finding can point into (a profile that reads them), else None."""
    section = target.profile.kubernetes if target else None
    if target is None or section is None or section.source != "manifests" or not section.manifests:
        return None
    path = Path(section.manifests)
    return path if path.is_absolute() else target.source.parent / path


def check_result(item: pytest.Item) -> CheckResult:
    entry = spec(item)
    return CheckResult(
        id=entry.id,
        area=entry.area,
        tiers=list(entry.tiers),
        severity=entry.severity,
        safety=entry.safety,
        runbook=entry.guide,
        guide=list(entry.sections),
    )


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
    if run is None or not (run.records or run.selected) or hasattr(session.config, "workerinput"):
        # an xdist worker holds only its share of the records: it must not write the run's reports
        return
    summary = run.finish(interrupted=exitstatus == pytest.ExitCode.INTERRUPTED)
    if exitstatus in (
        pytest.ExitCode.OK,
        pytest.ExitCode.TESTS_FAILED,
        pytest.ExitCode.INTERRUPTED,
    ):
        session.exitstatus = summary.exit_code  # Contract 3: only a critical check fails the run


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    run = config.stash.get(RUN, None)
    if run is None or run.summary is None:
        return
    terminalreporter.section("nbaverify")
    for line in terminal_lines(run.summary):
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"reports: {run.report_dir}")
