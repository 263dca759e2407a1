"""Target profiles (Contract 1) and expectations, loaded into one typed `Target`.

A profile says *where* the platform is and names the environment variables that hold its
secrets; `fixtures/expectations.toml` says *what must hold*; a profile may override any
expectation under `[expectations]`. Every problem is a `ConfigError` naming file and key,
raised before any check runs.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pydantic
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from nbaverify import shipped
from nbaverify.errors import ConfigError

TARGETS_DIR = shipped.TARGETS  # the shipped examples; a team's own live in ./fixtures/targets/
EXPECTATIONS_FILE = shipped.EXPECTATIONS
SANDBOX_TARGET = "sandbox"
# expectations that name a file or folder: a relative one is read from the folder of the file that
# set it
PATH_EXPECTATIONS = (
    "monitoring.expected_rules_dir",
    "monitoring.rules_dir",
    "monitoring.rule_tests_dir",
    "monitoring.dashboards_dir",
    "database.backups.dir",
    "patches.releases_file",
    "patches.api_dependencies_file",
    "patches.advisories_file",
)


class _Section(BaseModel):
    # strict: TOML already has types, so "5432" for a number is a mistake worth naming
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ApiProfile(_Section):
    """A profile's [api]: the API's base URL, the variable holding its JWT secret, the WebSocket
    path, and a CA to trust."""

    base_url: str
    jwt_secret_env: str | None = None
    # the secret before the last rotation: a token it signs must be refused (the rotation retired
    # it)
    previous_jwt_secret_env: str | None = None
    # a platform that signs with a key pair (expectations.api.auth.algorithms RS256, ES256, PS256):
    # the variable holding the PEM private key the suite mints its tokens with
    jwt_private_key_env: str | None = None
    # and the private key the last rotation retired: a token it signs must be refused
    previous_jwt_private_key_env: str | None = None
    ws_path: str = "/ws/live"
    ca_file: str | None = None  # PEM bundle to trust for an HTTPS base_url (the sandbox's own CA)
    # the API host's plain-HTTP address, which must redirect to HTTPS (default: port 80 of an https
    # base_url on 443)
    cleartext_url: str | None = None
    # the address users reach, when it is not base_url (an ingress in front): internal endpoints
    # must not answer there
    public_base_url: str | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"must be an http:// or https:// URL with a host, got {value!r}")
        return value.rstrip("/")


class DatabaseProfile(_Section):
    """A profile's [database]: the variables holding the primary's DSN and, optionally, the
    replica's."""

    dsn_env: str
    replica_dsn_env: str | None = None


class KubernetesProfile(_Section):
    """A profile's [kubernetes]: a live cluster (a kubeconfig context, or the in-cluster account) or
    a folder of manifests, and the namespace for manifests that name none."""

    source: Literal["cluster", "manifests"]
    # kubeconfig context (cluster); none with no kubeconfig: the in-cluster account
    context: str | None = None
    kubeconfig: str | None = None  # default: $KUBECONFIG, then ~/.kube/config
    # a directory of YAML (manifests), relative to the checkout or the profile
    manifests: str | None = None
    namespace: str = "nba-stats"  # for manifests that name none


class PrometheusProfile(_Section):
    """A profile's [prometheus]: the URL of its HTTP API."""

    url: str


class HostsProfile(_Section):
    """A profile's [hosts]: testinfra URLs (local://, ssh://user@host, ...); the host checks run
    once for each."""

    urls: list[str]


class LogsProfile(_Section):
    """A profile's [logs]: where the API's log is read, from a Deployment's pods or from files on
    the [hosts]."""

    # pod logs through the Kubernetes API, or log files on [hosts]
    source: Literal["kubernetes", "hosts"]
    deployment: str = "api"  # kubernetes: the Deployment whose pods' logs are read
    namespace: str | None = None  # kubernetes: default kubernetes.namespace
    files: list[str] = []  # hosts: the API's log files, on every host of [hosts]


class GrafanaProfile(_Section):
    """A profile's [grafana]: its URL and the variable holding an API token."""

    url: str
    token_env: str | None = None  # the variable holding a Grafana API token (viewer is enough)


