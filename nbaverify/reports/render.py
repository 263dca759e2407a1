"""Every report format, rendered from the one RunSummary, so no two can disagree."""

from __future__ import annotations

import html
import json
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

from nbaverify import coverage
from nbaverify.errors import ConfigError
from nbaverify.reports.page_style import stylesheet
from nbaverify.reports.run_history import Triage, category
from nbaverify.reports.run_history import triage as from_history
from nbaverify.results import CheckResult, RunSummary

ICON = {"passed": "✅", "failed": "❌", "error": "⛔", "skipped": "⏭️", "waived": "🟡"}


def junit(summary: RunSummary) -> str:
    suite = ET.Element(
        "testsuite",
        {
            "name": f"nbaverify {summary.tier} @ {summary.target}",
            "tests": str(len(summary.checks)),
            "failures": str(summary.totals["failed"]),
            "errors": str(summary.totals["error"]),
            "skipped": str(summary.totals["skipped"] + summary.totals["waived"]),
            "time": f"{summary.duration_s:.3f}",
            "timestamp": summary.started_at,
        },
    )
    for check in summary.checks:
        module, _, name = check.id.partition("::")
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": module.removesuffix(".py").replace("/", "."),
                "name": name,
                "time": f"{check.duration_s:.3f}",
            },
        )
        props = ET.SubElement(case, "properties")
        for key in ("area", "severity", "safety", "runbook"):
            ET.SubElement(props, "property", {"name": key, "value": str(getattr(check, key))})
        ET.SubElement(props, "property", {"name": "tiers", "value": ",".join(check.tiers)})
        if check.outcome == "failed":
            ET.SubElement(
                case, "failure", {"message": check.message, "type": check.severity}
            ).text = check.message
        elif check.outcome == "error":
            ET.SubElement(
                case, "error", {"message": check.message, "type": "error"}
            ).text = check.message
        elif check.outcome in ("skipped", "waived"):
            ET.SubElement(case, "skipped", {"message": f"{check.outcome}: {check.message}"})
    for waiver in summary.expired_waivers:
        # so a CI that reads only JUnit still sees why the run failed
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": "nbaverify.waivers", "name": waiver["check"], "time": "0"},
        )
        text = (
            f"waiver expired {waiver['expires']} (owner {waiver['owner']}): fix the failure or"
            " renew the waiver"
        )
        ET.SubElement(case, "failure", {"message": text, "type": "expired-waiver"}).text = text
    suite.set("tests", str(len(summary.checks) + len(summary.expired_waivers)))
    suite.set("failures", str(summary.totals["failed"] + len(summary.expired_waivers)))
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(summary: RunSummary, coverage_rows: list[dict] | None = None) -> str:
    t = summary.totals
    lines = [
        f"## nbaverify {summary.tier} on {summary.target}: {summary.status}",
        "",
        f"`{summary.status_line()}`",
        "",
        (
            f"Run `{summary.run_id}` against **{summary.target}** ({summary.environment}), "
            f"started {summary.started_at}, nbaverify {summary.nbaverify_version}."
        ),
        "",
        "| passed | failed | error | skipped | waived |",
        "|---:|---:|---:|---:|---:|",
        f"| {t['passed']} | {t['failed']} | {t['error']} | {t['skipped']} | {t['waived']} |",
        "",
    ]
    problems = [c for c in summary.checks if c.outcome in ("failed", "error")]
    if problems:
        lines += [
            "### What is wrong",
            "",
            "| | severity | check | message | guide section |",
            "|---|---|---|---|---|",
        ]
        order = {"critical": 0, "warning": 1, "info": 2}
        for c in sorted(problems, key=lambda c: (order.get(c.severity, 9), c.id)):
            lines.append(
                f"| {ICON[c.outcome]} | {c.severity} | `{c.id}` | {_cell(c.message)} |"
                f" {_cell(c.runbook)} |"
            )
        lines.append("")
    if summary.waivers:
        lines += [
            "### Waivers",
            "",
            "| state | check | scope | owner | expires | justification |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {w['state']} | `{w['check']}` | {_cell(w.get('scope') or '—')} |"
            f" {_cell(w['owner'])} | {w['expires']} | {_cell(w['justification'])} |"
            for w in summary.waivers
        ]
        lines.append("")
    skipped = [c for c in summary.checks if c.outcome in ("skipped", "waived")]
    if skipped:
        lines += ["### Not run here", "", "| check | why |", "|---|---|"]
        lines += [f"| `{c.id}` | {_cell(c.message)} |" for c in skipped]
        lines.append("")
    rows = coverage_rows if coverage_rows is not None else coverage.of_run(summary.checks)
    lines += [
        "<details><summary>Guide coverage of this run</summary>",
        "",
        coverage.run_markdown(rows),
        "</details>",
        "",
    ]
    lines += [
        "<details><summary>Every check</summary>",
        "",
        "| | check | area | severity | time |",
        "|---|---|---|---|---:|",
    ]
    lines += [
        f"| {ICON[c.outcome]} | `{c.id}` | {c.area} | {c.severity} | {c.duration_s:.2f}s |"
        for c in summary.checks
    ]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def terminal_lines(summary: RunSummary) -> list[str]:
    """What a person on call reads at the end of a run: one line a problem, then the status."""
    lines = []
    for c in summary.checks:
        if c.outcome in ("failed", "error"):
            lines.append(f"{c.outcome.upper():6} [{c.severity}] {c.id}: {c.message}")
    for waiver in summary.expired_waivers:
        lines.append(
            f"EXPIRED waiver for {waiver['check']} (owner {waiver['owner']}, expired"
            f" {waiver['expires']}): it waives nothing now; fix the failure, or renew the waiver"
            " with a new date"
        )
    for c in summary.checks:
        if c.outcome == "waived":
            lines.append(f"WAIVED [{c.severity}] {c.id}: {c.message}")
    not_configured = sorted({c.message for c in summary.checks if c.outcome == "skipped"})
    if not_configured:
        lines.append(f"skipped: {'; '.join(not_configured)}")
    lines.append(summary.status_line())
    return lines


