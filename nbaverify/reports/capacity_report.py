"""The capacity section of a load report: the one-line answer (X req/s a replica, Y projected, Z the
peak, headroom Y/Z), the latency-vs-rate chart with the SLO and the knee, the step table, the trend
against the previous capacity run. The `capacity` object of summary.json is its only input."""

from __future__ import annotations

import base64
import html
import io


def _rps(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.1f} req/s"


def answer(capacity: dict) -> str:
    """The quarterly report's sentence, every figure as measured or read (unknown where it is)."""
    knee = capacity["knee_rps"]
    if knee is None:
        return "No knee was found: see the steps below."
    above = (
        " (the knee is above it: every rate tried held)" if capacity["bracket"][1] is None else ""
    )
    parts = [
        f"The platform held {_rps(knee)}{above} with p95 under {capacity['slo']['p95_ms']:g} ms and"
        f" errors under {capacity['slo']['error_ratio']:.0%}, known within"
        f" {capacity['tolerance']:.0%}"
    ]
    if capacity["replicas"]:
        parts.append(
            f"{capacity['replicas']} api replica(s) served it: {_rps(capacity['per_replica_rps'])}"
            " each"
        )
    if capacity["projected_max_rps"] is not None:
        parts.append(
            f"the autoscaler and the database allow {capacity['scalable_replicas']} replicas: about"
            f" {_rps(capacity['projected_max_rps'])}"
        )
    parts.append(f"the observed peak was {_rps(capacity['observed_peak_rps'])}")
    if capacity["headroom"] is not None:
        parts.append(
            f"headroom {capacity['headroom']:.2f}x (minimum {capacity['min_headroom']:g}x)"
        )
    return "; ".join(parts) + "."


def trend_text(capacity: dict) -> str:
    before = capacity.get("previous_knee_rps")
    if before is None or capacity["knee_rps"] is None:
        return "No earlier capacity run against this target to compare the knee with."
    change = (capacity["knee_rps"] - before) / before * 100
    return (
        f"Knee {_rps(capacity['knee_rps'])} against {_rps(before)} in the previous capacity run "
        f"{capacity['previous_run']} ({change:+.0f} %)."
    )


def chart(capacity: dict) -> bytes:
    """Latency percentiles (left) and achieved rate (right) against the offered rate, the SLO and
    the knee."""
    # optional: the load extra (matplotlib, ~0.5 s with pyplot); the Agg backend is chosen before
    # pyplot is imported
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = sorted(capacity["steps"], key=lambda s: (s["offered_rps"], s["phase"] == "confirm"))
    offered = [s["offered_rps"] for s in steps]
    fig, (latency, rate) = plt.subplots(1, 2, figsize=(10, 3.8))
    for key, colour in (("p50_ms", "#2e7d32"), ("p95_ms", "#ef6c00"), ("p99_ms", "#6a1b9a")):
        latency.plot(
            offered,
            [max(1.0, s[key]) for s in steps],
            marker="o",
            color=colour,
            label=key.removesuffix("_ms"),
        )
    latency.axhline(
        capacity["slo"]["p95_ms"],
        color="#c62828",
        linestyle="--",
        label=f"SLO p95 {capacity['slo']['p95_ms']:g} ms",
    )
    latency.set_yscale("log")
    latency.set_ylabel("response time (ms, log scale)")
    latency.set_title("Latency by offered rate")
    rate.plot(offered, offered, color="#999999", linestyle=":", label="offered (all served)")
    rate.plot(
        offered, [s["achieved_rps"] for s in steps], marker="o", color="#1f77b4", label="achieved"
    )
    rate.scatter(
        [s["offered_rps"] for s in steps if not s["held"]],
        [s["achieved_rps"] for s in steps if not s["held"]],
        color="#c62828",
        zorder=3,
        label="step that broke",
    )
    rate.set_ylabel("requests / s")
    rate.set_title("Achieved by offered rate")
    for ax in (latency, rate):
        if capacity["knee_rps"] is not None:
            ax.axvline(
                capacity["knee_rps"],
                color="#1d2733",
                linewidth=1.2,
                label=f"knee {capacity['knee_rps']:g} req/s",
            )
        ax.set_xlabel("offered rate (req/s)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def _why(step: dict) -> str:
    return "held" if step["held"] else "; ".join(step["reasons"])


def markdown(capacity: dict) -> list[str]:
    lines = ["### Capacity", "", answer(capacity), ""]
    if capacity["note"]:
        lines += [f"Note: {capacity['note']}.", ""]
    lines += [
        f"Assumed: {capacity['assumption']}.",
        "",
        trend_text(capacity),
        "",
        "| # | phase | offered | achieved | p50 | p95 | p99 | errors | unfinished | verdict |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {s['number']} | {s['phase']} | {s['offered_rps']:g} | {s['achieved_rps']:.1f} |"
        f" {s['p50_ms']:.0f} ms | {s['p95_ms']:.0f} ms | {s['p99_ms']:.0f} ms |"
        f" {s['error_ratio']:.2%} | {s['unfinished']} | {_why(s)} |"
        for s in capacity["steps"]
    ]
    return [*lines, ""]


def html_section(capacity: dict, image: bytes | None) -> str:
    esc = html.escape
    rows = "".join(
        f"<tr><td class=n>{s['number']}</td><td>{s['phase']}</td><td"
        f" class=n>{s['offered_rps']:g}</td><td class=n>{s['achieved_rps']:.1f}</td><td"
        f" class=n>{s['p50_ms']:.0f}</td><td class=n>{s['p95_ms']:.0f}</td><td"
        f" class=n>{s['p99_ms']:.0f}</td><td class=n>{s['error_ratio']:.2%}</td><td"
        f" class=n>{s['unfinished']}</td><td"
        f" class={'passed' if s['held'] else 'failed'}>{esc(_why(s))}</td></tr>"
        for s in capacity["steps"]
    )
    picture = (
        '<img alt="latency and achieved rate by offered rate" src="data:image/png;base64,'
        f'{base64.b64encode(image).decode()}">'
        if image
        else ""
    )
    note = f"<p class=note>Note: {esc(capacity['note'])}.</p>" if capacity["note"] else ""
    return f"""<h2>Capacity</h2>
<p><b>{esc(answer(capacity))}</b></p>{note}
<p class=note>Assumed: {esc(capacity["assumption"])}. Observed peak:
<code>{esc(capacity["peak_query"] or "")}</code>,
evaluated at the start of this test. {esc(trend_text(capacity))}</p>
{picture}
<table><tr><th>#</th><th>phase</th><th>offered req/s</th><th>achieved req/s</th>
<th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>errors</th><th>unfinished</th><th>verdict</th></tr>
{rows}</table>
<p class=note>Each step offers one rate (open model) for a warm-up that is not judged, then for
the judged part; it breaks when p95 or the error ratio is over the SLO, or fewer than
{capacity["slo"]["min_achieved_ratio"]:.0%} of the offered requests a second are answered (a backlog
grows). One Locust run made every step: its files are beside this report, and search-stats.json
holds each step's figures (its requests are named <code>sNN: …</code>, its warm-up
<code>sNN warm-up: …</code>).</p>
"""
