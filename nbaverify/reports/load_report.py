"""The load run's record and report: summary.json (the source), summary.md, and a self-contained
report.html with charts (PNG, embedded) of throughput, latency percentiles and errors over time,
threshold lines drawn on them, a per-endpoint table, and the trend against the previous run."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING

from nbaverify.reports import capacity_report, mix_report
from nbaverify.reports.page_style import stylesheet

if TYPE_CHECKING:
    # the load run's data, rendered here: the load package imports the reports, never the reverse
    from nbaverify.loadtest.stats import Sample
    from nbaverify.loadtest.summary import LoadSummary
    from nbaverify.loadtest.thresholds import Verdict


def write_all(summary: LoadSummary, out: Path, images: dict[str, bytes]) -> list[Path]:
    """Every format of the one record, so no two can disagree."""
    written = [out / "summary.json", out / "summary.md", out / "report.html"]
    summary.write(written[0])
    written[1].write_text(markdown(summary))
    written[2].write_text(html_report(summary, images))
    for name, data in images.items():
        (out / name).write_bytes(data)
        written.append(out / name)
    return written


def terminal_lines(summary: LoadSummary) -> list[str]:
    """The end of a terminal run: a line a threshold, a line a problem, regressions, then the
    status."""
    lines = [
        f"{'ok  ' if v.outcome == 'passed' else 'FAIL'} {v.id}: {v.message}"
        for v in summary.thresholds
    ]
    failed = {f"threshold {v.id}: {v.message}" for v in summary.thresholds if v.outcome == "failed"}
    lines += [f"FAIL {problem}" for problem in summary.problems if problem not in failed]
    lines += [
        f"WARN regression since {summary.trend.previous_run}: {r}"
        for r in summary.trend.regressions
    ]
    if summary.mix:
        lines.append(f"mix: {mix_report.summary_line(summary.mix)}")
    return [*lines, summary.status_line()]


# -- charts ----------------------------------------------------------------------------------------
def charts(history: list[Sample], thresholds: list[Verdict]) -> dict[str, bytes]:
    """Three PNGs a reader who never saw Locust can read: throughput, latency, errors over the
    run."""
    # optional: the load extra (matplotlib, ~0.5 s with pyplot); the Agg backend is chosen before
    # pyplot is imported
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [s.t for s in history]
    out: dict[str, bytes] = {}

    def save(fig, name):
        buffer = io.BytesIO()
        fig.tight_layout()
        fig.savefig(buffer, format="png", dpi=110)
        plt.close(fig)
        out[name] = buffer.getvalue()

    fig, ax = plt.subplots(figsize=(9, 3.4))
    ax.plot(t, [s.rps for s in history], color="#1f77b4", label="requests per second")
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("requests / s")
    ax.set_title("Throughput")
    users = ax.twinx()
    users.plot(t, [s.users for s in history], color="#999999", linestyle=":", label="virtual users")
    users.set_ylabel("virtual users")
    for th in thresholds:
        if th.metric == "rps" and th.endpoint == "all":
            ax.axhline(th.limit, color="#c62828", linestyle="--", label=f"minimum {th.limit:g}/s")
    ax.legend(loc="upper left", fontsize=8)
    users.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, "throughput.png")

    fig, ax = plt.subplots(figsize=(9, 3.4))
    colours = {"p50_ms": "#2e7d32", "p95_ms": "#ef6c00", "p99_ms": "#6a1b9a"}
    for key, colour in colours.items():
        ax.plot(t, [getattr(s, key) for s in history], color=colour, label=key.removesuffix("_ms"))
    for th in thresholds:  # each limit dashed in its percentile's colour
        if th.metric in colours and th.endpoint == "all":
            ax.axhline(
                th.limit,
                color=colours[th.metric],
                linestyle="--",
                linewidth=1.2,
                label=f"{th.metric.removesuffix('_ms')} limit {th.limit:g} ms",
            )
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("response time (ms)")
    ax.set_title("Response time percentiles (each point: the last seconds of requests)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, "latency.png")

    fig, ax = plt.subplots(figsize=(9, 2.8))
    ax.fill_between(
        t,
        [s.failures_per_s for s in history],
        color="#c62828",
        alpha=0.5,
        label="failed requests per second",
    )
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("failures / s")
    ax.set_ylim(bottom=0, top=max([1.0] + [s.failures_per_s for s in history]) * 1.15)
    ax.set_title("Errors")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, "errors.png")
    return out


# -- text formats ----------------------------------------------------------------------------------
def markdown(summary: LoadSummary) -> str:
    t = summary.totals
    lines = [
        f"## nbaverify load {summary.profile} on {summary.target}: {summary.verdict}",
        "",
        f"`{summary.status_line()}`",
        "",
        (
            f"Run `{summary.run_id}`, {summary.model} model ({MODEL_TEXT[summary.model]}),"
            f" {summary.workers or 1} load process(es), started {summary.started_at},"
            f" {summary.duration_s:.0f}s."
        ),
        "",
        "| requests | failures | throughput | p50 | p95 | p99 |",
        "|---:|---:|---:|---:|---:|---:|",
        (
            f"| {t.requests} | {t.failures} ({t.error_rate:.2%}) | {t.rps:.1f}/s | {t.p50_ms:.0f}"
            f" ms | {t.p95_ms:.0f} ms | {t.p99_ms:.0f} ms |"
        ),
        "",
        *(capacity_report.markdown(summary.capacity) if summary.capacity else []),
    ]
    if summary.thresholds:
        lines += ["### Thresholds", "", "| | threshold | observed |", "|---|---|---|"]
    lines += [
        f"| {'✅' if v.outcome == 'passed' else '❌'} | `{v.id}` | {v.message} |"
        for v in summary.thresholds
    ]
    if summary.problems:
        lines += ["", "### What is wrong", ""] + [f"- {p}" for p in summary.problems]
    if not summary.capacity:  # a capacity run's trend is its knee's, in its own section
        lines += ["", "### Compared with the previous run", "", *_trend_lines(summary)]
    if summary.mix:
        lines += ["", *mix_report.markdown(summary.mix)]
    lines += [
        "",
        "### Endpoints" + LAST_STEP[bool(summary.capacity)],
        "",
        "| request | count | failures | req/s | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {e.name} | {e.requests} | {e.failures} | {e.rps:.1f} | {e.p50_ms:.0f} | {e.p95_ms:.0f}"
        f" | {e.p99_ms:.0f} | {e.max_ms:.0f} |"
        for e in summary.endpoints
    ]
    return "\n".join(lines) + "\n"


CAPACITY_CHART = "capacity.png"
MIX_CHART = mix_report.CHART
mix_chart = mix_report.chart
LAST_STEP = {True: " (the last step)", False: ""}


def _trend_lines(summary: LoadSummary) -> list[str]:
    if not summary.trend.previous_run:
        return [NO_TREND[summary.interrupted]]
    lines = [
        f"Previous run: `{summary.trend.previous_run}`.",
        "",
        "| metric | previous | now | change |",
        "|---|---:|---:|---:|",
    ]
    return lines + [
        f"| {d.metric}{' ⚠️' if d.regression else ''} | {d.previous:.4g} {d.unit} | {d.current:.4g}"
        f" {d.unit} | {d.change_pct:+.1f}% |"
        for d in summary.trend.deltas
    ]


NO_TREND = {
    False: "No earlier run of this profile and model against this target to compare with.",
    True: (
        "Not compared with earlier runs: this run was interrupted, its figures cover only the part"
        " that ran."
    ),
}
KNEE_NOTE = "The figures of the last step (the hold at the knee, when it held). "
THRESHOLD_HEAD = "<tr><th>verdict</th><th>threshold</th><th>observed</th></tr>"
MODEL_TEXT = {
    "closed": "virtual users each wait for their reply; latency from the actual send",
    "open": (
        "requests arrive at a fixed rate whatever the replies; latency from the intended send time"
    ),
}

_CSS = stylesheet("""
body{margin:2rem auto;max-width:1000px} table{margin:.5rem 0 1.2rem}
td.n{text-align:right;font-variant-numeric:tabular-nums} .failed{color:#c62828;font-weight:600}
.passed{color:#1a7f37}
img{max-width:100%;border:1px solid #e6e9ed;margin:.4rem 0}""")


def html_report(summary: LoadSummary, images: dict[str, bytes]) -> str:
    esc = html.escape
    t = summary.totals
    rows = "".join(
        f'<tr><td class="{v.outcome}">{v.outcome}</td><td><code>{esc(v.id)}</code></td>'
        f"<td>{esc(v.message)}</td></tr>"
        for v in summary.thresholds
    )
    endpoints = "".join(
        f"<tr><td>{esc(e.name)}</td><td class=n>{e.requests}</td><td class=n>{e.failures}</td><td"
        f" class=n>{e.rps:.1f}</td><td class=n>{e.p50_ms:.0f}</td><td"
        f" class=n>{e.p95_ms:.0f}</td><td class=n>{e.p99_ms:.0f}</td><td"
        f" class=n>{e.max_ms:.0f}</td></tr>"
        for e in summary.endpoints
    )
    trend = summary.trend
    if trend.previous_run:
        trend_html = (
            f"<p class=note>Against the previous run <code>{esc(trend.previous_run)}</code> "
            "(same target, profile and model); ⚠ marks a regression beyond the tolerance.</p>"
            "<table><tr><th>metric</th><th>previous</th><th>now</th><th>change</th></tr>"
            + "".join(
                f"<tr><td>{d.metric}{' ⚠' if d.regression else ''}</td><td class=n>{d.previous:.4g}"
                f" {d.unit}</td><td class=n>{d.current:.4g} {d.unit}</td><td"
                f" class=n>{d.change_pct:+.1f}%</td></tr>"
                for d in trend.deltas
            )
            + "</table>"
        )
    else:
        trend_html = f"<p class=note>{NO_TREND[summary.interrupted]}</p>"
    problems = "".join(f"<li>{esc(p)}</li>" for p in summary.problems)
    pictures = "".join(
        f'<img alt="{esc(name)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'
        for name, data in images.items()
        if name not in (CAPACITY_CHART, MIX_CHART)
    )
    capacity = (
        capacity_report.html_section(summary.capacity, images.get(CAPACITY_CHART))
        if summary.capacity
        else ""
    )
    mix = mix_report.html_section(summary.mix, images.get(MIX_CHART)) if summary.mix else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>nbaverify load {esc(summary.profile)} on {esc(summary.target)}: {summary.verdict}</title>
<style>{_CSS}</style></head><body>
<h1>Load test: {esc(summary.profile)} on {esc(summary.target)}
<span class="badge {summary.verdict}">{summary.verdict}</span></h1>
<p class=note>Run <code>{esc(summary.run_id)}</code>, started {esc(summary.started_at)},
{summary.duration_s:.0f} s,
<b>{summary.model} model</b>: {MODEL_TEXT[summary.model]}. {summary.workers or 1} load
process(es).</p>
<table><tr><th>requests</th><th>failed</th><th>throughput</th><th>median
(p50)</th><th>p95</th><th>p99</th></tr>
<tr><td>{t.requests}</td><td>{t.failures} ({t.error_rate:.2%})</td><td>{t.rps:.1f} /s</td>
<td>{t.p50_ms:.0f} ms</td><td>{t.p95_ms:.0f} ms</td><td>{t.p99_ms:.0f} ms</td></tr></table>
<p class=note>{KNEE_NOTE if summary.capacity else ""}p95 = 95 of every 100 requests
were answered at least this fast; p99 the same for 99 of 100.</p>
{f"<h2>What is wrong</h2><ul>{problems}</ul>" if problems else ""}
{capacity}
{f"<h2>Thresholds</h2><table>{THRESHOLD_HEAD}{rows}</table>" if rows else ""}
{f"<h2>Over the run</h2>{pictures}" if pictures else ""}
{"" if summary.capacity else f"<h2>Compared with the previous run</h2>{trend_html}"}
{mix}
<h2>Endpoints{LAST_STEP[bool(summary.capacity)]}</h2>
<table><tr><th>request</th><th>count</th><th>failures</th><th>req/s</th><th>p50 ms</th><th>p95
ms</th>
<th>p99 ms</th><th>max ms</th></tr>{endpoints}</table>
<p class=note>Locust's own CSV files are beside this report (locust_stats.csv,
locust_stats_history.csv, locust_failures.csv).</p>
</body></html>
"""