_CSS = stylesheet("""
th{position:sticky;top:0}
.totals span{margin-right:1.2rem} .filters{margin:1rem 0;display:flex;gap:.6rem;flex-wrap:wrap}
select,input{padding:.3rem;border:1px solid #c9d1d9;border-radius:.3rem}
tr.failed td:first-child,tr.error td:first-child{border-left:4px solid #c62828}
tr.skipped{color:#6b7580}
.msg{max-width:80ch}
.dot{display:inline-block;width:.7em;height:.7em;border-radius:50%;margin-right:.4em}
.dot.passed{background:#1a7f37}.dot.failed,.dot.error{background:#c62828}.dot.skipped{background:#9aa4ae}
.dot.waived{background:#b7791f} .sev-critical{color:#c62828;font-weight:600}
.sev-warning{color:#b7791f}
.group{margin:0 0 .6rem .6rem} .section{margin:.2rem 0}
.finding{background:#fff;border-left:4px solid #c62828;padding:.45rem .7rem;margin:.3rem 0}
.finding.error{border-left-color:#7b1fa2} .cat{color:#56606b;font-size:12px;border:1px solid
#c9d1d9;border-radius:.3rem;
padding:0 .3rem} .flaky{color:#fff;background:#b7791f;font-size:12px;border-radius:.3rem;padding:0
.3rem}
.since{color:#56606b;font-size:12px} table.strip{width:auto}
table.strip td{width:2.2em;text-align:center;font-size:11px;padding:.2rem}
.r-all{background:#d7f0dc}.r-most{background:#fbe7b5}.r-some{background:#f7c6c6}.r-none{background:#eef0f2}
.meta{margin-bottom:1rem}
""")

_JS = """
const rows=[...document.querySelectorAll('#checks tbody tr')];
function apply(){
 const f={area:area.value,severity:severity.value,outcome:outcome.value,q:q.value.toLowerCase()};
 let shown=0;for(const r of rows){
 const ok=(!f.area||r.dataset.area===f.area)&&(!f.severity||r.dataset.severity===f.severity)
 &&(!f.outcome||r.dataset.outcome===f.outcome)&&(!f.q||r.textContent.toLowerCase().includes(f.q));
 r.hidden=!ok;shown+=ok}count.textContent=shown+' of '+rows.length+' checks'}
for(const id of ['area','severity','outcome','q'])
 document.getElementById(id).addEventListener('input',apply);
apply();
"""


