"""Evidence records (one per run, beside its summary.json) and the period's compliance report.

A record says what ran, against what, when, by which version of the suite and by whom, the
outcome of every check with its guide section (the summary), and what the run proves of each
guide item (the coverage). `nbaverify report` reads the records of a period back: which
scheduled runs happened, which failures stayed open and for how long, which waivers were in force.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import platform
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import nbaverify
from nbaverify import coverage
from nbaverify.results import RunSummary

RECORD_FILE = "evidence.json"
CADENCES = ("daily", "weekly", "monthly", "quarterly")


# -- writing ------------------------------------------------------------------------------------
def write_record(
    summary: RunSummary, report_dir: Path, target_info: dict, coverage_rows: list[dict]
) -> Path:
    """evidence.json: the summary, what ran it, and what it proves of each guide item
    (`coverage.of_run`)."""
    record = {
        "record": "nbaverify evidence 1",
        "suite": {
            "version": summary.nbaverify_version,
            "commit": _suite_commit(),
            "python": platform.python_version(),
        },
        "ran_by": f"{_user()}@{socket.gethostname()}",
        "target": target_info,
        "coverage": coverage_rows,
        "summary": summary.to_dict(),
    }
    path = report_dir / RECORD_FILE
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return path


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        return "unknown"


def _suite_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(Path(nbaverify.__file__).parent), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


# -- reading back: the compliance report --------------------------------------------------------
@dataclass
class Record:
    """One run's evidence record read back for the compliance report: its file, its summary, when it
    started, and the whole JSON (`raw`, for its coverage rows)."""

    path: Path
    summary: RunSummary
    started: dt.datetime
    raw: dict = field(repr=False, default_factory=dict)


def collect(reports_root: Path, target: str | None, since: dt.date, until: dt.date) -> list[Record]:
    records = []
    for path in sorted(reports_root.glob(f"*/{RECORD_FILE}")):
        try:
            raw = json.loads(path.read_text())
            summary = RunSummary.read_dict(raw["summary"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a record of ours (or a half-written one); the report lists what it used
        started = parse_time(summary.started_at)
        if (target is None or summary.target == target) and since <= started.date() <= until:
            records.append(Record(path, summary, started, raw))
    return sorted(records, key=lambda r: r.started)


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _period_key(day: dt.date, cadence: str) -> str:
    if cadence == "daily":
        return day.isoformat()
    if cadence == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if cadence == "monthly":
        return f"{day:%Y-%m}"
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def schedule(records: list[Record], since: dt.date, until: dt.date) -> list[dict]:
    """For each cadence: the periods in the window, those with a run of that cadence (or `all`),
    those missed."""
    days = [since + dt.timedelta(days=n) for n in range((until - since).days + 1)]
    rows = []
    for cadence in CADENCES:
        periods = list(dict.fromkeys(_period_key(day, cadence) for day in days))
        ran = {
            _period_key(r.started.date(), cadence)
            for r in records
            if r.summary.tier in (cadence, "all")
        }
        runs = [r for r in records if r.summary.tier in (cadence, "all")]
        rows.append(
            {
                "cadence": cadence,
                "periods": len(periods),
                "covered": sum(p in ran for p in periods),
                "missed": [p for p in periods if p not in ran],
                "runs": len(runs),
                "failed_runs": sum(r.summary.exit_code != 0 for r in runs),
                "strip": [{"period": p, "ran": p in ran} for p in periods],
            }
        )
    return rows


def failures(records: list[Record], now: dt.datetime) -> list[dict]:
    """Each stretch during which a check failed: from the first failing run to the first run it
    passed again."""
    open_since: dict[str, dict] = {}
    stretches = []
    for record in records:
        for check in record.summary.checks:
            if check.outcome in ("failed", "error"):
                stretch = open_since.setdefault(
                    check.id,
                    {
                        "check": check.id,
                        "severity": check.severity,
                        "runbook": check.runbook,
                        "first_failed": record.summary.started_at,
                        "failing_runs": 0,
                        "resolved": None,
                    },
                )
                stretch["failing_runs"] += 1
                stretch["last_message"] = check.message
            elif check.outcome == "passed" and check.id in open_since:
                stretch = open_since.pop(check.id)
                stretch["resolved"] = record.summary.started_at
                stretches.append(stretch)
    stretches.extend(open_since.values())
    for stretch in stretches:
        end = parse_time(stretch["resolved"]) if stretch["resolved"] else now
        stretch["open_for_h"] = round(
            (end - parse_time(stretch["first_failed"])).total_seconds() / 3600, 1
        )
    order = {"critical": 0, "warning": 1, "info": 2}
    return sorted(
        stretches,
        key=lambda s: (s["resolved"] is not None, order.get(s["severity"], 9), s["first_failed"]),
    )


def waivers_in_force(records: list[Record]) -> list[dict]:
    """Every waiver the period's runs applied, as the latest run that named it saw it."""
    latest: dict[tuple, dict] = {}
    for record in records:
        for waiver in record.summary.waivers:
            key = (waiver["check"], waiver.get("scope"), waiver["owner"])
            latest[key] = {**waiver, "last_seen": record.summary.started_at}
    return sorted(latest.values(), key=lambda w: (w["state"] != "expired", str(w["expires"])))


