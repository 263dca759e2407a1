"""Self-tests: unit tests of nbaverify/ (offline), and the fault matrix against a real sandbox."""

from __future__ import annotations

import collections
import time

pytest_plugins = ["pytester"]

# where the self-tests' time goes, for the CI budget: each file's share, and when each worker
# went idle (a worker idle long before the other is a tail the order could remove)
_BY_FILE: collections.Counter[str] = collections.Counter()
_BY_WORKER: dict[str, list[float]] = {}  # worker: [busy seconds, idle since (s from the start)]
_STARTED = time.monotonic()


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "long: a test of minutes, run first (pyproject's --dist worksteal then hands out the short"
        " ones to whichever worker is free, so none is left alone with a long one at the end)",
    )


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker("long") is None)  # stable: else unchanged


def pytest_runtest_logreport(report):
    worker = getattr(getattr(report, "node", None), "gateway", None)
    name = worker.id if worker else "main"
    _BY_FILE[report.nodeid.split("::")[0]] += report.duration
    busy = _BY_WORKER.setdefault(name, [0.0, 0.0])
    busy[0] += report.duration
    busy[1] = time.monotonic() - _STARTED


def pytest_terminal_summary(terminalreporter):
    if sum(_BY_FILE.values()) < 60:  # a few tests: nothing to budget
        return
    write = terminalreporter.write_line
    terminalreporter.section("where the time went")
    for path, seconds in _BY_FILE.most_common(15):
        write(f"{seconds:8.0f} s  {path}")
    for name, (busy, idle_since) in sorted(_BY_WORKER.items()):
        write(f"{name}: busy {busy:.0f} s, its last test ended {idle_since:.0f} s in")
