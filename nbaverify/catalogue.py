"""Each check declared once: its markers and its docstring, evaluated at collection into a frozen
`CheckSpec` kept on the item (as pytest's skipping.py keeps its evaluated marks), which selection,
the run record, the listing (`nbaverify checks`, `nbaverify explain`), the generated docs and the
self-tests all read. Nothing else reads a check's markers as strings or its source as text.

`collect()` gives the whole catalogue without a target: it collects the shipped checks (and a team's
folders) against a profile that names every section, so every parametrization is there.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

from nbaverify import shipped
from nbaverify.errors import ConfigError
from nbaverify.markers import AREAS, SAFETY, SEVERITIES, TIERS

# the fixtures that reach the platform (nbaverify/plugins/fixtures.py, each says what it reads in
# its docstring)
SOURCES = (
    "api",
    "api_logs",
    "db",
    "replica",
    "read_source",
    "k8s",
    "prom",
    "grafana",
    "alertmanager",
    "alertmanager_cluster",
    "alertmanager_config",
    "delivery_record",
    "host",
    "history",
)
SPEC = pytest.StashKey["CheckSpec"]()
# every check the session collected, selected or not
COLLECTED = pytest.StashKey[list["CheckSpec"]]()
CHECK_PREFIX = "check_"


@dataclass(frozen=True)
class CheckSpec:
    """One check case as the catalogue knows it."""

    # checks/test_jwt.py::check_token_refused[alg none]: what runs name and waivers match
    id: str
    # checks/test_jwt.py::check_token_refused: the function, every case of it
    check: str
    area: str
    tiers: tuple[str, ...]
    severity: str
    safety: str
    # the maintenance-guide section it verifies first (its runbook marker's first)
    guide: str
    # every guide section it verifies: the runbook markers' sections, closest first
    sections: tuple[str, ...]
    summary: str  # the docstring's first paragraph: what it verifies, in one line
    doc: str  # the whole docstring
    reads: tuple[str, ...] = ()  # the parts of the platform it reads: its fixtures among SOURCES

    @property
    def name(self) -> str:
        return self.check.split("::", 1)[1]

    @property
    def case(self) -> str | None:
        return self.id[len(self.check) + 1 : -1] if "[" in self.id else None

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "name": self.name,
            "case": self.case,
            "tiers": list(self.tiers),
            "sections": list(self.sections),
            "reads": list(self.reads),
        }


def is_check(item: pytest.Item) -> bool:
    return isinstance(item, pytest.Function) and item.originalname.startswith(CHECK_PREFIX)


def check_id(item: pytest.Item) -> str:
    """The id a check is known by in every report and waiver: checks/<module>::<name> for the
    shipped checks wherever nbaverify is installed (waivers and histories carry over); a team's own
    keep pytest's id.
    """
    rest = item.nodeid.split("::", 1)[1] if "::" in item.nodeid else item.name
    return shipped.check_id(Path(item.path), rest) or item.nodeid


def _marker(item: pytest.Item, name: str, default: str = "") -> str:
    found = item.get_closest_marker(name)
    return str(found.args[0]) if found is not None and found.args else default


def problem(item: pytest.Item) -> str | None:
    """What is wrong with a check's declaration, or None: every check says what, how bad, how often,
    and why."""
    for name in ("area", "severity", "runbook"):
        if not _marker(item, name):
            return f"@pytest.mark.{name}(...) is missing"
    if _marker(item, "severity") not in SEVERITIES:
        return f"severity must be one of {', '.join(SEVERITIES)}"
    if _marker(item, "area") not in AREAS:
        return f"area {_marker(item, 'area')!r} is not one of {', '.join(AREAS)}"
    if _marker(item, "safety", "readonly") not in SAFETY:
        return f"safety must be one of {', '.join(SAFETY)}"
    if not any(item.get_closest_marker(tier) for tier in TIERS):
        return f"no cadence marker ({', '.join(TIERS)})"
    return None


def spec_of(item: pytest.Item) -> CheckSpec:
    """The item's entry, evaluated from its markers and docstring (once: selection and the record
    read it)."""
    doc = (
        inspect.cleandoc(getattr(item, "function", None).__doc__ or "")
        if isinstance(item, pytest.Function)
        else ""
    )
    cid = check_id(item)
    # a function's runbook marker names its own sections first; its module's (pytestmark) add to
    # them
    sections = tuple(
        dict.fromkeys(str(arg) for mark in item.iter_markers("runbook") for arg in mark.args)
    )
    return CheckSpec(
        id=cid,
        check=cid.split("[", 1)[0],
        area=_marker(item, "area"),
        tiers=tuple(t for t in TIERS if item.get_closest_marker(t)),
        severity=_marker(item, "severity"),
        safety=_marker(item, "safety", "readonly"),
        guide=sections[0] if sections else "",
        sections=sections,
        summary=doc.split("\n\n", 1)[0].replace("\n", " ").strip(),
        doc=doc,
        reads=tuple(name for name in SOURCES if name in getattr(item, "fixturenames", ())),
    )


def spec(item: pytest.Item) -> CheckSpec:
    return item.stash[SPEC]


# a profile that names every section, so every parametrization is collected; nothing is reached at
# collection
CATALOGUE_PROFILE = """name = "catalogue"
environment = "catalogue"
[api]
base_url = "https://api.example.com"
[database]
dsn_env = "NBAVERIFY_CATALOGUE_DSN"
replica_dsn_env = "NBAVERIFY_CATALOGUE_DSN"
[kubernetes]
source = "cluster"
[prometheus]
url = "http://prometheus.example.com:9090"
[hosts]
urls = ["local://", "ssh://nbaverify-host@127.0.0.1:25499"]
[grafana]
url = "http://grafana.example.com:3000"
[alertmanager]
url = "http://alertmanager.example.com:9093"
[logs]
source = "kubernetes"
"""


class _Collector:
    def __init__(self) -> None:
        self.specs: list[CheckSpec] = []

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.specs = [item.stash[SPEC] for item in items if SPEC in item.stash]


def collect(folders: list[Path] | None = None) -> list[CheckSpec]:
    """Every check case the shipped checks (and these folders) declare, in collection order."""
    return list(_collect(tuple(str(folder) for folder in folders or [])))


@functools.cache
def _collect(folders: tuple[str, ...]) -> tuple[CheckSpec, ...]:
    collector = _Collector()
    with tempfile.TemporaryDirectory(prefix="nbaverify-catalogue-") as tmp:
        profile = Path(tmp) / "catalogue.toml"
        profile.write_text(CATALOGUE_PROFILE)
        saved = os.environ.get("NBAVERIFY_CATALOGUE_DSN")
        os.environ["NBAVERIFY_CATALOGUE_DSN"] = "postgresql://catalogue@127.0.0.1:9/none"
        try:
            with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
                # the listing is ours to print
                # as `nbaverify check` runs pytest: the working directory is the root (a team's
                # ids), no ini file
                code = pytest.main(
                    [
                        "--collect-only",
                        "-q",
                        "-c",
                        os.devnull,
                        f"--rootdir={Path.cwd()}",
                        "-p",
                        "nbaverify.plugin",
                        "-p",
                        "no:cacheprovider",
                        "-p",
                        "no:locust",
                        "-p",
                        "no:pytest11.testinfra",
                        "-W",
                        "ignore::pytest.PytestAssertRewriteWarning",
                        "--target",
                        str(profile),
                        "--report-dir",
                        str(Path(tmp) / "r"),
                        str(shipped.CHECKS),
                        *folders,
                    ],
                    plugins=[collector],
                )
        finally:
            if saved is None:
                os.environ.pop("NBAVERIFY_CATALOGUE_DSN", None)
            else:
                os.environ["NBAVERIFY_CATALOGUE_DSN"] = saved
    if code not in (0, 5) or not collector.specs:
        raise ConfigError(
            "checks", None, f"the checks could not be collected (pytest exit {int(code)})"
        )
    return tuple(collector.specs)


def functions(specs: list[CheckSpec]) -> list[CheckSpec]:
    """One entry per check function (its first case), in order: what a listing of checks shows."""
    seen: dict[str, CheckSpec] = {}
    for entry in specs:
        seen.setdefault(entry.check, entry)
    return list(seen.values())
