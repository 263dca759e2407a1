"""Cost as the platform grows: the gate's and `check all`'s wall time, peak RSS and time per area at
1x, 10x, 100x.

    .venv/bin/python benchmarks/scale.py [--scales 1,10] [--keep]

Each scale gets a sandbox of its own (`sandbox up --scale N`: player_stats and game_stats rows times
N, N - 1 more tenants applied through the real Kubernetes API and run by its controllers and KWOK),
seeded once and kept between runs (/tmp/nbaverify-scale-N, ports 23430 + 100 x its index, below the
ephemeral range; `--keep` leaves them running). Every scale is measured in the same run, one after
the other, so the figures compare side by side. A run is warmed once (the first run after a seed
meets cold caches and a fresh history) and then measured. Peak RSS is the largest resident set of
the check process and what it waited for (wait4).

The last line: `scale: gate_1x=S gate_10x=S gate_100x=S ratio_100x=R peak_rss_mib=M` (a scale not
run prints `-`; ratio is the largest scale's gate time over 1x's).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

REPORTS = Path(tempfile.mkdtemp(prefix="nbaverify-scale-reports-"))


def environment(scale: int, index: int) -> dict[str, str]:
    root = f"/tmp/nbaverify-scale-{scale}"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("NBAVERIFY_")},
        "NBAVERIFY_SANDBOX_DIR": root,
        "NBAVERIFY_SANDBOX_PORT_BASE": str(23430 + 100 * index),
        "NBAVERIFY_STATE_DIR": f"{root}-history",
    }


def cli(env: dict[str, str], *args: str, timeout: float = 7200) -> tuple[int, float, int, str]:
    """(exit code, wall seconds, peak RSS in KiB, the last of its output) of one CLI run. The child
    is reaped with wait4, whose usage is its own and its reaped descendants' (ru_maxrss: the largest
    of them).
    """
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "nbaverify.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    timer = threading.Timer(timeout, process.kill)
    timer.start()
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, time.monotonic() - started, usage.ru_maxrss, out.strip()[-400:]


def measure(env: dict[str, str], tier: str) -> dict:
    report = (
        REPORTS
        / f"{env['NBAVERIFY_SANDBOX_DIR'].rsplit('-', 1)[1]}x-{tier}-{len(list(REPORTS.iterdir()))}"
    )
    code, wall, peak, tail = cli(env, "check", tier, "--report-dir", str(report))
    summary = (
        json.loads((report / "summary.json").read_text())
        if (report / "summary.json").exists()
        else {}
    )
    by_area: dict[str, float] = defaultdict(float)
    for check in summary.get("checks", []):
        by_area[check["area"]] += check.get("duration_s", 0.0)
    totals = summary.get("totals", {})
    return {
        "code": code,
        "wall_s": wall,
        "peak_rss_mib": peak / 1024,
        "areas": dict(by_area),
        "totals": totals,
        "tail": tail if code not in (0, 1) else "",
    }


def head_series(env: dict[str, str]) -> float:
    """How many series the scale's Prometheus holds (its own prometheus_tsdb_head_series)."""
    import httpx

    port = int(env["NBAVERIFY_SANDBOX_PORT_BASE"]) + 60
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text.splitlines():
        if line.startswith("prometheus_tsdb_head_series "):
            return float(line.split()[1])
    return float("nan")