class AlertmanagerProfile(_Section):
    """A profile's [alertmanager]: the live instance, its configuration as deployed, its cluster
    peers, and the record of delivered notifications."""

    # the live Alertmanager (API v2), e.g. http://alertmanager.monitoring:9093
    url: str
    # the configuration as deployed (alertmanager.yml), relative to the profile
    config_file: str | None = None
    # the other instances of its cluster (API v2 URLs), whose agreement is checked
    peers: list[str] = []
    # a record of the notifications the receivers got (an http(s) URL or a file of JSON Lines, one
    # notification a line with `receiver` and `status`, as Alertmanager's webhook payload has them):
    # the drill attributes each delivery to its receiver there; without it the drill reads
    # Alertmanager's counters, which add up every receiver
    deliveries: str | None = None


class Profile(_Section):
    """A target profile as read from its TOML file (Contract 1): where each part of the platform is,
    the names of the environment variables that hold its secrets (never the secrets), and its own
    overrides of the expectations. Strict, frozen and closed to unknown keys, as every section of it
    is."""

    name: str
    environment: str
    api: ApiProfile | None = None
    database: DatabaseProfile | None = None
    kubernetes: KubernetesProfile | None = None
    prometheus: PrometheusProfile | None = None
    hosts: HostsProfile | None = None
    grafana: GrafanaProfile | None = None
    alertmanager: AlertmanagerProfile | None = None
    logs: LogsProfile | None = None
    expectations: dict[str, Any] = {}


class Expectations:
    """What must hold, read by dotted key: `expect["database.replication.max_lag"]`."""

    def __init__(self, data: dict[str, Any], overridden: set[str]):
        self._data = data
        self.overridden = frozenset(overridden)

    def __getitem__(self, dotted: str) -> Any:
        node: Any = self._data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise KeyError(f"no expectation {dotted!r} in {EXPECTATIONS_FILE.name}")
            node = node[part]
        return copy.deepcopy(node)

    def as_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._data)


class Target:
    """One resolved target: the profile, its secrets read from the environment, its expectations."""

    def __init__(
        self, profile: Profile, source: Path, expectations: Expectations, secrets: dict[str, str]
    ):
        self.profile = profile
        self.source = source
        self.expectations = expectations
        self._secrets = {key: SecretStr(value) for key, value in secrets.items()}

    name = property(lambda self: self.profile.name)
    environment = property(lambda self: self.profile.environment)
    is_production = property(lambda self: self.profile.environment == "production")

    def secret(self, key: str) -> str | None:
        """The value behind `api.jwt_secret_env`, `database.dsn_env`, ... (None when not
        configured)."""
        value = self._secrets.get(key)
        return value.get_secret_value() if value else None

    @property
    def signing_key_setting(self) -> str:
        """The profile's key naming what tokens are signed with: `api.jwt_secret_env`, or for a
        platform that signs with a key pair (expectations.api.auth.algorithms, the first)
        `api.jwt_private_key_env`."""
        return signing_key_setting(self.expectations["api.auth.algorithms"][0])

    def required_secret(self, key: str) -> str:
        """A secret the work at hand cannot do without: ConfigError, naming the key, when it is not
        there."""
        value = self.secret(key)
        if not value:
            raise ConfigError(
                str(self.source),
                key,
                "not configured: name the environment variable that holds "
                "it, and set that variable",
            )
        return value

    @property
    def api(self) -> ApiProfile:
        """The profile's [api] section, for work that cannot go on without it."""
        if self.profile.api is None:
            raise ConfigError(
                str(self.source),
                "api",
                "this needs the profile's [api] section (base_url, jwt_secret_env)",
            )
        return self.profile.api

    def secret_values(self) -> list[str]:
        return [value.get_secret_value() for value in self._secrets.values()]

    def describe(self) -> dict[str, Any]:
        """Where the target is, for an evidence record: addresses, never credentials."""
        # start-up: the CLI imports this module, and nbaverify.clients brings psycopg, httpx and
        # PyJWT (~200 ms)
        from nbaverify.clients.db import dsn_where

        p, primary, replica = (
            self.profile,
            self.secret("database.dsn_env"),
            self.secret("database.replica_dsn_env"),
        )
        return {
            "name": p.name,
            "environment": p.environment,
            "profile": str(self.source),
            "api": p.api.base_url if p.api else None,
            "database": dsn_where(primary) if primary else None,
            "replica": dsn_where(replica) if replica else None,
            "kubernetes": p.kubernetes.model_dump() if p.kubernetes else None,
            "prometheus": p.prometheus.url if p.prometheus else None,
            "hosts": p.hosts.urls if p.hosts else None,
        }

    def __repr__(self) -> str:  # never show secrets, even in a debugger or a traceback
        return (
            f"Target(name={self.name!r}, environment={self.environment!r},"
            f" source={str(self.source)!r})"
        )


