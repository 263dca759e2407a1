"""The load report's traffic-mix section: the mix the run planned beside the one users sent (a bar
chart, a table, a line), and how far apart they are (total variation distance: the share of requests
that would have to change).
"""

from __future__ import annotations

import base64
import html
import io

CHART = "traffic_mix.png"
SHOWN = 10  # the largest requests; the rest are summed as "other"


def rows(mix: dict) -> list[tuple[str, float, float | None]]:
    """(request, planned share, observed share or None), the largest first, the tail summed as
    "other"."""
    weight = sum(mix["planned"].values()) or 1.0
    planned = {key: value / weight for key, value in mix["planned"].items()}
    seen = mix.get("observed") or {}
    keys = sorted({*planned, *seen}, key=lambda k: -max(planned.get(k, 0.0), seen.get(k, 0.0)))
    shown = [
        (key, planned.get(key, 0.0), seen.get(key, 0.0) if seen else None) for key in keys[:SHOWN]
    ]
    rest = keys[SHOWN:]
    if rest:
        shown.append(
            (
                "other",
                sum(planned.get(k, 0.0) for k in rest),
                sum(seen.get(k, 0.0) for k in rest) if seen else None,
            )
        )
    return shown


def summary_line(mix: dict) -> str:
    rate = f" Arrival rates from production: {mix['rate']['described']}." if mix.get("rate") else ""
    shape = (
        f" Arrival stages from production: {mix['shape']['described']}." if mix.get("shape") else ""
    )
    return _mix_line(mix) + rate + shape


def _mix_line(mix: dict) -> str:
    if mix.get("distance") is None:
        return (
            f"Planned on the {mix['source']} mix; the observed mix could not be read"
            f" ({mix.get('observed_from')})."
        )
    read = (
        ", read from the API's access log"
        if "access log" in (mix.get("observed_from") or "")
        else ""
    )
    return (
        f"Planned on the {mix['source']} mix; it differs from what users sent over {mix['window']}"
        f" ({mix['observed_requests']} requests{read}) by {mix['distance']:.0%} of requests (total"
        " variation distance)."
    )


def markdown(mix: dict) -> list[str]:
    lines = [
        "### Traffic mix",
        "",
        summary_line(mix),
        "",
        "| request | planned | observed |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {key} | {plan:.1%} | {'-' if seen is None else f'{seen:.1%}'} |"
        for key, plan, seen in rows(mix)
    ]
    return [*lines, ""]


def html_section(mix: dict, image: bytes | None) -> str:
    table = "".join(
        f"<tr><td>{html.escape(key)}</td><td class=n>{plan:.1%}</td>"
        f"<td class=n>{'-' if seen is None else f'{seen:.1%}'}</td></tr>"
        for key, plan, seen in rows(mix)
    )
    picture = (
        '<img alt="planned and observed traffic mix" src="data:image/png;base64,'
        f'{base64.b64encode(image).decode()}">'
        if image
        else ""
    )
    return (
        f"<h2>Traffic mix</h2><p class=note>{html.escape(summary_line(mix))}</p>{picture}"
        f"<table><tr><th>request</th><th>planned</th><th>observed</th></tr>{table}</table>"
    )


def chart(mix: dict) -> bytes:
    """Planned and observed shares side by side, a pair of bars a request."""
    # heavy: matplotlib (the load extra), only when a load report draws its charts; Agg
    # before pyplot is imported
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = rows(mix)
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(shown) + 1.2))
    positions = range(len(shown))
    ax.barh(
        [p + 0.2 for p in positions],
        [plan * 100 for _, plan, _ in shown],
        height=0.4,
        color="#1f77b4",
        label=f"planned ({mix['source']})",
    )
    ax.barh(
        [p - 0.2 for p in positions],
        [(seen or 0.0) * 100 for _, _, seen in shown],
        height=0.4,
        color="#ff7f0e",
        label=f"observed ({mix['window']})",
    )
    ax.set_yticks(list(positions), [key for key, _, _ in shown])
    ax.invert_yaxis()
    ax.set_xlabel("share of requests (%)")
    ax.set_title("Traffic mix: the plan beside what users sent")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()