def cluster_figures(env: dict[str, str]) -> dict:
    """The real server's side: its pods, the list pages the suite reads them in (real continue
    tokens), and the API server's and etcd's resident memory."""
    from nbaverify.clients.k8s import PAGE_SIZE
    from nbaverify.sandbox.kubernetes.control_plane import ControlPlane
    from nbaverify.sandbox.layout import Layout

    plane = ControlPlane(Layout.from_env(env))
    with plane.admin() as admin:
        pods, pages, token = 0, 0, ""
        while True:  # as the cluster source reads them: a page of PAGE_SIZE at a time
            page = (
                admin.get(
                    "/api/v1/pods", {"limit": PAGE_SIZE, **({"continue": token} if token else {})}
                )
                or {}
            )
            pods, pages = pods + len(page.get("items", [])), pages + 1
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                break

    def rss_mib(name: str) -> float:
        pid = plane.pid(name)
        fields = Path(f"/proc/{pid}/status").read_text() if pid else ""
        found = next(
            (line.split()[1] for line in fields.splitlines() if line.startswith("VmRSS:")), "0"
        )
        return int(found) / 1024

    return {
        "pods": pods,
        "pages": pages,
        "apiserver_rss_mib": rss_mib("kube-apiserver"),
        "etcd_rss_mib": rss_mib("etcd"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10", help="comma-separated scales (1, 10, 100)")
    parser.add_argument(
        "--keep", action="store_true", help="leave the sandboxes running afterwards"
    )
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    results: dict[int, dict] = {}
    for index, scale in enumerate(scales):
        env = environment(scale, index)
        code, seconds, _, tail = cli(env, "sandbox", "up", "--scale", str(scale))
        if code != 0:
            print(f"scale {scale}x: sandbox up failed ({code}): {tail}", flush=True)
            return 2
        print(f"scale {scale}x: sandbox up in {seconds:.0f} s", flush=True)
        measure(env, "gate")  # warm: caches, the history's first baseline
        # the synthetic per-pod exporter is scraped every 15 s: its series are in before measuring
        time.sleep(16)
        results[scale] = {tier: measure(env, tier) for tier in ("gate", "all")}
        results[scale]["series"] = {"head": head_series(env)}
        results[scale]["cluster"] = cluster_figures(env)
        print(f"scale {scale}x: {results[scale]['cluster']}", flush=True)
        print(
            f"scale {scale}x: Prometheus holds {results[scale]['series']['head']:.0f} series",
            flush=True,
        )
        for tier, figures in ((t, results[scale][t]) for t in ("gate", "all")):
            totals = ", ".join(f"{v} {k}" for k, v in figures["totals"].items() if v)
            print(
                f"scale {scale}x {tier:4}: {figures['wall_s']:6.1f} s wall, peak RSS"
                f" {figures['peak_rss_mib']:.0f} MiB, exit {figures['code']}"
                f" ({totals}){' ' + figures['tail'] if figures['tail'] else ''}",
                flush=True,
            )
        if not args.keep:
            cli(env, "sandbox", "down")
    areas = sorted(
        {area for r in results.values() for t in ("gate", "all") for area in r[t]["areas"]}
    )
    print("\n| area | " + " | ".join(f"{s}x gate | {s}x all" for s in scales) + " |")
    print("|---|" + "---|---|" * len(scales))
    for area in areas:
        cells = [
            f"{results[s][t]['areas'].get(area, 0.0):.1f}" for s in scales for t in ("gate", "all")
        ]
        print(f"| {area} | " + " | ".join(cells) + " |")
    print(
        "| **wall** | "
        + " | ".join(f"{results[s][t]['wall_s']:.1f}" for s in scales for t in ("gate", "all"))
        + " |"
    )
    print(
        "| **peak RSS MiB** | "
        + " | ".join(
            f"{results[s][t]['peak_rss_mib']:.0f}" for s in scales for t in ("gate", "all")
        )
        + " |"
    )
    for label, key in (
        ("pods on the real API server", "pods"),
        ("pages of 500 a pod list takes", "pages"),
        ("kube-apiserver RSS MiB", "apiserver_rss_mib"),
        ("etcd RSS MiB", "etcd_rss_mib"),
    ):
        cells = [cell for s in scales for cell in (f"{results[s]['cluster'][key]:.0f}", "")]
        print(f"| {label} | " + " | ".join(cells) + " |")
    cells = [cell for s in scales for cell in (f"{results[s]['series']['head']:.0f}", "")]
    print("| Prometheus series (head) | " + " | ".join(cells) + " |\n")
    gate = {s: results[s]["gate"]["wall_s"] for s in scales}
    top = max(scales)
    ratio = f"{gate[top] / gate[1]:.2f}" if 1 in gate and top != 1 else "-"
    peak = max(r[t]["peak_rss_mib"] for r in results.values() for t in ("gate", "all"))
    cells = " ".join(
        f"gate_{s}x={gate[s]:.1f}" if s in gate else f"gate_{s}x=-" for s in (1, 10, 100)
    )
    kubernetes = {
        s: sum(r for a, r in results[s]["gate"]["areas"].items() if a == "kubernetes")
        for s in scales
    }
    cells += " " + " ".join(f"kubernetes_{s}x={kubernetes[s]:.1f}" for s in scales)
    print(f"scale: {cells} ratio_{top}x={ratio} peak_rss_mib={peak:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
