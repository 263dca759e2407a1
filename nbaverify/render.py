"""Every report format, rendered from the one RunSummary, so no two can disagree."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from nbaverify.results import RunSummary

ICON = {"passed": "✅", "failed": "❌", "error": "⛔", "skipped": "⏭️", "waived": "🟡"}


def write_all(summary: RunSummary, report_dir: Path) -> list[Path]:
    report_dir.mkdir(parents=True, exist_ok=True)
    written = [report_dir / "summary.json", report_dir / "junit.xml", report_dir / "summary.md"]
    summary.write(written[0])
    written[1].write_text(junit(summary))
    written[2].write_text(markdown(summary))
    return written


def junit(summary: RunSummary) -> str:
    suite = ET.Element("testsuite", {
        "name": f"nbaverify {summary.tier} @ {summary.target}",
        "tests": str(len(summary.checks)),
        "failures": str(summary.totals["failed"]),
        "errors": str(summary.totals["error"]),
        "skipped": str(summary.totals["skipped"] + summary.totals["waived"]),
        "time": f"{summary.duration_s:.3f}",
        "timestamp": summary.started_at,
    })
    for check in summary.checks:
        module, _, name = check.id.partition("::")
        case = ET.SubElement(suite, "testcase", {
            "classname": module.removesuffix(".py").replace("/", "."), "name": name,
            "time": f"{check.duration_s:.3f}",
        })
        props = ET.SubElement(case, "properties")
        for key in ("area", "severity", "safety", "runbook"):
            ET.SubElement(props, "property", {"name": key, "value": str(getattr(check, key))})
        ET.SubElement(props, "property", {"name": "tiers", "value": ",".join(check.tiers)})
        if check.outcome == "failed":
            ET.SubElement(case, "failure", {"message": check.message, "type": check.severity}).text = check.message
        elif check.outcome == "error":
            ET.SubElement(case, "error", {"message": check.message, "type": "error"}).text = check.message
        elif check.outcome in ("skipped", "waived"):
            ET.SubElement(case, "skipped", {"message": f"{check.outcome}: {check.message}"})
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(summary: RunSummary) -> str:
    t = summary.totals
    lines = [
        f"## nbaverify {summary.tier} on {summary.target}: {summary.status}",
        "",
        f"`{summary.status_line()}`",
        "",
        f"Run `{summary.run_id}` against **{summary.target}** ({summary.environment}), "
        f"started {summary.started_at}, nbaverify {summary.nbaverify_version}.",
        "",
        "| passed | failed | error | skipped | waived |",
        "|---:|---:|---:|---:|---:|",
        f"| {t['passed']} | {t['failed']} | {t['error']} | {t['skipped']} | {t['waived']} |",
        "",
    ]
    problems = [c for c in summary.checks if c.outcome in ("failed", "error")]
    if problems:
        lines += ["### What is wrong", "", "| | severity | check | message | guide section |", "|---|---|---|---|---|"]
        order = {"critical": 0, "warning": 1, "info": 2}
        for c in sorted(problems, key=lambda c: (order.get(c.severity, 9), c.id)):
            lines.append(f"| {ICON[c.outcome]} | {c.severity} | `{c.id}` | {_cell(c.message)} | {_cell(c.runbook)} |")
        lines.append("")
    skipped = [c for c in summary.checks if c.outcome in ("skipped", "waived")]
    if skipped:
        lines += ["### Not run here", "", "| check | why |", "|---|---|"]
        lines += [f"| `{c.id}` | {_cell(c.message)} |" for c in skipped]
        lines.append("")
    lines += ["<details><summary>Every check</summary>", "", "| | check | area | severity | time |",
              "|---|---|---|---|---:|"]
    lines += [f"| {ICON[c.outcome]} | `{c.id}` | {c.area} | {c.severity} | {c.duration_s:.2f}s |" for c in summary.checks]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def terminal_lines(summary: RunSummary) -> list[str]:
    """What a person on call reads at the end of a run: one line a problem, then the status."""
    lines = []
    for c in summary.checks:
        if c.outcome in ("failed", "error"):
            lines.append(f"{c.outcome.upper():6} [{c.severity}] {c.id}: {c.message}")
    not_configured = sorted({c.message for c in summary.checks if c.outcome == "skipped"})
    if not_configured:
        lines.append(f"skipped: {'; '.join(not_configured)}")
    lines.append(summary.status_line())
    return lines
