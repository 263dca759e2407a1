"""The outputs of a finished run, each a reporter of its own (as pytest's LogXML is for --junitxml):
registered at configure time only when wanted, each implementing `pytest_nbaverify_run_finished`.
The run record builds the summary once and hands every reporter the same `FinishedRun`; a reporter
reads it and writes, and nothing comes back.

Always written: summary.json, junit.xml, summary.md, report.html, summary.sarif, evidence.json, and
the run's line in runs.jsonl (not for an interrupted run: it says nothing of the checks it did not
reach). Only when asked: the Prometheus textfile (--metrics-file) and the Pushgateway push
(--pushgateway).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from nbaverify.plugins.options import option
from nbaverify.reports import evidence_records, run_history, run_metrics, sarif
from nbaverify.reports.render import html_report, junit, markdown
from nbaverify.reports.run_history import Triage
from nbaverify.results import RunSummary


@dataclass(frozen=True)
class FinishedRun:
    """What every reporter is given: the run's summary and what was learnt around it, computed
    once."""

    summary: RunSummary
    report_dir: Path  # the run's own folder: reports/<run-id> or --report-dir
    # how long each failing check has failed, read from the runs before
    triage: Triage
    coverage: list[dict]  # each guide item's state in this run (nbaverify.coverage.of_run)
    # the target as the evidence record names it (addresses, never secrets)
    target_info: dict
    # the manifests a Kubernetes finding can point into, for SARIF locations
    manifests: Path | None
    interrupted: bool


class HookSpec:
    """The hook the reporters implement (registered by the record plugin's pytest_addhooks)."""

    @pytest.hookspec  # named pytest_*: pytest's plugin manager reads no other hook names
    def pytest_nbaverify_run_finished(self, run: FinishedRun) -> None:
        """A run has finished and its summary is final: write this reporter's output."""


class SummaryFiles:
    """summary.json and what is rendered from it for people and CI: junit.xml, summary.md,
    report.html."""

    name = "summary"

    def pytest_nbaverify_run_finished(self, run: FinishedRun) -> None:
        run.summary.write(run.report_dir / "summary.json")
        (run.report_dir / "junit.xml").write_text(junit(run.summary))
        (run.report_dir / "summary.md").write_text(markdown(run.summary, run.coverage))
        (run.report_dir / "report.html").write_text(html_report(run.summary, run.triage))


class Sarif:
    """summary.sarif, for GitHub's code-scanning view."""

    name = "sarif"

    def pytest_nbaverify_run_finished(self, run: FinishedRun) -> None:
        sarif.write(run.summary, run.report_dir / "summary.sarif", run.manifests)


class EvidenceRecord:
    """evidence.json: the compliance report's record of this run."""

    name = "evidence"

    def pytest_nbaverify_run_finished(self, run: FinishedRun) -> None:
        evidence_records.write_record(run.summary, run.report_dir, run.target_info, run.coverage)


class RunHistory:
    """The run's line in runs.jsonl beside the run folders: the memory the next report's triage
    reads."""

    name = "run-history"

    def pytest_nbaverify_run_finished(self, run: FinishedRun) -> None:
        if run.interrupted:  # an interrupted run says nothing of the checks it did not reach
            return
        try:
            run_history.append(run.summary, run.report_dir.parent)
        except OSError:
            # a read-only parent of --report-dir costs the next report its memory, not this run
            pass


@dataclass
class MetricsTextfile:
    """The run as Prometheus metrics in a file, for node_exporter's textfile collector
    (--metrics-file)."""

    path: Path
    name = "metrics-file"

    def pytest_nbaverify_run_finished(self, run: FinishedRun) -> None:
        run_metrics.write_textfile(run.summary, self.path)


@dataclass
class Pushgateway:
    """The run's metrics pushed to a Pushgateway (--pushgateway); a failed push is one line, the
    verdict stands."""

    url: str
    name = "pushgateway"

    def pytest_nbaverify_run_finished(self, run: FinishedRun) -> None:
        try:
            run_metrics.push(run.summary, self.url)
        except OSError as exc:
            print(f"nbaverify: could not push metrics to {self.url}: {exc}")


def wanted(config: pytest.Config) -> list:
    """The reporters this run asked for."""
    reporters: list = [SummaryFiles(), Sarif(), EvidenceRecord(), RunHistory()]
    if option(config, "metrics_file"):
        reporters.append(MetricsTextfile(Path(option(config, "metrics_file"))))
    if option(config, "pushgateway"):
        reporters.append(Pushgateway(option(config, "pushgateway")))
    return reporters
