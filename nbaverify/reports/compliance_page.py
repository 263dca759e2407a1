"""compliance.html: the period's compliance report as a picture, from the same dict as
compliance.md.

Per cadence, its periods, a run held or missed (a year of days as a calendar of weeks by days, of
weeks as months by weeks); each failure stretch as a bar on the
period's time line (open ones run to the report's date); the waivers; each guide item's last
verification; the period's load tests. Charts are inline SVG: one self-contained file, no script.
"""

from __future__ import annotations

import datetime as dt
import html

from nbaverify.reports.evidence_records import parse_time
from nbaverify.reports.page_style import stylesheet

esc = html.escape
CELL, GAP, BAR_H, LABEL_W, CHART_W = 14, 3, 16, 330, 620

_CSS = stylesheet("""
body{max-width:1100px} h2{margin-top:1.6rem}
td,th{padding:.35rem .55rem;overflow-wrap:break-word} th{white-space:nowrap}
.schedule td:first-child{white-space:nowrap} .when{white-space:nowrap}
.open{color:#c62828;font-weight:600}
.legend span{margin-right:1rem}
.sw{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:-1px}
.verified{color:#1a7f37} .failing{color:#c62828;font-weight:600}
""")


# a day's square is smaller: a year of them is 53 weeks wide
RUN, MISSED, DAY = "#2e9e4f", "#d84a4a", 11
OPEN = "<span class=open>still open</span>"


def _square(x: float, y: float, size: int, cell: dict) -> str:
    return (
        f'<rect x="{x}" y="{y}" width="{size}" height="{size}" rx="2"'
        f' fill="{RUN if cell["ran"] else MISSED}"><title>{esc(cell["period"])}:'
        f" {'a run' if cell['ran'] else 'missed'}</title></rect>"
    )


def _svg(row: dict, width: float, height: float, body: str) -> str:
    return (
        f'<svg width="{width:.0f}" height="{height:.0f}" role="img"'
        f' aria-label="{esc(row["cadence"])}: {row["covered"]} of {row["periods"]} periods with a'
        f' run">{body}</svg>'
    )


