"""The fault catalogue: every way the sandbox can be broken on purpose, and who must notice.

A fault is data: a name, what it breaks (one line for `nbaverify sandbox faults`), the checks
that must fail when it is on (`caught_by`, node ids without parameters) and a regular expression
their failure message must match (`expect`, so the matrix proves the message names the cause).
`apply` and `revert` act on a running `Sandbox`; API faults need neither: the API reads
`control.json` and the sandbox writes every active fault there.

Each area adds its faults in a module of its own; `CATALOGUE` holds them all, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbaverify.sandbox.manager import Sandbox


def _nothing(sandbox: Sandbox) -> None:
    """API faults live in control.json only; the sandbox writes it after every change."""


@dataclass(frozen=True)
class Fault:
    name: str
    area: str
    breaks: str
    caught_by: tuple[str, ...]
    expect: str
    apply: Callable[[Sandbox], None] = _nothing
    revert: Callable[[Sandbox], None] = _nothing
    requires: str | None = None  # a sandbox component the fault needs ("prometheus"), else None
    # its checks judge the change since the previous run: the matrix runs them once first, on the
    # healthy sandbox ("healthy") or with the fault already on ("faulty", for a fault that must age)
    baseline: str | None = None
    api_flags: tuple[str, ...] = ()  # API behaviours it switches on besides its own name (control.json)
    sources: tuple[str, ...] = ()  # Kubernetes faults: the sources that see it ("cluster", "manifests")

    @property
    def through_api(self) -> bool:
        """Does the fault act through the reference API (so it must exist in both implementations)?"""
        from nbaverify.sandbox.apis import flags

        return self.area != "load" and (self.name in flags()["flags"] or bool(self.api_flags)
                                        or any(check.startswith(API_CHECKS) for check in self.caught_by))


# the checks that talk to the API: a fault they catch is proven against both implementations
API_CHECKS = tuple(f"checks/test_{name}.py" for name in (
    "health", "jwt", "rate_limit", "headers_tls", "api_input", "api_performance", "metrics_exposure", "websocket"))


CATALOGUE: dict[str, Fault] = {}


def fault(**fields) -> Fault:
    entry = Fault(**fields)
    if entry.name in CATALOGUE:
        raise ValueError(f"fault {entry.name!r} is declared twice")
    CATALOGUE[entry.name] = entry
    return entry


def markdown_table() -> str:
    """The catalogue as the README shows it (a self-test keeps the README current)."""
    lines = ["| fault | breaks | caught by | proven on |", "|---|---|---|---|"]
    for entry in CATALOGUE.values():
        caught = ", ".join(f"`{c.split('::', 1)[1]}`" if "::" in c else c for c in entry.caught_by)
        where = ("nbaverify load" if entry.area == "load" else "both APIs" if entry.through_api
                 else "both sources" if "manifests" in entry.sources else "the sandbox")
        lines.append(f"| `{entry.name}` | {entry.breaks} | {caught} | {where} |")
    return "\n".join(lines) + "\n"


# Importing the area modules fills CATALOGUE; they import `fault` from here.
from nbaverify.sandbox.faults import api, database, kubernetes, monitoring  # noqa: E402,F401  (registration side effect)
