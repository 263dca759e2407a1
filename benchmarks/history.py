"""How long does reading the run history take as it grows? (every run reads it for its HTML report)

    .venv/bin/python benchmarks/history.py [--runs-on-record N] [--repeats R]

Writes a history of N runs (gate-sized lines: 144 checks, every other run against another target)
to a temporary folder and times, median of R, side by side:
  read()        nbaverify.reports.run_history.read: from the file's end, as far as it needs
  whole file    the anchor: the file read whole and its last 5000 lines parsed, which is what
                read() did until 2026-12-07
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nbaverify.reports import run_history  # noqa: E402

CHECKS = 144


def write_history(folder: Path, runs: int) -> Path:
    checks = {
        f"checks/test_area_{n // 10}.py::check_number_{n}[case]": "passed" for n in range(CHECKS)
    }
    areas = dict.fromkeys(checks, "database")
    path = folder / run_history.FILE
    with path.open("w") as out:
        for number in range(runs):
            line = {
                "run_id": f"20261207T0000{number:06d}Z-gate",
                "target": "sandbox" if number % 2 else "staging",
                "tier": "gate",
                "started_at": "2026-12-07T00:00:00Z",
                "status": "OK",
                "checks": checks,
                "areas": areas,
            }
            out.write(json.dumps(line, separators=(",", ":")) + "\n")
    return path


def whole_file(folder: Path, target: str) -> list[dict]:
    lines = (folder / run_history.FILE).read_text(errors="replace").splitlines()[-5000:]
    runs = [json.loads(line) for line in lines]
    return [run for run in runs if run.get("target") == target][-200:]


def timed(read, folder: Path, repeats: int) -> tuple[float, int]:
    seconds, found = [], 0
    for _ in range(repeats):
        started = time.perf_counter()
        found = len(read(folder, "sandbox"))
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs-on-record", type=int, default=5000, help="default 5000")
    parser.add_argument("--repeats", type=int, default=5, help="default 5")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        size = write_history(folder, args.runs_on_record).stat().st_size
        ours, found = timed(run_history.read, folder, args.repeats)
        anchor, anchor_found = timed(whole_file, folder, args.repeats)
    assert found == anchor_found, (found, anchor_found)
    print(
        f"run history: {args.runs_on_record} runs on record ({size / 1e6:.0f} MB, {CHECKS} checks"
        f" a run), the last {found} of one target, median of {args.repeats}"
    )
    print(f"  read()       {ours:7.3f} s")
    print(f"  whole file   {anchor:7.3f} s")
    print(f"history: read_s={ours:.3f} whole_file_s={anchor:.3f} ratio={ours / anchor:.2f}")


if __name__ == "__main__":
    main()
