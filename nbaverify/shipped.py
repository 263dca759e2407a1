"""Where nbaverify's shipped files are: the checks, the load scenarios, and the data.

In a checkout they are checks/, load/ and fixtures/ at the top; installed, they are the packages
nbaverify_checks, nbaverify_load and nbaverify_data, which pyproject.toml maps to those folders
(an editable install maps them back). Nothing else in nbaverify knows where a shipped file lives:
it asks here, through importlib.resources.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path


def _folder(package: str) -> Path:
    # regular packages on a file system (a wheel is unpacked by pip): their Traversable is a Path
    return Path(str(files(package)))


CHECKS = _folder("nbaverify_checks")  # the checks: checks/test_*.py
SCENARIOS = _folder("nbaverify_load")  # the Locust scenarios: load/*.py
# fixtures/: expectations, targets, k8s, monitoring, sql, coverage
DATA = _folder("nbaverify_data")

EXPECTATIONS = DATA / "expectations.toml"
TARGETS = DATA / "targets"
COVERAGE = DATA / "coverage.toml"
K8S_MANIFESTS = DATA / "k8s"
MONITORING = DATA / "monitoring"
SQL = DATA / "sql"
# release data in endoflife.date's fields (scripts/release_snapshot)
RELEASES = DATA / "releases" / "endoflife.json"
# OSV records of the API's packages (scripts/advisory_snapshot)
ADVISORIES = DATA / "security" / "advisories.json"
SANDBOX_PROFILE_TEMPLATE = TARGETS / "sandbox.toml.in"
LOCUSTFILE = SCENARIOS / "locustfile.py"


def check_id(path: Path, rest: str) -> str | None:
    """A shipped check's stable id, wherever it is installed: checks/<module>::<name> (None: not
    shipped)."""
    module = _shipped_module(path)
    return None if module is None else f"checks/{module}::{rest}"


@cache
def _shipped_module(path: Path) -> str | None:
    # asked for every check several times a run, and resolving walks the path a syscall a part
    # (~0.05 s a gate): once a module
    try:
        return path.resolve().relative_to(_checks_resolved()).as_posix()
    except ValueError:
        return None


@cache
def _checks_resolved() -> Path:
    return CHECKS.resolve()


# the source checkout (where the self-tests and benchmarks live); installed, this is site-packages
CHECKOUT = CHECKS.parent
