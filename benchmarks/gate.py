"""How fast is the deploy gate? (issue #8: the gate tier <= 15 s on 2 cores, start-up <= 2 s)

    .venv/bin/python benchmarks/gate.py [--runs N]
    .venv/bin/python benchmarks/gate.py --vs OTHER_CHECKOUT [--vs-python PYTHON] [--runs N]

Against the warm sandbox (started if it is not running, and left as it was found otherwise;
it must be healthy). Prints, as medians over N runs:
  import            python -c "import nbaverify.cli": the interpreter and the CLI's imports
  start-up+collect  nbaverify check gate -- --collect-only: imports, plugins, the profile, the
                    sandbox probe, collection (everything before the first check)
  gate (CLI)        nbaverify check gate, end to end, as CI runs it
  in checks         the run's own duration (summary.json), and within it the time spent waiting
                    on the target: HTTP, SQL and Prometheus calls (summary.json "io")
  gate -n 2         the same checks under pytest-xdist with 2 workers, for comparison
  trivial pytest    pytest without plugins running as many trivial tests (`assert True`), the
                    floor of any pytest run here; the same in a process that first imports the
                    official kubernetes client and psycopg (the parts DESIGN.md asks for), then
                    every library the gate's checks use (httpx, pydantic, PyJWT, cryptography
                    ...): no gate ends sooner; and the same with the plugins this environment
                    installs (nbaverify's, Locust's, Hypothesis's, testinfra's ...), which every
                    run from here loads
and the split of the gate's wall time those give: start-up and collection; waiting on the target
(the io rows); judging (the checks' own time less their waiting); reporting and teardown (what is
left after the last check).

With --vs, instead: this checkout's gate and another checkout's (its own .venv, built by its
scripts/bootstrap; an older commit, say) in turn, N pairs against the same warm sandbox, each pair's
ratio (this / other) and the medians: the two side by side in one run, as this machine's timings
drift by 10 % or more between runs. --vs-python runs the other side with that interpreter instead
of the other checkout's .venv: `--vs . --vs-python /elsewhere/venv/bin/python` times this code
under two interpreters (that venv must have nbaverify installed from this checkout).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable

CONTRACT, GATE = "+ contract's libraries", "+ gate's libraries"
# the parts DESIGN.md names: the official Kubernetes client, a real PostgreSQL driver
CONTRACT_LIBRARIES = ("kubernetes.client", "kubernetes.config", "psycopg")
# what a gate run imports to reach the target and read the profile (pytest is in the floor)
LIBRARIES = (
    *CONTRACT_LIBRARIES,
    "httpx",
    "pydantic",
    "jwt",
    "cryptography.x509",
    "yaml",
    "prometheus_client.parser",
    "testinfra",
    "tenacity",
    "websocket",
    "zxcvbn",
)


def timed(argv: list[str], cwd: Path = ROOT, env: dict | None = None) -> float:
    from nbaverify.sandbox import Sandbox

    # as the CLI does for each run: the gate's requests count against 100 per 15 min
    Sandbox().fresh_rate_window()
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0,):
        raise SystemExit(
            f"{' '.join(argv[:6])}… exited {done.returncode}:"
            f" {done.stdout[-400:]}{done.stderr[-400:]}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="repetitions (default 5)")
    parser.add_argument("--vs", type=Path, help="another checkout to time against, pair by pair")
    parser.add_argument(
        "--vs-python", type=Path, help="the other side's interpreter (default: its .venv's)"
    )
    args = parser.parse_args()
    runs = args.runs
    if args.vs:
        return versus(args.vs.resolve(), runs, args.vs_python)
    if args.vs_python:
        parser.error("--vs-python goes with --vs")
    subprocess.run(
        [PY, "-m", "nbaverify.cli", "check", "gate", "--report-dir", tempfile.mkdtemp()],
        cwd=ROOT,
        # starts the sandbox when needed; warms caches
        capture_output=True,
        timeout=600,
        check=False,
    )
    rows: dict[str, list[float]] = {
        k: []
        for k in (
            "import",
            "start-up+collect",
            "gate (CLI)",
            "in checks",
            "http",
            "kubernetes",
            "sql",
            "prometheus",
            "gate -n 2",
            "trivial pytest",
            CONTRACT,
            GATE,
            "+ installed plugins",
        )
    }
    checks = 0
    for _ in range(runs):
        rows["import"].append(timed([PY, "-c", "import nbaverify.cli"]))
        rows["start-up+collect"].append(
            timed([PY, "-m", "nbaverify.cli", "check", "gate", "--", "--collect-only"])
        )
        report = Path(tempfile.mkdtemp())
        rows["gate (CLI)"].append(
            timed([PY, "-m", "nbaverify.cli", "check", "gate", "--report-dir", str(report)])
        )
        summary = json.loads((report / "summary.json").read_text())
        checks = len(summary["checks"])
        rows["in checks"].append(summary["duration_s"])
        for kind in ("http", "sql", "prometheus", "kubernetes"):
            rows[kind].append(summary["io"].get(kind, {}).get("seconds", 0.0))
        rows["gate -n 2"].append(
            timed(
                [
                    PY,
                    "-m",
                    "pytest",
                    "checks",
                    "--target",
                    "sandbox",
                    "--tier",
                    "gate",
                    "-n",
                    "2",
                    "-q",
                    "--report-dir",
                    tempfile.mkdtemp(),
                ]
            )
        )
        trivial = _trivial(checks)
        rows["trivial pytest"].append(
            timed(
                [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "."],
                cwd=trivial,
                env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
            )
        )
        for row, names in ((CONTRACT, CONTRACT_LIBRARIES), (GATE, LIBRARIES)):
            rows[row].append(
                timed(
                    # as the CLI runs pytest (nbaverify.cli: no assertion rewriting)
                    [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--assert=plain", "."],
                    cwd=_importing(trivial, names),
                    env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
                )
            )
        rows["+ installed plugins"].append(
            timed([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "."], cwd=trivial)
        )
    print(f"gate tier: {checks} checks, median of {runs} runs, {sys.platform}, {_cores()} cores")
    median = {name: statistics.median(values) for name, values in rows.items()}
    for name, values in rows.items():
        print(f"  {name:22} {median[name]:6.2f} s   (min {min(values):.2f}, max {max(values):.2f})")
    waiting = sum(median[kind] for kind in ("http", "sql", "prometheus", "kubernetes"))
    split = {
        "start-up and collection": median["start-up+collect"],
        "waiting on the target": waiting,
        "judging": max(0.0, median["in checks"] - waiting),
        "reporting and teardown": (
            median["gate (CLI)"] - median["start-up+collect"] - median["in checks"]
        ),
    }
    print(f"the gate's {median['gate (CLI)']:.2f} s, split (medians):")
    for name, seconds in split.items():
        if seconds < 0:
            # the rows overlap: the session's fixtures are set up inside the first check's time
            print(
                f"  {name:26}    n/a   (the rows overlap by {-seconds:.2f} s: the run record does"
                " not time its writing)"
            )
        else:
            print(f"  {name:26} {seconds:6.2f} s")
    print(
        f"  {'the floor: trivial pytest':26} {median['trivial pytest']:6.2f} s ({checks} tests that"
        f" assert True; {median['+ installed plugins']:.2f} s with the plugins installed here,"
        " nbaverify's among them)"
    )
    print(
        f"  {'with the libraries':26} {median[CONTRACT]:6.2f} s (the same tests, importing first"
        " the official kubernetes client and psycopg, which the contract asks for);"
        f" {median[GATE]:.2f} s (importing every library the gate's checks use): no gate ends"
        " sooner"
    )


def versus(other: Path, pairs: int, python: Path | None = None) -> None:
    """This checkout's `nbaverify check gate` against another's (or this one's under another
    interpreter), in turn, against one sandbox."""
    theirs = python or other / ".venv" / "bin" / "python"
    if not theirs.is_file():
        raise SystemExit(
            f"no interpreter at {theirs}"
            + ("" if python else f": run {other}/scripts/bootstrap first")
        )
    commands = {
        side: [python, "-m", "nbaverify.cli", "check", "gate", "--report-dir"]
        for side, python in (("this", PY), ("other", str(theirs)))
    }
    for side, command in commands.items():  # warm both; start the sandbox if it is down
        timed([*command, tempfile.mkdtemp()], cwd=ROOT if side == "this" else other)
    times: dict[str, list[float]] = {"this": [], "other": []}
    for _ in range(pairs):
        for side, command in commands.items():
            cwd = ROOT if side == "this" else other
            times[side].append(timed([*command, tempfile.mkdtemp()], cwd=cwd))
    ratios = [a / b for a, b in zip(times["this"], times["other"], strict=True)]
    print(f"gate tier, {pairs} pairs in turn, {sys.platform}, {_cores()} cores (wall seconds)")
    print(f"  this checkout   {ROOT}: median {statistics.median(times['this']):.2f} s")
    print(
        f"  other checkout  {other}{f' ({theirs})' if python else ''}:"
        f" median {statistics.median(times['other']):.2f} s"
    )
    print(
        f"  this / other    median {statistics.median(ratios):.2f}"
        f" (min {min(ratios):.2f}, max {max(ratios):.2f})"
    )


def _trivial(count: int) -> Path:
    """A folder with `count` tests that do nothing: what pytest alone costs on this machine."""
    folder = Path(tempfile.mkdtemp(prefix="nbaverify-trivial-"))
    # its own rootdir: not this checkout's conftest or options
    (folder / "pytest.ini").write_text("[pytest]\n")
    (folder / "test_trivial.py").write_text(
        "".join(f"def test_{n}():\n    assert True\n\n\n" for n in range(count))
    )
    return folder


def _importing(trivial: Path, names: tuple[str, ...]) -> Path:
    """The trivial tests again, in a folder whose conftest imports these modules first (with
    httpx's command-line client left out, as the CLI leaves it)."""
    folder = Path(tempfile.mkdtemp(prefix="nbaverify-trivial-libraries-"))
    for name in ("pytest.ini", "test_trivial.py"):
        (folder / name).write_text((trivial / name).read_text())
    (folder / "conftest.py").write_text(
        'import sys\n\nsys.modules["httpx._main"] = None\n'
        + "".join(f"import {name}\n" for name in names)
    )
    return folder


def _cores() -> int:
    return os.cpu_count() or 0


if __name__ == "__main__":
    main()