def guide_status(records: list[Record]) -> list[dict]:
    """Each guide item: when a run last verified it, and its state in the latest run that covered
    it."""
    items = {
        item.section: {
            "section": item.section,
            "last_verified": None,
            "latest": "never run",
            "why_not": item.why_not,
        }
        for item in coverage.items()
    }
    for record in records:
        for row in record.raw.get("coverage", []):
            found = items.get(row["section"])
            if found is None or row["state"] == "not in this run":
                continue
            found["latest"] = row["state"]
            if row["state"] == "verified":
                found["last_verified"] = record.summary.started_at
    return list(items.values())


def build_report(
    records: list[Record],
    since: dt.date,
    until: dt.date,
    target: str | None,
    now: dt.datetime | None = None,
    load: list[dict] | None = None,
) -> dict:
    now = now or dt.datetime.now(dt.UTC)
    return {
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "target": target or "every target",
        "generated_at": now.replace(microsecond=0).isoformat(),
        "records": [str(r.path) for r in records],
        "schedule": schedule(records, since, until),
        "failures": failures(records, now),
        "waivers": waivers_in_force(records),
        "guide": guide_status(records),
        "load_tests": load or [],
    }


def report_markdown(report: dict) -> str:
    period = f"{report['period']['since']} to {report['period']['until']}"
    lines = [
        f"# nbaverify compliance report: {report['target']}, {period}",
        "",
        f"Built {report['generated_at']} from {len(report['records'])} evidence record(s).",
        "",
        "## Scheduled runs",
        "",
        "| cadence | periods | with a run | runs | runs that failed | missed |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for row in report["schedule"]:
        missed = ", ".join(row["missed"][:10]) + (
            f" … ({len(row['missed'])} in all)" if len(row["missed"]) > 10 else ""
        )
        lines.append(
            f"| {row['cadence']} | {row['periods']} | {row['covered']} | {row['runs']} |"
            f" {row['failed_runs']} | {missed or '—'} |"
        )
    lines += ["", "## Failures and how long they stayed open", ""]
    if report["failures"]:
        lines += [
            (
                "| check | severity | first failed | resolved | open for | failing runs | last"
                " message |"
            ),
            "|---|---|---|---|---:|---:|---|",
        ]
        for f in report["failures"]:
            message = f.get("last_message", "").replace("|", "\\|")
            lines.append(
                f"| `{f['check']}` | {f['severity']} | {f['first_failed']} |"
                f" {f['resolved'] or '**still open**'} | {f['open_for_h']} h | {f['failing_runs']}"
                f" | {message} |"
            )
    else:
        lines.append("No check failed in the period.")
    lines += ["", "## Waivers in force", ""]
    if report["waivers"]:
        lines += [
            "| state | check | scope | owner | expires | justification |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {w['state']} | `{w['check']}` | {w.get('scope') or '—'} | {w['owner']} |"
            f" {w['expires']} | {w['justification']} |"
            for w in report["waivers"]
        ]
    else:
        lines.append("No waiver was applied in the period.")
    lines += ["", "## Load tests", ""]
    if report.get("load_tests"):
        lines += [
            "| started | profile | model | verdict | p95 | p99 | throughput | errors |",
            "|---|---|---|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {r['started_at']} | {r['profile']} | {r['model']} | {r['verdict']} |"
            f" {r['p95_ms']:.0f} ms | {r['p99_ms']:.0f} ms | {r['rps']:.1f}/s |"
            f" {r['error_rate']:.2%} |"
            for r in report["load_tests"]
        ]
    else:
        lines.append("No `nbaverify load` run in the period (the guide's quarterly load test).")
    lines += ["", "## Capacity plan", ""]
    plans = [r for r in report.get("load_tests", []) if r.get("capacity")]
    lines += [
        f"- {r['started_at']} ({r['verdict']}): {r['capacity']['answer']}" for r in plans
    ] or [
        "No `nbaverify load --profile capacity` run in the period (the guide's quarterly capacity"
        " planning)."
    ]
    lines += [
        "",
        "## Guide coverage",
        "",
        "| guide section | latest state | last verified | not automated, and why |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {g['section']} | {g['latest']} | {g['last_verified'] or '—'} | {g['why_not'] or '—'} |"
        for g in report["guide"]
    ]
    return "\n".join(lines) + "\n"
