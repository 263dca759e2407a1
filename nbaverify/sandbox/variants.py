"""Healthy variants: the sandbox made differently from itself, every choice the guide leaves open
made otherwise.

The default sandbox is one healthy platform; a check that passes only on it may be reading the
sandbox's habits (its receiver names, its timers, its label keys) rather than the guide. A variant
changes only what the guide allows, so every variant is healthy by definition: a check that fails on
one cries wolf.

Each dimension is a choice the guide does not fix, with its values; the first value is the default
sandbox's. A variant is a value per dimension: one of VARIANTS by name, or drawn from a seed
(`sandbox up --variant 1234`). A variant may leave out a practice beyond the guide (a Watchdog
alert, a WAL archive): the checks of that practice then say it is absent, as warnings; `expects`
names them, and a variant's run must show those and nothing else.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path

from nbaverify.errors import ConfigError

# dimension -> (what it chooses, its values; the first is the default sandbox's)
DIMENSIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    # Alertmanager
    "receiver_names": ("what the receivers are called", ("sandbox", "plain")),
    "route_shape": ("the route tree: flat routes with continue, or nested", ("continue", "nested")),
    "group_wait": ("the root route's group_wait", ("1s", "0s", "5s", "30s")),
    "group_interval": ("the root route's group_interval", ("2s", "10s", "30s", "1m")),
    "delivery": (
        "how receivers notify: a pager webhook and team email, or email alone",
        ("mixed", "email-only"),
    ),
    "inhibition": (
        "an inhibition rule (critical mutes the warning of the same alert)",
        ("on", "off"),
    ),
    "watchdog": ("an always-firing Watchdog alert and its heartbeat receiver", ("on", "off")),
    "alertmanager": ("an HA pair or one instance", ("cluster", "single")),
    # Prometheus
    "job_names": ("scrape job names", ("sandbox", "kube-style")),
    "scrape_interval": ("the global scrape and evaluation interval", ("2s", "5s", "15s")),
    "rule_names": ("the rule file's and group's names", ("as-shipped", "renamed")),
    "recording_rules": ("recording rules beside the alerts", ("none", "some")),
    "lazy_counters": (
        "cache counters labelled by route, created on their first increment",
        ("eager", "lazy"),
    ),
    # PostgreSQL
    "bulk_loaded": (
        "a table bulk-loaded just before the run (autovacuum has not run yet)",
        ("no", "yes"),
    ),
    "archive_mode": ("a WAL archive (beyond the guide: point-in-time recovery)", ("on", "off")),
    "extra_indexes": ("an index a team added beside the guide's", ("none", "some")),
    "pool": ("the API's pool max/min, within the guide's 20", ("20/4", "10/2", "15/5")),
    # Kubernetes
    "labels": ("the label key of the platform's pods", ("app", "app.kubernetes.io/name")),
    "network_policies": (
        "per-app policies, or default-deny plus allow rules",
        ("per-app", "default-deny"),
    ),
    "batch_workloads": (
        "a StatefulSet, CronJob, Job and bare Pod beside the Deployments",
        ("none", "all"),
    ),
    "namespaces": (
        "the platform in two namespaces, or the frontend and batch in a third",
        ("two", "split"),
    ),
    # API
    "tls_proxy": ("TLS terminated by the API, or by nginx in front of it", ("none", "nginx")),
    "access_log": (
        (
            "a line a request in the combined format (the path without its query), as"
            " morgan('combined') writes"
        ),
        ("off", "combined"),
    ),
    "jwt_alg": (
        (
            "how tokens are signed: a shared secret, or a key pair (the API holds the public key"
            " alone)"
        ),
        ("HS256", "RS256", "ES256"),
    ),
}

# what leaving out a practice beyond the guide makes its check say: (dimension, value) -> check
ABSENT_PRACTICES = {
    ("watchdog", "off"): "checks/test_alerting.py::check_watchdog_rule_present",
    ("archive_mode", "off"): "checks/test_database_backups.py::check_wal_archiving_enabled",
}


@dataclass(frozen=True)
class Variant:
    """A healthy variant of the sandbox: a value for some of DIMENSIONS (the default sandbox's for
    the rest), by name or drawn from a seed; `expects` names the absent-practice warnings its run
    must show, and no other failure.
    """

    name: str
    choices: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, dimension: str) -> str:
        return self.choices.get(dimension, DIMENSIONS[dimension][1][0])

    def differs(self) -> dict[str, str]:
        """The choices it makes otherwise than the default sandbox."""
        return {d: v for d, v in self.choices.items() if v != DIMENSIONS[d][1][0]}

    @property
    def expects(self) -> list[str]:
        """The checks that must say a practice beyond the guide is absent (warnings), and no other
        failure."""
        return sorted(
            check
            for (dimension, value), check in ABSENT_PRACTICES.items()
            if self[dimension] == value
        )

    def has(self, other: Variant) -> bool:
        """Does it make every choice `other` makes otherwise than the default sandbox?"""
        return all(self[dimension] == value for dimension, value in other.differs().items())

    def describe(self) -> str:
        return ", ".join(f"{d}={v}" for d, v in self.differs().items()) or "the default sandbox"


DEFAULT = Variant("default")

# fixed variants, each proven clean by the self-tests on both APIs; together they take every value
# of every dimension but the slowest timers (group_wait 30s, group_interval 1m, scrape 15s), which
# the soak draws
VARIANTS = {
    v.name: v
    for v in (
        Variant(
            "renamed",
            {
                "receiver_names": "plain",
                "job_names": "kube-style",
                "rule_names": "renamed",
                "labels": "app.kubernetes.io/name",
                "recording_rules": "some",
                "access_log": "combined",
            },
        ),
        Variant(
            "nested-timers",
            {
                "route_shape": "nested",
                "group_wait": "0s",
                "group_interval": "30s",
                "inhibition": "off",
                "alertmanager": "single",
                "jwt_alg": "ES256",
            },
        ),
        Variant(
            "email-no-watchdog",
            {
                "delivery": "email-only",
                "watchdog": "off",
                "scrape_interval": "5s",
                "group_wait": "5s",
            },
        ),
        Variant(
            "batch-default-deny",
            {
                "batch_workloads": "all",
                "network_policies": "default-deny",
                "namespaces": "split",
                "pool": "15/5",
            },
        ),
        Variant(
            "fresh-load",
            {
                "bulk_loaded": "yes",
                "extra_indexes": "some",
                "pool": "10/2",
                "lazy_counters": "lazy",
            },
        ),
        Variant("proxied", {"tls_proxy": "nginx", "archive_mode": "off", "group_interval": "10s"}),
        # the key-pair attack pack's faults are made here (nbaverify.sandbox.faults: Fault.variant)
        Variant("key-pair", {"jwt_alg": "RS256"}),
    )
}


def drawn(seed: int) -> Variant:
    """A variant drawn from a seed: every dimension's value at random (the soak's, and `--variant
    SEED`)."""
    rng = random.Random(seed)
    return Variant(str(seed), {d: rng.choice(values) for d, (_, values) in DIMENSIONS.items()})


def resolve(spec: str | None) -> Variant:
    """`--variant NAME|SEED` (None or "default": the default sandbox)."""
    if spec in (None, "", "default"):
        return DEFAULT
    if spec in VARIANTS:
        return VARIANTS[spec]
    if spec.isdigit():
        return drawn(int(spec))
    raise ConfigError(
        "--variant",
        spec,
        "unknown variant; `nbaverify sandbox variants` lists them "
        f"({', '.join(VARIANTS)}), or give a number to draw one",
    )


def recorded(state_file: Path) -> Variant:
    """The variant the sandbox's state file records (the default sandbox when there is none, or it
    is unreadable)."""
    try:
        variant = json.loads(state_file.read_text()).get("variant") or {}
    except (OSError, ValueError):
        variant = {}
    return Variant(variant.get("name") or "default", dict(variant.get("choices") or {}))


def listing() -> str:
    """`nbaverify sandbox variants`: the dimensions and their values, then the fixed variants."""
    lines = ["dimensions (the first value is the default sandbox's):"]
    lines += [
        f"  {d:18} {' | '.join(values):34} {about}" for d, (about, values) in DIMENSIONS.items()
    ]
    lines.append("variants (nbaverify sandbox up --variant NAME, or a number to draw one):")
    for variant in VARIANTS.values():
        said = (
            f"; says absent: {', '.join(c.split('::')[1] for c in variant.expects)}"
            if variant.expects
            else ""
        )
        lines.append(f"  {variant.name:18} {variant.describe()}{said}")
    return "\n".join(lines)
