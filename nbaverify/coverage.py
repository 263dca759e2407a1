"""Guide coverage: which checks verify each item of the maintenance guide.

Derived from the checks' own guide sections (their runbook markers, in the catalogue);
fixtures/coverage.toml adds only what the code cannot say of an item: how it is read, what is a
person's to do, what is planned, which other command verifies it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nbaverify import guide
from nbaverify.shipped import COVERAGE as NOTES

if TYPE_CHECKING:
    from nbaverify.catalogue import CheckSpec
    from nbaverify.results import CheckResult


@dataclass(frozen=True)
class Item:
    """One item of the guide and the notes coverage.toml keeps of it."""

    section: str
    reading: str = ""
    manual: str = ""
    planned: str = ""
    command: str = ""

    def covered_by(self, sections: tuple[str, ...] | list[str]) -> bool:
        """Does a check naming these sections verify this item (it names the item, or a part of
        it)?"""
        return any(s == self.section or s.startswith(self.section + " / ") for s in sections)

    @property
    def why_not(self) -> str:
        """Why the checks do not (wholly) verify it, or what else does."""
        return "; ".join(
            filter(
                None,
                [
                    f"`{self.command}`: {self.reading}" if self.command else "",
                    self.manual,
                    f"planned: {self.planned}" if self.planned else "",
                ],
            )
        )


def notes() -> list[dict]:
    return tomllib.loads(NOTES.read_text()).get("item", [])


def items() -> list[Item]:
    """Every item of the guide, in its order, with its notes."""
    by_section = {note["section"]: note for note in notes()}
    return [Item(**by_section.get(section, {"section": section})) for section in guide.items()]


def checks_of(item: Item, specs: list[CheckSpec]) -> list[str]:
    """The checks (module::function) that verify an item, in catalogue order."""
    return list(dict.fromkeys(s.check for s in specs if item.covered_by(s.sections)))


def markdown_table(specs: list[CheckSpec]) -> str:
    """The guide, item by item: the checks that verify it, and what else is said of it."""
    lines = ["| guide item | verified by | read as, or not automated and why |", "|---|---|---|"]
    for item in items():
        checks = ", ".join(f"`{c.split('::')[1]}`" for c in checks_of(item, specs)) or "—"
        read_as = f"read as: {item.reading}" if item.reading and not item.command else ""
        said = "; ".join(filter(None, [read_as, item.why_not]))
        lines.append(f"| {item.section} | {checks} | {said or '—'} |")
    return "\n".join(lines) + "\n"


def of_run(checks: list[CheckResult], catalogue: list[tuple[str, ...]] | None = None) -> list[dict]:
    """Each guide item and what a run says of it: verified, failing, waived, not in this run (checks
    verify it, none of them ran), or not automated (manual, command, planned).

    `catalogue` is the guide sections of every check the run collected, selected or not; without it
    only the run's own checks say which items are automated.
    """
    known = catalogue if catalogue is not None else [tuple(check.guide) for check in checks]
    rows = []
    for item in items():
        ran = [check for check in checks if item.covered_by(check.guide)]
        seen = [check.outcome for check in ran]
        if not ran and not any(item.covered_by(sections) for sections in known):
            state = "manual" if item.manual else "command" if item.command else "planned"
        elif not seen or all(o == "skipped" for o in seen):
            state = "not in this run"
        elif any(o in ("failed", "error") for o in seen):
            state = "failing"
        elif "waived" in seen:
            state = "waived"
        else:
            state = "verified"
        rows.append(
            {
                "section": item.section,
                "state": state,
                "checks": list(dict.fromkeys(check.id.split("[", 1)[0] for check in ran)),
                "why_not": item.why_not,
            }
        )
    return rows


def run_markdown(rows: list[dict]) -> str:
    lines = ["| guide item | in this run | checks |", "|---|---|---|"]
    for row in rows:
        note = (
            f" ({row['why_not']})"
            if row["state"] in ("manual", "command", "planned") and row["why_not"]
            else ""
        )
        lines.append(f"| {row['section']} | {row['state']}{note} | {len(row['checks'])} |")
    return "\n".join(lines) + "\n"