def _periods(row: dict) -> str:
    """The cadence's periods, laid out so any length reads at 1280 px: a long run of days as a
    calendar (weeks by days), of weeks as months by weeks, anything else as rows of cells."""
    cells = row.get("strip", [])
    if row["cadence"] == "daily" and len(cells) > 31:
        return _days(row, cells)
    if row["cadence"] == "weekly" and len(cells) > 14:
        return _weeks(row, cells)
    per_row = 12 if row["cadence"] == "monthly" else 31
    step = CELL + GAP
    body = "".join(
        _square((n % per_row) * step, (n // per_row) * step, CELL, c) for n, c in enumerate(cells)
    )
    rows = max(1, -(-len(cells) // per_row))
    return _svg(row, min(len(cells), per_row) * step, rows * step - GAP, body)


def _days(row: dict, cells: list[dict]) -> str:
    """Weeks as columns (Monday first), days as rows, each month named above its first week."""
    step, left, top = DAY + 2, 26, 14
    first = dt.date.fromisoformat(cells[0]["period"])
    monday = first - dt.timedelta(days=first.weekday())
    body: list[str] = []
    months: set[tuple[int, int]] = set()
    for cell in cells:
        day = dt.date.fromisoformat(cell["period"])
        week = (day - monday).days // 7
        body.append(_square(left + week * step, top + day.weekday() * step, DAY, cell))
        if (day.year, day.month) not in months and (day.day <= 7 or not months):
            months.add((day.year, day.month))
            body.append(
                f'<text x="{left + week * step}" y="10" font-size="10"'
                f' fill="#56606b">{day:%b}</text>'
            )
    body += [
        f'<text x="0" y="{top + n * step + 9}" font-size="9" fill="#56606b">{name}</text>'
        for n, name in ((0, "Mon"), (2, "Wed"), (4, "Fri"))
    ]
    weeks = (dt.date.fromisoformat(cells[-1]["period"]) - monday).days // 7 + 1
    return _svg(row, left + weeks * step, top + 7 * step, "".join(body))


def _weeks(row: dict, cells: list[dict]) -> str:
    """Months as rows, their ISO weeks as columns (a week belongs to the month of its Thursday, as
    ISO dates it)."""
    step, left = CELL + GAP, 58
    body: list[str] = []
    lines: dict[tuple[int, int], list[dict]] = {}
    for cell in cells:
        year, week = cell["period"].split("-W")
        thursday = dt.date.fromisocalendar(int(year), int(week), 4)
        line = lines.setdefault((thursday.year, thursday.month), [])
        line.append(cell)
    for y, ((year, month), weeks) in enumerate(lines.items()):
        body.append(
            f'<text x="0" y="{y * step + 11}" font-size="10" fill="#56606b">'
            f"{dt.date(year, month, 1):%b %Y}</text>"
        )
        body += [_square(left + n * step, y * step, CELL, cell) for n, cell in enumerate(weeks)]
    return _svg(row, left + 5 * step, len(lines) * step - GAP, "".join(body))


def _breakable(check_id: str) -> str:
    """A check's id that wraps where its parts meet (after a / or ::), never in the middle of a
    name."""
    return esc(check_id).replace("/", "/<wbr>").replace("::", "::<wbr>")


def _timeline(report: dict, now: dt.datetime) -> str:
    stretches = report["failures"]
    if not stretches:
        return "<p>No check failed in the period.</p>"
    start = dt.datetime.fromisoformat(report["period"]["since"]).replace(tzinfo=dt.UTC)
    end = min(
        now,
        dt.datetime.fromisoformat(report["period"]["until"]).replace(tzinfo=dt.UTC)
        + dt.timedelta(days=1),
    )
    span = max(1.0, (end - start).total_seconds())

    def x(when: dt.datetime) -> float:
        return LABEL_W + CHART_W * min(1.0, max(0.0, (when - start).total_seconds() / span))

    rows = []
    for n, stretch in enumerate(stretches):
        first = parse_time(stretch["first_failed"])
        last = parse_time(stretch["resolved"]) if stretch["resolved"] else end
        left, right = x(first), max(x(last), x(first) + 3)
        colour = "#c62828" if stretch["severity"] == "critical" else "#d89b27"
        state = "resolved " + stretch["resolved"] if stretch["resolved"] else "still open"
        y = n * (BAR_H + 6)
        name = stretch["check"].split("::")[-1]
        rows.append(
            f'<text x="0" y="{y + 12}" font-size="12">{esc(name[:48])}</text><rect x="{left:.1f}"'
            f' y="{y}" width="{right - left:.1f}" height="{BAR_H}" rx="3"'
            f' fill="{colour}"><title>{esc(stretch["check"])}: from {esc(stretch["first_failed"])},'
            f" {esc(state)}, {stretch['open_for_h']} h, {stretch['failing_runs']} failing"
            " run(s)</title></rect>"
        )
    height = len(stretches) * (BAR_H + 6)
    axis = (
        f'<text x="{LABEL_W}" y="{height + 14}" font-size="11"'
        f' fill="#56606b">{esc(report["period"]["since"])}</text><text x="{LABEL_W + CHART_W}"'
        f' y="{height + 14}" font-size="11" fill="#56606b"'
        f' text-anchor="end">{esc(end.date().isoformat())}</text>'
    )
    return (
        f'<svg width="{LABEL_W + CHART_W + 10}" height="{height + 20}" role="img"'
        f' aria-label="failure stretches">{"".join(rows)}{axis}</svg>'
    )


def render(report: dict, now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    period = f"{report['period']['since']} to {report['period']['until']}"
    schedule = "".join(
        f"<tr><td>{esc(r['cadence'])}</td><td>{_periods(r)}</td><td>{r['covered']} of"
        f" {r['periods']}</td><td>{r['runs']} ({r['failed_runs']} failed)</td></tr>"
        for r in report["schedule"]
    )
    failures = "".join(
        f"<tr><td><code>{_breakable(f['check'])}</code></td><td>{esc(f['severity'])}</td><td"
        f" class=when>{esc(f['first_failed'])}</td><td"
        f" class=when>{esc(f['resolved']) if f['resolved'] else OPEN}</td>"
        f"<td>{f['open_for_h']} h</td><td>{esc(f.get('last_message', ''))}</td></tr>"
        for f in report["failures"]
    )
    waivers = (
        "".join(
            f"<tr><td class='{'open' if w['state'] == 'expired' else ''}'>{esc(w['state'])}</td>"
            f"<td><code>{_breakable(w['check'])}</code></td><td>{esc(w['owner'])}</td><td>{esc(str(w['expires']))}</td><td>{esc(w['justification'])}</td></tr>"
            for w in report["waivers"]
        )
        or "<tr><td colspan=5 class=muted>No waiver was applied in the period.</td></tr>"
    )
    loads = "".join(
        f"<tr><td>{esc(r['started_at'])}</td><td>{esc(r['profile'])}</td><td>{esc(r['verdict'])}</td><td>{r['p95_ms']:.0f}"
        f" ms</td><td>{r['rps']:.1f}/s</td><td>{r['error_rate']:.2%}</td></tr>"
        for r in report.get("load_tests", [])
    ) or (
        "<tr><td colspan=6 class=muted>No <code>nbaverify load</code> run in the "
        "period (the guide's quarterly load test).</td></tr>"
    )
    plans = "".join(
        f"<li><b>{esc(r['started_at'])}</b> ({esc(r['verdict'])}):"
        f" {esc(r['capacity']['answer'])}</li>"
        for r in report.get("load_tests", [])
        if r.get("capacity")
    ) or (
        "<li class=muted>No <code>nbaverify load --profile capacity</code> run in the period (the"
        " guide's quarterly capacity planning).</li>"
    )
    guide = "".join(
        f"<tr><td>{esc(g['section'])}</td>"
        f"<td class='{esc(g['latest'].split()[0])}'>{esc(g['latest'])}</td>"
        f"<td>{esc(g['last_verified'] or '—')}</td>"
        f"<td class=muted>{esc(g['why_not'] or '')}</td></tr>"
        for g in report["guide"]
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nbaverify compliance: {esc(report["target"])},
{esc(period)}</title>
<style>{_CSS}</style></head><body>
<h1>Compliance: {esc(report["target"])}, {esc(period)}</h1>
<div class="meta">Built {esc(report["generated_at"])} from {len(report["records"])} evidence
record(s).</div>
<h2>Scheduled runs</h2>
<div class="legend"><span><i class="sw" style="background:#2e9e4f"></i>a run held</span>
<span><i class="sw" style="background:#d84a4a"></i>missed</span></div>
<table class=schedule><thead><tr><th>cadence</th><th>periods</th><th>with a
run</th><th>runs</th></tr></thead>
<tbody>{schedule}</tbody></table>
<h2>Failures and how long they stayed open</h2>
{_timeline(report, now)}
<table><thead><tr><th>check</th><th>severity</th><th>first failed</th><th>resolved</th><th>open
for</th><th>last message</th>
</tr></thead><tbody>{failures}</tbody></table>
<h2>Waivers</h2>
<table><thead><tr><th>state</th><th>check</th><th>owner</th><th>expires</th><th>justification</th></tr></thead>
<tbody>{waivers}</tbody></table>
<h2>Load tests</h2>
<table><thead><tr><th>started</th><th>profile</th><th>verdict</th><th>p95</th><th>throughput</th><th>errors</th></tr></thead>
<tbody>{loads}</tbody></table>
<h2>Capacity plan</h2>
<ul>{plans}</ul>
<h2>Guide coverage</h2>
<table><thead><tr><th>guide section</th><th>latest state</th><th>last verified</th><th>not
automated, and why</th></tr></thead>
<tbody>{guide}</tbody></table>
</body></html>
"""
