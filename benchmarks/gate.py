"""How fast is the deploy gate? (issue #8: the gate tier <= 15 s on 2 cores, start-up <= 2 s)

    .venv/bin/python benchmarks/gate.py [--runs N]

Against the warm sandbox (started if it is not running, and left as it was found otherwise;
it must be healthy). Prints, as medians over N runs:
  import             python -c "import nbaverify.cli": the interpreter and the CLI's imports
  start-up+collect   nbaverify check gate -- --collect-only: imports, plugins, the profile, the sandbox
                     probe, collection (everything before the first check)
  gate (CLI)         nbaverify check gate, end to end, as CI runs it
  in checks          the run's own duration (summary.json), and within it the time spent waiting
                     on the target: HTTP, SQL and Prometheus calls (summary.json "io")
  gate -n 2          the same checks under pytest-xdist with 2 workers, for comparison
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable


def timed(argv: list[str]) -> float:
    from nbaverify.sandbox import Sandbox

    Sandbox().fresh_rate_window()  # as the CLI does for each run: the gate's requests count against 100 per 15 min
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0,):
        raise SystemExit(f"{' '.join(argv[:6])}… exited {done.returncode}: {done.stdout[-400:]}{done.stderr[-400:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="repetitions (default 5)")
    runs = parser.parse_args().runs
    subprocess.run([PY, "-m", "nbaverify.cli", "check", "gate", "--report-dir", tempfile.mkdtemp()], cwd=ROOT,
                   capture_output=True, timeout=600, check=False)  # starts the sandbox when needed; warms caches
    rows: dict[str, list[float]] = {k: [] for k in ("import", "start-up+collect", "gate (CLI)", "in checks", "http", "kubernetes",
                                                    "sql", "prometheus", "gate -n 2")}
    checks = 0
    for _ in range(runs):
        rows["import"].append(timed([PY, "-c", "import nbaverify.cli"]))
        rows["start-up+collect"].append(timed([PY, "-m", "nbaverify.cli", "check", "gate", "--", "--collect-only"]))
        report = Path(tempfile.mkdtemp())
        rows["gate (CLI)"].append(timed([PY, "-m", "nbaverify.cli", "check", "gate", "--report-dir", str(report)]))
        summary = json.loads((report / "summary.json").read_text())
        checks = len(summary["checks"])
        rows["in checks"].append(summary["duration_s"])
        for kind in ("http", "sql", "prometheus", "kubernetes"):
            rows[kind].append(summary["io"].get(kind, {}).get("seconds", 0.0))
        rows["gate -n 2"].append(timed([PY, "-m", "pytest", "checks", "--target", "sandbox", "--tier", "gate", "-n", "2",
                                        "-q", "--report-dir", tempfile.mkdtemp()]))
    print(f"gate tier: {checks} checks, median of {runs} runs, {sys.platform}, {_cores()} cores")
    for name, values in rows.items():
        print(f"  {name:18} {statistics.median(values):6.2f} s   (min {min(values):.2f}, max {max(values):.2f})")


def _cores() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
