"""The fault catalogue: every way the sandbox can be broken on purpose, and who must notice.

A fault is data (`model.Fault`): a name, what it breaks (one line for `nbaverify sandbox faults`),
the checks that must fail when it is on (`caught_by`) and a regular expression their failure
message must match (`expect`, so the matrix proves the message names the cause). Its `apply` and
`revert` steps act on a running sandbox through `model.Reach` only; API faults need neither: the
API reads `control.json` and the sandbox writes every active fault there.

Each area declares its faults in a table of its own (`FAULTS`); `CATALOGUE` is those tables, in
order.
"""

from __future__ import annotations

from collections.abc import Iterable

from nbaverify.sandbox.faults import api, database, hosts, kubernetes, logs, monitoring
from nbaverify.sandbox.faults.model import API_CHECKS, Fault, Reach

__all__ = ["API_CHECKS", "CATALOGUE", "Fault", "Reach", "markdown_table"]


def catalogue(*tables: Iterable[Fault]) -> dict[str, Fault]:
    """The areas' tables as one, by name; a name declared twice is an error."""
    entries: dict[str, Fault] = {}
    for table in tables:
        for entry in table:
            if entry.name in entries:
                raise ValueError(f"fault {entry.name!r} is declared twice")
            entries[entry.name] = entry
    return entries


CATALOGUE = catalogue(
    api.FAULTS, logs.FAULTS, database.FAULTS, kubernetes.FAULTS, monitoring.FAULTS, hosts.FAULTS
)


def markdown_table() -> str:
    """The catalogue as the README shows it (a self-test keeps the README current)."""
    lines = ["| fault | breaks | caught by | proven on |", "|---|---|---|---|"]
    for entry in CATALOGUE.values():
        caught = ", ".join(f"`{c.split('::', 1)[1]}`" if "::" in c else c for c in entry.caught_by)
        where = (
            "nbaverify load"
            if entry.area == "load"
            else (
                f"the {' and '.join(entry.apis)} API"
                if entry.apis
                else (
                    "both APIs"
                    if entry.through_api
                    else "both sources"
                    if "manifests" in entry.sources
                    else "the sandbox"
                )
            )
        )
        where += f" (`--variant {entry.variant}`)" if entry.variant else ""
        lines.append(f"| `{entry.name}` | {entry.breaks} | {caught} | {where} |")
    return "\n".join(lines) + "\n"
