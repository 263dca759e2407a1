"""Does the capacity search find a capacity known in advance, and how fast? (issue #17: within 10 %,
under 3 minutes)

    .venv/bin/python benchmarks/capacity.py [--slots 4] [--service-ms 40] [--workers N] [--api
    python|node]

Gives the sandbox's API a known capacity (`sandbox up --capacity-limited SLOTS/MS`: SLOTS requests
at once, each held MS milliseconds, so SLOTS / MS req/s), runs `nbaverify load --profile capacity`
against it with the sandbox's capacity profile, and prints the known capacity, the knee found, the
error in %, the search's wall time and request count. The sandbox is started when it is not running
and left healthy (the limit lifted) afterwards.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=4)
    parser.add_argument("--service-ms", type=float, default=40.0)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--api", choices=["python", "node"], default="python")
    args = parser.parse_args()

    from nbaverify.sandbox import Sandbox

    sandbox = Sandbox()
    sandbox.up([], api=args.api)
    known = sandbox.limit_capacity(args.slots, args.service_ms)
    out = Path(tempfile.mkdtemp(prefix="nbaverify-capacity-bench-"))
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "nbaverify.cli",
                "load",
                "--profile",
                "capacity",
                "--workers",
                str(args.workers),
                "--report-dir",
                str(out / "run"),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
    finally:
        sandbox.up([], api=args.api)
    wall = time.perf_counter() - started
    try:
        summary = json.loads((out / "run" / "summary.json").read_text())
    except OSError:
        print(done.stdout[-2000:] + done.stderr[-2000:])
        return 1
    plan = summary["capacity"]
    knee = plan["knee_rps"]
    print(
        f"api                 {args.api} ({args.slots} slots x {args.service_ms:g} ms), "
        f"{max(1, args.workers)} load process(es)"
    )
    print(f"known capacity      {known:.1f} req/s")
    if knee is None:
        print(f"knee found          none ({'; '.join(summary['problems'])})")
    else:
        print(
            f"knee found          {knee:.1f} req/s (bracket"
            f" {plan['bracket'][0]:g}..{plan['bracket'][1]} req/s, confirmed {plan['confirmed']})"
        )
        print(f"error               {(knee - known) / known * 100:+.1f} %  (goal: within 10 %)")
    print(
        f"search wall time    {plan['search_wall_s']:.0f} s  (the command, sandbox start-up aside:"
        f" {wall:.0f} s; goal: under 180 s)"
    )
    print(
        f"steps               {len(plan['steps'])}: "
        + ", ".join(f"{s['offered_rps']:g}{'' if s['held'] else '!'}" for s in plan["steps"])
        + "  (! broke)"
    )
    print(f"requests            {plan['requests']}")
    print(f"report              {out / 'run' / 'report.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
