"""The load run's record and report: summary.json (the source), summary.md, and a self-contained
report.html with charts (PNG, embedded) of throughput, latency percentiles and errors over time,
threshold lines drawn on them, a per-endpoint table, and the trend against the previous run."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from nbaverify.load.stats import EndpointStats, Sample

TREND_METRICS = (("p95_ms", "p95", "ms", True), ("p99_ms", "p99", "ms", True), ("rps", "throughput", "req/s", False),
                 ("error_rate", "error rate", "", True))


def previous_summary(load_root: Path, current: Path, target: str, profile: str, model: str) -> dict | None:
    """The latest earlier run of the same profile, model and target (its summary.json), or None."""
    runs = []
    for path in load_root.glob("*/summary.json"):
        if path.parent == current:
            continue
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if (data.get("target"), data.get("profile"), data.get("model")) == (target, profile, model) and data.get("totals"):
            runs.append(data)
    return max(runs, key=lambda d: d["started_at"]) if runs else None


def trend(current: dict, previous: dict | None, tolerance_pct: float) -> dict:
    if previous is None:
        return {"previous_run": None, "deltas": [], "regressions": []}
    deltas, regressions = [], []
    for key, label, unit, lower_is_better in TREND_METRICS:
        now, before = current["totals"][key], previous["totals"][key]
        change = ((now - before) / before * 100) if before else (0.0 if now == before else 100.0)
        worse = change > tolerance_pct if lower_is_better else change < -tolerance_pct
        if key == "error_rate":  # from 0 errors any error is a regression; percentages of ~0 mislead
            worse = now > before and now - before > 0.001
        row = {"metric": label, "previous": before, "current": now, "change_pct": round(change, 1), "unit": unit,
               "regression": worse}
        deltas.append(row)
        if worse:
            regressions.append(f"{label} {_fmt(before, key)} -> {_fmt(now, key)} ({change:+.0f}%, tolerance {tolerance_pct:g}%)")
    return {"previous_run": previous["run_id"], "deltas": deltas, "regressions": regressions}


def _fmt(value: float, key: str) -> str:
    return f"{value:.2%}" if key == "error_rate" else f"{value:.0f} ms" if key.endswith("_ms") else f"{value:.1f}/s"


# -- charts ------------------------------------------------------------------------------------------
def charts(history: list[Sample], thresholds: list[dict]) -> dict[str, bytes]:
    """Three PNGs a reader who never saw Locust can read: throughput, latency, errors over the run."""
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
        if th["metric"] == "rps" and th["endpoint"] == "all":
            ax.axhline(th["limit"], color="#c62828", linestyle="--", label=f"minimum {th['limit']:g}/s")
    ax.legend(loc="upper left", fontsize=8)
    users.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, "throughput.png")

    fig, ax = plt.subplots(figsize=(9, 3.4))
    colours = {"p50_ms": "#2e7d32", "p95_ms": "#ef6c00", "p99_ms": "#6a1b9a"}
    for key, colour in colours.items():
        ax.plot(t, [getattr(s, key) for s in history], color=colour, label=key.removesuffix("_ms"))
    for th in thresholds:  # each limit dashed in its percentile's colour
        if th["metric"] in colours and th["endpoint"] == "all":
            ax.axhline(th["limit"], color=colours[th["metric"]], linestyle="--", linewidth=1.2,
                       label=f"{th['metric'].removesuffix('_ms')} limit {th['limit']:g} ms")
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("response time (ms)")
    ax.set_title("Response time percentiles (each point: the last seconds of requests)")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, "latency.png")

    fig, ax = plt.subplots(figsize=(9, 2.8))
    ax.fill_between(t, [s.failures_per_s for s in history], color="#c62828", alpha=0.5, label="failed requests per second")
    ax.set_xlabel("seconds into the run")
    ax.set_ylabel("failures / s")
    ax.set_ylim(bottom=0, top=max([1.0] + [s.failures_per_s for s in history]) * 1.15)
    ax.set_title("Errors")
    ax.legend(loc="upper left", fontsize=8)
    ax.grid(alpha=0.3)
    save(fig, "errors.png")
    return out


# -- text formats -------------------------------------------------------------------------------------
def markdown(summary: dict) -> str:
    t = summary["totals"]
    lines = [f"## nbaverify load {summary['profile']} on {summary['target']}: {summary['verdict']}", "",
             f"`{summary['status_line']}`", "",
             f"Run `{summary['run_id']}`, {summary['model']} model ({MODEL_TEXT[summary['model']]}), "
             f"{summary['workers'] or 1} load process(es), started {summary['started_at']}, {summary['duration_s']:.0f}s.", "",
             "| requests | failures | throughput | p50 | p95 | p99 |", "|---:|---:|---:|---:|---:|---:|",
             f"| {t['requests']} | {t['failures']} ({t['error_rate']:.2%}) | {t['rps']:.1f}/s | {t['p50_ms']:.0f} ms | "
             f"{t['p95_ms']:.0f} ms | {t['p99_ms']:.0f} ms |", "",
             "### Thresholds", "", "| | threshold | observed |", "|---|---|---|"]
    lines += [f"| {'✅' if v['outcome'] == 'passed' else '❌'} | `{v['id']}` | {v['message']} |" for v in summary["thresholds"]]
    if summary.get("problems"):
        lines += ["", "### What is wrong", ""] + [f"- {p}" for p in summary["problems"]]
    trend_ = summary["trend"]
    lines += ["", "### Compared with the previous run", ""]
    if trend_["previous_run"]:
        lines += [f"Previous run: `{trend_['previous_run']}`.", "",
                  "| metric | previous | now | change |", "|---|---:|---:|---:|"]
        lines += [f"| {d['metric']}{' ⚠️' if d['regression'] else ''} | {d['previous']:.4g} {d['unit']} | {d['current']:.4g} "
                  f"{d['unit']} | {d['change_pct']:+.1f}% |" for d in trend_["deltas"]]
    else:
        lines.append("No earlier run of this profile and model against this target.")
    lines += ["", "### Endpoints", "", "| request | count | failures | req/s | p50 | p95 | p99 | max |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {e['name']} | {e['requests']} | {e['failures']} | {e['rps']:.1f} | {e['p50_ms']:.0f} | {e['p95_ms']:.0f} | "
              f"{e['p99_ms']:.0f} | {e['max_ms']:.0f} |" for e in summary["endpoints"]]
    return "\n".join(lines) + "\n"


MODEL_TEXT = {"closed": "virtual users each wait for their reply; latency from the actual send",
              "open": "requests arrive at a fixed rate whatever the replies; latency from the intended send time"}

_CSS = """body{font:14px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:1000px;color:#1d2733}
h1{font-size:1.4rem} .badge{padding:.15rem .6rem;border-radius:.3rem;color:#fff;font-weight:600}
.PASS{background:#1a7f37}.FAIL{background:#c62828} table{border-collapse:collapse;width:100%;margin:.5rem 0 1.2rem}
th,td{padding:.35rem .6rem;border-bottom:1px solid #e6e9ed;text-align:left} th{background:#f0f3f6}
td.n{text-align:right;font-variant-numeric:tabular-nums} .failed{color:#c62828;font-weight:600} .passed{color:#1a7f37}
.note{color:#56606b} img{max-width:100%;border:1px solid #e6e9ed;margin:.4rem 0}"""


def html_report(summary: dict, images: dict[str, bytes]) -> str:
    esc = html.escape
    t = summary["totals"]
    rows = "".join(f'<tr><td class="{v["outcome"]}">{v["outcome"]}</td><td><code>{esc(v["id"])}</code></td>'
                   f'<td>{esc(v["message"])}</td></tr>' for v in summary["thresholds"])
    endpoints = "".join(f"<tr><td>{esc(e['name'])}</td><td class=n>{e['requests']}</td><td class=n>{e['failures']}</td>"
                        f"<td class=n>{e['rps']:.1f}</td><td class=n>{e['p50_ms']:.0f}</td><td class=n>{e['p95_ms']:.0f}</td>"
                        f"<td class=n>{e['p99_ms']:.0f}</td><td class=n>{e['max_ms']:.0f}</td></tr>"
                        for e in summary["endpoints"])
    trend_ = summary["trend"]
    if trend_["previous_run"]:
        trend_html = (f"<p class=note>Against the previous run <code>{esc(trend_['previous_run'])}</code> "
                      "(same target, profile and model); ⚠ marks a regression beyond the tolerance.</p>"
                      "<table><tr><th>metric</th><th>previous</th><th>now</th><th>change</th></tr>" + "".join(
                          f"<tr><td>{d['metric']}{' ⚠' if d['regression'] else ''}</td>"
                          f"<td class=n>{d['previous']:.4g} {d['unit']}</td>"
                          f"<td class=n>{d['current']:.4g} {d['unit']}</td><td class=n>{d['change_pct']:+.1f}%</td></tr>"
                          for d in trend_["deltas"]) + "</table>")
    else:
        trend_html = "<p class=note>No earlier run of this profile and model against this target to compare with.</p>"
    problems = "".join(f"<li>{esc(p)}</li>" for p in summary.get("problems", []))
    pictures = "".join(f'<img alt="{esc(name)}" src="data:image/png;base64,{base64.b64encode(data).decode()}">'
                       for name, data in images.items())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>nbaverify load {esc(summary['profile'])} on {esc(summary['target'])}: {summary['verdict']}</title>
<style>{_CSS}</style></head><body>
<h1>Load test: {esc(summary['profile'])} on {esc(summary['target'])}
<span class="badge {summary['verdict']}">{summary['verdict']}</span></h1>
<p class=note>Run <code>{esc(summary['run_id'])}</code>, started {esc(summary['started_at'])}, {summary['duration_s']:.0f} s,
<b>{summary['model']} model</b>: {MODEL_TEXT[summary['model']]}. {summary['workers'] or 1} load process(es).</p>
<table><tr><th>requests</th><th>failed</th><th>throughput</th><th>median (p50)</th><th>p95</th><th>p99</th></tr>
<tr><td>{t['requests']}</td><td>{t['failures']} ({t['error_rate']:.2%})</td><td>{t['rps']:.1f} /s</td>
<td>{t['p50_ms']:.0f} ms</td><td>{t['p95_ms']:.0f} ms</td><td>{t['p99_ms']:.0f} ms</td></tr></table>
<p class=note>p95 = 95 of every 100 requests were answered at least this fast; p99 the same for 99 of 100.</p>
{f'<h2>What is wrong</h2><ul>{problems}</ul>' if problems else ''}
<h2>Thresholds</h2><table><tr><th>verdict</th><th>threshold</th><th>observed</th></tr>{rows}</table>
<h2>Over the run</h2>{pictures}
<h2>Compared with the previous run</h2>{trend_html}
<h2>Endpoints</h2><table><tr><th>request</th><th>count</th><th>failures</th><th>req/s</th><th>p50 ms</th><th>p95 ms</th>
<th>p99 ms</th><th>max ms</th></tr>{endpoints}</table>
<p class=note>Locust's own CSV files are beside this report (locust_stats.csv, locust_stats_history.csv, locust_failures.csv).</p>
</body></html>
"""


def endpoint_rows(table: dict[str, EndpointStats]) -> list[dict]:
    rows = [{"name": s.name, "requests": s.requests, "failures": s.failures, "rps": round(s.rps, 2), "p50_ms": s.p50_ms,
             "p95_ms": s.p95_ms, "p99_ms": s.p99_ms, "max_ms": s.max_ms} for key, s in table.items() if key != "all"]
    return sorted(rows, key=lambda r: -r["requests"])