def profile_path(spec: str) -> Path:
    """`--target NAME` means fixtures/targets/NAME.toml (the working directory's, else the shipped
    examples); anything path-like is a file anywhere; `sandbox` is the sandbox's generated profile.
    """
    if spec == SANDBOX_TARGET:
        return sandbox_profile()
    if "/" in spec or spec.endswith(".toml"):
        return Path(spec)
    own = Path("fixtures") / "targets" / f"{spec}.toml"
    return own if own.exists() else TARGETS_DIR / f"{spec}.toml"


def sandbox_profile() -> Path:
    """Where the sandbox writes its profile (its state directory; see nbaverify.sandbox.layout)."""
    root = Path(os.environ.get("NBAVERIFY_SANDBOX_DIR") or SANDBOX_DIR)
    return root / "target.toml"


SANDBOX_DIR = "/tmp/nbaverify-sandbox"


def load_target(spec: str, environ: os._Environ[str] | dict[str, str] | None = None) -> Target:
    environ = dict(os.environ if environ is None else environ)
    if spec == SANDBOX_TARGET:
        # the embedded target brings its own secrets; the environment still wins
        environ = {**_sandbox_environ(), **environ}
    path = profile_path(spec)
    raw = _read_toml(path, missing_hint=_missing_profile_hint(spec))
    try:
        profile = Profile.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise _config_error(str(path), exc) from None
    profile = _existing_paths(profile, path)
    secrets = _resolve_secrets(profile, path, environ)
    expectations = load_expectations(profile.expectations, override_source=str(path))
    return Target(profile, path, expectations, secrets)


# (section, key, what it must be): every path a profile can name, read from the profile's folder
# when relative
PROFILE_PATHS = (
    ("api", "ca_file", "file"),
    ("kubernetes", "kubeconfig", "file"),
    ("kubernetes", "manifests", "folder"),
    ("alertmanager", "config_file", "file"),
    ("alertmanager", "deliveries", "record"),
)


def _existing_paths(profile: Profile, source: Path) -> Profile:
    """Each path the profile names, resolved against its folder and checked once here: a missing CA
    file is one line naming the file and the key, not an error in every check that would have used
    it."""
    for section_name, key, kind in PROFILE_PATHS:
        section = getattr(profile, section_name)
        value = getattr(section, key, None) if section else None
        if not value or (kind == "record" and urlsplit(value).scheme in ("http", "https")):
            continue
        found = Path(value).expanduser()
        found = found if found.is_absolute() else (source.parent / found).resolve()
        # a delivery record's file is written by its webhook logger, maybe not yet: its folder must
        # exist
        exists = (
            found.parent.is_dir()
            if kind == "record"
            else (found.is_dir() if kind == "folder" else found.is_file())
        )
        if not exists:
            what = {"file": "no such file", "folder": "no such folder", "record": "no folder"}[kind]
            raise ConfigError(
                str(source),
                f"{section_name}.{key}",
                f"{what}: {found if kind != 'record' else found.parent}"
                " (a relative path is read from the profile's folder)",
            )
        section = section.model_copy(update={key: str(found)})
        profile = profile.model_copy(update={section_name: section})
    return profile


def _resolve_paths(data: dict, overridden: set[str], override_source: str) -> None:
    """Relative paths in the expectations, read against the folder of the file that wrote them."""
    for dotted in PATH_EXPECTATIONS:
        *parents, leaf = dotted.split(".")
        node = data
        for part in parents:
            node = node[part]
        value = node[leaf]
        if value and not Path(value).is_absolute():
            base = (
                Path(override_source).parent if dotted in overridden else EXPECTATIONS_FILE.parent
            )
            node[leaf] = str((base / value).resolve())
        if value and not Path(node[leaf]).exists():
            source = override_source if dotted in overridden else str(EXPECTATIONS_FILE)
            raise ConfigError(
                source,
                f"expectations.{dotted}",
                f"no such file or folder: {node[leaf]} (a relative path "
                "is read from the folder of the file that sets it)",
            )


def signing_key_setting(algorithm: str) -> str:
    """The profile's key naming what a platform signing with `algorithm` signs with: the HMAC
    secret, or a key pair's private key."""
    return "api.jwt_secret_env" if algorithm.startswith("HS") else "api.jwt_private_key_env"