def _evidence(check: CheckResult) -> str:
    if not check.evidence:
        return ""
    shown = html.escape(json.dumps(check.evidence, indent=2, default=str))
    return f"<details><summary>evidence</summary><pre>{shown}</pre></details>"


def _since(check: CheckResult, triage: Triage) -> str:
    streak = triage.failing_since.get(check.id)
    if streak is None or streak.runs == 1:
        return "new in this run" if streak else ""
    when = f" ({streak.since_at})" if streak.since_at else ""
    return (
        f"failing for {streak.runs} runs, since run {streak.since_run}{when}"
        if streak.complete
        else f"failing in every run on record ({streak.runs}), the oldest {streak.since_run}{when}"
    )


def _broken(summary: RunSummary, triage: Triage) -> str:
    """What broke, grouped by area and guide section, most severe first: readable without
    JavaScript."""
    esc = html.escape
    failing = [c for c in summary.checks if c.outcome in ("failed", "error")]
    if not failing:
        return '<section id="broken"><h2>Nothing broke</h2></section>'
    groups: dict[str, dict[str, list[CheckResult]]] = {}
    for check in sorted(failing, key=lambda c: (c.severity != "critical", c.area, c.runbook, c.id)):
        groups.setdefault(check.area, {}).setdefault(check.runbook, []).append(check)
    parts = [f'<section id="broken"><h2>What broke: {len(failing)} check(s)</h2>']
    for area, sections in groups.items():
        parts.append(
            f"<h3>{esc(area)} <small>{sum(len(v) for v in sections.values())}</small></h3>"
        )
        for runbook, checks in sections.items():
            parts.append(
                f'<div class="group"><div class="section">{esc(runbook)}'
                f" <small>{len(checks)}</small></div>"
            )
            for c in checks:
                flaky = (
                    ' <span class="flaky" title="its outcome flipped in its recent'
                    ' runs">flaky</span>'
                    if c.id in triage.flaky
                    else ""
                )
                since = _since(c, triage)
                evidence = _evidence(c)
                parts.append(
                    f'<div class="finding {c.outcome}"><div><span'
                    f' class="sev-{esc(c.severity)}">{esc(c.severity)}</span>'
                    f" <code>{esc(c.id)}</code> <span"
                    f' class="cat">{esc(category(c))}</span>{flaky}</div><div'
                    f' class="msg">{esc(c.message)}</div>'
                    + (f'<div class="since">{esc(since)}</div>' if since else "")
                    + f"{evidence}</div>"
                )
            parts.append("</div>")
    parts.append("</section>")
    return "".join(parts)


