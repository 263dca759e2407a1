"""Waivers (InSpec style): a known failure, accepted by an owner until a date.

A waivers file is TOML, one `[[waiver]]` table an entry:

    [[waiver]]
    check = "test_database_indexes.py::check_no_unused_indexes_on_large_tables"
    scope = "idx_player_stats_legacy"     # optional: the case id in brackets, or a resource the
    message names justification = "dropped in release 4.2 (PLAT-311)"
    owner = "data-platform@example.com"
    expires = 2027-01-31                  # last day the waiver holds (UTC)
    run = true                            # false: do not run the check at all while waived

A waived failure is reported as `waived`, never hidden; a waiver past its date waives nothing and
fails the run; a malformed file stops the run before any check, naming the entry.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from nbaverify.errors import ConfigError


class Waiver(BaseModel):
    """One [[waiver]] of a waivers file: a known failure of a check (one case or resource of it,
    with `scope`), accepted by an owner until a date, with the reason; strict, frozen and closed to
    unknown keys, like the profiles.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    check: str = Field(min_length=1)
    scope: str | None = None
    justification: str = Field(min_length=1)
    owner: str = Field(min_length=1)
    expires: dt.date
    run: bool = True

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def covers(self, check_id: str) -> bool:
        """Does this waiver name the check (by function, module::function, or full id, with or
        without case)?"""
        module, function, case = _split(check_id)
        w_module, w_function, w_case = _split(self.check)
        return (
            w_function == function
            and (not w_module or w_module == module)
            and (w_case is None or w_case == case)
        )

    def applies(self, check_id: str, message: str | None) -> bool:
        """Covers the check, and the scope (if any) is this case or a resource this failure
        names."""
        if not self.covers(check_id):
            return False
        if self.scope is None:
            return True
        if _split(check_id)[2] == self.scope:
            return True
        return (
            message is not None
            and re.search(rf"(?<![\w.]){re.escape(self.scope)}(?![\w])", message) is not None
        )

    def describe(self) -> str:
        scope = f" [{self.scope}]" if self.scope else ""
        return (
            f"{self.check}{scope}, owner {self.owner}, until {self.expires}: {self.justification}"
        )

    def record(self, state: str) -> dict:
        return {**self.model_dump(mode="json"), "state": state}


def _split(check_id: str) -> tuple[str, str, str | None]:
    """'checks/test_x.py::check_y[case]' -> ('test_x.py', 'check_y', 'case')."""
    module, _, rest = check_id.rpartition("::")
    case = None
    if rest.endswith("]") and "[" in rest:
        rest, _, case = rest[:-1].partition("[")
    return module.removeprefix("checks/"), rest, case


def load(path: Path) -> list[Waiver]:
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(
            str(path), None, "no such waivers file; check --waivers / NBAVERIFY_WAIVERS"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), None, f"not valid TOML: {exc}") from None
    unknown = set(raw) - {"waiver"}
    if unknown:
        raise ConfigError(
            str(path),
            sorted(unknown)[0],
            "unknown key; a waivers file holds [[waiver]] tables only",
        )
    entries = raw.get("waiver", [])
    if not isinstance(entries, list):
        raise ConfigError(str(path), "waiver", "must be an array of tables: write [[waiver]]")
    waivers = []
    for number, entry in enumerate(entries, start=1):
        name = entry.get("check", "?") if isinstance(entry, dict) else "?"
        try:
            waivers.append(Waiver.model_validate(entry))
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            key = ".".join(str(part) for part in first["loc"]) or "entry"
            problem = {"missing": "required key is missing", "extra_forbidden": "unknown key"}.get(
                first["type"], first["msg"]
            )
            raise ConfigError(str(path), f"waiver {number} ({name}) {key}", problem) from None
    return waivers
