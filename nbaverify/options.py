"""Every run option, declared once: the CLI (`nbaverify check`) and the pytest plugin are built from
it.

Each option has a flag, an environment variable and a key in the project configuration, and one
precedence: command line > NBAVERIFY_* environment > project configuration (`nbaverify.toml`, or
`[tool.nbaverify]` in pyproject.toml, in the working directory) > default. Help texts say so.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbaverify.errors import ConfigError
from nbaverify.markers import AREAS
from nbaverify.results import FAIL_ON

CONFIG_FILE = "nbaverify.toml"


@dataclass(frozen=True)
class Option:
    """One run option, declared once in OPTIONS: its flag, and from it its environment variable
    (`env`) and its key in nbaverify.toml (`key`); the CLI and the pytest plugin are both built from
    these."""

    flag: str  # --report-dir
    metavar: str
    help: str
    choices: tuple[str, ...] | None = None
    repeat: bool = False  # may be given more than once (a list)
    default: Any = None

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")

    @property
    def env(self) -> str:
        return "NBAVERIFY_" + self.dest.upper()

    @property
    def key(self) -> str:
        """Its key in nbaverify.toml / [tool.nbaverify]."""
        return self.flag.removeprefix("--")

    def argv(self, value: Any) -> list[str]:
        """The option as a command line gives it (nothing for an unset one; a repeatable one once
        per value)."""
        if value in (None, []):
            return []
        return [
            part for each in (value if self.repeat else [value]) for part in (self.flag, str(each))
        ]

    def full_help(self) -> str:
        default = f"; default {self.default}" if self.default not in (None, []) else ""
        return f"{self.help} (env {self.env}; `{self.key}` in {CONFIG_FILE}{default})"


OPTIONS = (
    Option(
        "--target",
        "NAME|PATH",
        "the target profile: NAME for fixtures/targets/NAME.toml, a path to a .toml, "
        "or 'sandbox' (started when needed)",
        default="sandbox",
    ),
    Option(
        "--report-dir",
        "DIR",
        "where the run's reports go (default reports/<run-id> under the working directory)",
    ),
    Option(
        "--checks",
        "DIR",
        "also run a team's own check_* functions from this folder, with every fixture, marker "
        "and report (repeatable; env: folders separated by ':')",
        repeat=True,
        default=[],
    ),
    Option(
        "--area",
        "AREA",
        "only checks of this area (repeatable), e.g. --area database",
        choices=AREAS,
        repeat=True,
        default=[],
    ),
    Option(
        "--allow",
        "KIND",
        "against production, also run checks of this safety kind (repeatable), e.g. "
        "--allow disruptive",
        choices=("disruptive", "writes"),
        repeat=True,
        default=[],
    ),
    Option(
        "--fail-on",
        "LEVEL",
        "the lowest severity whose failure makes the exit code 1",
        choices=tuple(sorted(FAIL_ON)),
        default="critical",
    ),
    Option(
        "--waivers",
        "PATH",
        "a waivers file: accepted failures with owner and expiry (TOML [[waiver]])",
    ),
    Option(
        "--metrics-file",
        "PATH",
        "also write the run's Prometheus metrics there, for node_exporter's textfile collector",
    ),
    Option("--pushgateway", "URL", "also push the run's metrics to this Pushgateway"),
    Option(
        "--run-id",
        "ID",
        "name this run (default: its time, what ran and the target, e.g. "
        "20261206T120000Z-gate-staging-1a2b3c4d)",
    ),
)
BY_DEST = {option.dest: option for option in OPTIONS}


@dataclass(frozen=True)
class Setting:
    """An environment variable that is not a run option: where the suite keeps things, which
    binaries it uses."""

    env: str
    help: str
    default: str


SETTINGS = (
    Setting(
        "NBAVERIFY_STATE_DIR",
        "what a run remembers for the next against the same target (cumulative "
        "counters, the last delivered notification): keep it between scheduled runs",
        "~/.local/state/nbaverify",
    ),
    Setting(
        "NBAVERIFY_REPORTS_ROOT",
        "where `nbaverify report` finds the runs' report directories (its --reports)",
        "reports",
    ),
    Setting(
        "NBAVERIFY_SANDBOX_DIR",
        "the sandbox's state: its databases, certificates, cluster and logs",
        "/tmp/nbaverify-sandbox",
    ),
    Setting(
        "NBAVERIFY_SANDBOX_PORT_BASE",
        "the sandbox's first port; its services take the ports above it",
        "25430",
    ),
    Setting(
        "NBAVERIFY_SANDBOX_API",
        "the sandbox's reference API, python or node (`sandbox up --api`)",
        "python",
    ),
    Setting(
        "NBAVERIFY_SANDBOX_SHARED_MACHINE",
        "1 when other sandboxes run on this machine at once (the self-tests under `pytest -n`, CI's"
        " two queues of benchmarks): the"
        " machine's load is all of theirs, so the sandbox's profile judges its SSH host (a CPU"
        " quota of its own) and leaves the machine itself (`local://`) out of `[hosts]`",
        "—",
    ),
    Setting(
        "NBAVERIFY_PG_BINDIR",
        "where initdb and pg_ctl are (the sandbox, the restore drill)",
        "`pg_config --bindir`, else Debian's layout",
    ),
    Setting(
        "NBAVERIFY_KUBERNETES_CACHE",
        "where the sandbox's Kubernetes binaries are built, once a machine",
        "~/.cache/nbaverify/kubernetes",
    ),
    Setting(
        "NBAVERIFY_LOAD_CONFIG",
        "a remote Locust worker's plan: the config.json `nbaverify load --plan-only` "
        "writes (the worker command `--remote-workers` prints sets it)",
        "—",
    ),
    Setting(
        "NBAVERIFY_LOAD_JWT_SECRET",
        "what a remote Locust worker signs its users' tokens with: the secret, or a "
        "key pair's PEM private key",
        "—",
    ),
)
# set by nbaverify for the processes it starts, never by a person (tests/unit/test_options.py holds
# the list)
INTERNAL_ENV = (
    "NBAVERIFY_CATALOGUE_DSN",
    "NBAVERIFY_HOLDER_DSN",
    "NBAVERIFY_CONTROL_FILE",
    "NBAVERIFY_API_FLAGS",
    "NBAVERIFY_SANDBOX_JWT_SECRET",
    "NBAVERIFY_SANDBOX_PREVIOUS_JWT_SECRET",
    "NBAVERIFY_SANDBOX_JWT_PRIVATE_KEY",
    "NBAVERIFY_SANDBOX_PREVIOUS_JWT_PRIVATE_KEY",
    "NBAVERIFY_SANDBOX_DB_DSN",
    "NBAVERIFY_SANDBOX_DB_REPLICA_DSN",
)


def project_config(folder: Path | None = None) -> tuple[dict[str, Any], str]:
    """The working directory's project configuration and where it came from ({} and '' when there is
    none)."""
    folder = folder or Path.cwd()
    own, pyproject = folder / CONFIG_FILE, folder / "pyproject.toml"
    if own.is_file():
        return _validated(_read(own), str(own), ""), str(own)
    if pyproject.is_file():
        table = _read(pyproject).get("tool", {}).get("nbaverify")
        if table is not None:
            return _validated(table, str(pyproject), "tool.nbaverify."), str(pyproject)
    return {}, ""


def resolve(dest: str, given: Any, environ=None, config: dict | None = None) -> Any:
    """One option's value: the command line's, else the environment's, else the configuration's,
    else the default."""
    option = BY_DEST[dest]
    environ = os.environ if environ is None else environ
    if given not in (None, []):
        return given
    raw = environ.get(option.env)
    if raw:
        value: Any = (
            [part for part in raw.split(os.pathsep if option.dest == "checks" else ",") if part]
            if option.repeat
            else raw
        )
        return _checked(option, value, option.env)
    config = project_config()[0] if config is None else config
    if option.key in config:
        return config[option.key]
    return list(option.default) if option.repeat else option.default


def is_set(dest: str, given: Any, environ=None, config: dict | None = None) -> bool:
    """Did the command line, the environment or the project configuration name this option (not just
    its default)?"""
    option = BY_DEST[dest]
    environ = os.environ if environ is None else environ
    config = project_config()[0] if config is None else config
    return given not in (None, []) or bool(environ.get(option.env)) or option.key in config


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), None, f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot read: {exc.strerror}") from None


def _validated(table: dict[str, Any], source: str, prefix: str) -> dict[str, Any]:
    by_key = {option.key: option for option in OPTIONS}
    for key, value in table.items():
        option = by_key.get(key)
        if option is None:
            raise ConfigError(
                source, prefix + key, f"unknown option; known: {', '.join(sorted(by_key))}"
            )
        want = list if option.repeat else str
        if not isinstance(value, want) or (
            option.repeat and not all(isinstance(v, str) for v in value)
        ):
            raise ConfigError(
                source,
                prefix + key,
                f"must be {'a list of strings' if option.repeat else 'a string'}, got {value!r}",
            )
        _checked(option, value, f"{source}: {prefix}{key}")
    return table


def _checked(option: Option, value: Any, source: str) -> Any:
    if option.choices:
        for item in value if option.repeat else [value]:
            if item not in option.choices:
                raise ConfigError(
                    source, None, f"{item!r} is not one of {', '.join(option.choices)}"
                )
    return value