def _strip(triage: Triage) -> str:
    """The last runs, pass ratio per area, as coloured cells (no script, no image)."""
    esc = html.escape
    if len(triage.strip) < 2:
        return ""
    areas = sorted({a for _, _, by_area in triage.strip for a in by_area})
    head = "".join(
        f'<th title="{esc(run)} {esc(at)}">{n + 1}</th>'
        for n, (run, at, _) in enumerate(triage.strip)
    )
    rows = []
    for area in areas:
        cells = []
        for run, _, by_area in triage.strip:
            ok, total = by_area.get(area, (0, 0))
            ratio = ok / total if total else None
            shade = (
                "none"
                if ratio is None
                else "all"
                if ratio == 1
                else "most"
                if ratio >= 0.9
                else "some"
            )
            label = f"{ok}/{total} passed" if total else "not run"
            cells.append(
                f'<td class="r-{shade}" title="{esc(run)}:'
                f' {label}">{"" if ratio is None else f"{ratio:.0%}"}</td>'
            )
        rows.append(f"<tr><th>{esc(area)}</th>{''.join(cells)}</tr>")
    return (
        f'<section id="history"><h2>The last {len(triage.strip)} runs</h2><table'
        ' class="strip"><thead><tr><th>area</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def html_report(summary: RunSummary, triage: Triage | None = None) -> str:
    """One self-contained page: no external CSS, JS or fonts, so it survives as a CI artifact. What
    broke comes first, grouped, with how long it has failed; then the last runs; then every check,
    filterable.
    """
    triage = triage or from_history(summary, [])
    esc = html.escape
    order = {"failed": 0, "error": 1, "waived": 2, "skipped": 3, "passed": 4}
    checks = sorted(
        summary.checks, key=lambda c: (order.get(c.outcome, 9), c.severity != "critical", c.id)
    )

    def options(name: str, values) -> str:
        items = "".join(f"<option>{esc(v)}</option>" for v in sorted(set(values)))
        return (
            f'<select id="{name}" aria-label="{name}"><option value="">every'
            f" {name}</option>{items}</select>"
        )

    rows = []
    for c in checks:
        evidence = _evidence(c)
        kind = (
            f' <span class="cat">{esc(category(c))}</span>'
            if c.outcome in ("failed", "error", "skipped")
            else ""
        )
        rows.append(
            f'<tr class="{c.outcome}" data-area="{esc(c.area)}" data-severity="{esc(c.severity)}" '
            f'data-outcome="{c.outcome}">'
            f'<td><span class="dot {c.outcome}"></span>{c.outcome}</td>'
            f"<td><code>{esc(c.id)}</code></td><td>{esc(c.area)}</td>"
            f'<td class="sev-{esc(c.severity)}">{esc(c.severity)}</td><td'
            f' class="msg">{esc(c.message)}{kind}{evidence}</td>'
            f"<td>{esc(c.runbook)}</td><td>{c.duration_s:.2f}s</td></tr>"
        )
    totals = "".join(f"<span><b>{summary.totals[k]}</b> {k}</span>" for k in summary.totals)
    waivers = ""
    if summary.waivers:
        waivers = (
            "<h2>Waivers</h2><table><thead><tr><th>state</th><th>check</th><th>scope</th>"
            "<th>owner</th><th>expires</th><th>justification</th></tr></thead>"
            + "".join(
                f'<tr class="{"failed" if w["state"] == "expired" else "waived"}">'
                f"<td>{esc(w['state'])}</td><td><code>{esc(w['check'])}</code></td>"
                f"<td>{esc(w.get('scope') or '—')}</td><td>{esc(w['owner'])}</td>"
                f"<td>{esc(str(w['expires']))}</td><td>{esc(w['justification'])}</td></tr>"
                for w in summary.waivers
            )
            + "</table>"
        )
    title = f"nbaverify {esc(summary.tier)} on {esc(summary.target)}: {summary.status}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{_CSS}</style></head><body>
<h1>nbaverify {esc(summary.tier)} on {esc(summary.target)} <span
class="badge {summary.status}">{summary.status}</span></h1>
<div class="meta">Run <code>{esc(summary.run_id)}</code> against <b>{esc(summary.target)}</b>
({esc(summary.environment)}),
started {esc(summary.started_at)}, {summary.duration_s:.1f}s, nbaverify
{esc(summary.nbaverify_version)},
exit code {summary.exit_code} (fails on: {esc(summary.fail_on)} and worse)</div>
<div class="totals">{totals}</div>
{_broken(summary, triage)}
{_strip(triage)}
{waivers}<h2>Every check</h2>
<div class="filters">{options("area", (c.area for c in checks))}
{options("severity", (c.severity for c in checks))}
{options("outcome", (c.outcome for c in checks))}
<input id="q" placeholder="search checks and messages" size="30">
<span id="count"></span></div>
<table id="checks"><thead><tr><th>outcome</th><th>check</th><th>area</th><th>severity</th><th>what
was seen</th>
<th>guide section</th><th>time</th></tr></thead><tbody>
{chr(10).join(rows)}
</tbody></table>
<script>{_JS}</script></body></html>
"""


MIN_FREE_BYTES = 1 << 20  # a run's reports take well under a megabyte


def ensure_writable(folder: Path) -> None:
    """The report directory can take a run's reports: a ConfigError in one line before any check
    runs if not."""
    hint = "choose another with --report-dir (env NBAVERIFY_REPORT_DIR)"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".nbaverify-write-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
        free = shutil.disk_usage(folder).free
    except OSError as exc:
        raise ConfigError(
            str(folder), None, f"the report directory cannot be written ({exc.strerror}); {hint}"
        ) from None
    if free < MIN_FREE_BYTES:
        raise ConfigError(
            str(folder),
            None,
            f"the report directory's disk is full ({free // 1024} kB free); {hint}",
        )