def _sandbox_environ() -> dict[str, str]:
    """The variables the sandbox's profile names, as the sandbox wrote them (target.env): no import
    of the sandbox."""
    env_file = sandbox_profile().with_name("target.env")
    try:
        text = env_file.read_text()
    except OSError:
        return {}
    # a value may span lines (a PEM private key): everything between its quotes
    return {
        match.group(1): match.group(2)
        for match in re.finditer(r"^export (\w+)='([^']*)'$", text, re.MULTILINE)
    }


def load_expectations(
    overrides: dict[str, Any] | None = None, override_source: str = "profile"
) -> Expectations:
    defaults = _read_toml(EXPECTATIONS_FILE, missing_hint="the checkout is incomplete")
    overridden: set[str] = set()
    merged = _merge(defaults, overrides or {}, override_source, "expectations", overridden)
    _resolve_paths(merged, overridden, override_source)
    expectations = Expectations(merged, overridden)
    # start-up: the CLI imports this module; the validators (~1.5 ms) are needed once a profile is
    # read
    from nbaverify.expectation_values import VALIDATORS

    for key, parse in VALIDATORS.items():
        try:
            parse(expectations[key])
        except ValueError as exc:
            source = override_source if key in overridden else str(EXPECTATIONS_FILE)
            raise ConfigError(source, f"expectations.{key}", str(exc)) from None
    return expectations


def _read_toml(path: Path, missing_hint: str) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(str(path), None, f"no such file; {missing_hint}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), None, f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(str(path), None, f"cannot read: {exc.strerror}") from None


def _missing_profile_hint(spec: str) -> str:
    if spec == SANDBOX_TARGET:
        return "the sandbox has not been started here: run `nbaverify sandbox up`"
    known = sorted(
        {
            p.stem
            for folder in (Path("fixtures") / "targets", TARGETS_DIR)
            for p in folder.glob("*.toml")
        }
    )
    return f"known targets: {', '.join([*known, SANDBOX_TARGET])} (or give a path to a .toml file)"


def _config_error(source: str, exc: pydantic.ValidationError) -> ConfigError:
    # a typo'd key shows as "unknown" and as "missing"; the unknown one is what the user must fix
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    key = ".".join(str(part) for part in first["loc"]) or None
    if first["type"] == "extra_forbidden":
        problem = "unknown key (see the profile example in docs/environments.md)"
    elif first["type"] == "missing":
        problem = "required key is missing"
    else:
        problem = (
            f"{first['msg']} (got {first.get('input')!r})" if "input" in first else first["msg"]
        )
    if len(errors) > 1:
        problem += f" (and {len(errors) - 1} more problem(s) in this file)"
    return ConfigError(source, key, problem)


_SECRET_KEYS = (
    ("api", "jwt_secret_env"),
    ("api", "previous_jwt_secret_env"),
    ("api", "jwt_private_key_env"),
    ("api", "previous_jwt_private_key_env"),
    ("database", "dsn_env"),
    ("database", "replica_dsn_env"),
    ("grafana", "token_env"),
)


def _resolve_secrets(profile: Profile, path: Path, environ) -> dict[str, str]:
    secrets: dict[str, str] = {}
    for section_name, key in _SECRET_KEYS:
        section = getattr(profile, section_name)
        variable = getattr(section, key, None) if section else None
        if variable is None:
            continue
        value = environ.get(variable)
        if not value:
            state = "is set but empty" if value == "" else "is not set"
            raise ConfigError(
                str(path),
                f"{section_name}.{key}",
                f"environment variable {variable} {state}; export it before the run "
                "(profiles name secrets, never hold them)",
            )
        secrets[f"{section_name}.{key}"] = value
    return secrets


def _merge(defaults: dict, overrides: dict, source: str, prefix: str, overridden: set[str]) -> dict:
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        dotted = f"{prefix}.{key}"
        if key not in defaults:
            raise ConfigError(
                source, dotted, f"unknown expectation; known here: {', '.join(sorted(defaults))}"
            )
        default = defaults[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(source, dotted, f"must be a table, got {type(value).__name__}")
            merged[key] = _merge(default, value, source, dotted, overridden)
            continue
        if not _same_kind(default, value):
            raise ConfigError(
                source,
                dotted,
                f"must be {type(default).__name__} like the default {default!r}, got {value!r}",
            )
        merged[key] = value
        overridden.add(dotted.removeprefix("expectations."))
    return merged


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    return type(default) is type(value)
