"""The maintenance guide as sections a check can name (`@pytest.mark.runbook("A / B / C")`): its
`##` and `###` headings, the numbered bold items under them (`1. **API Security**`), and the items
of its task lists (`- Check backup status`), each with its text as the guide writes it, so
`nbaverify explain` can quote it.
"""

from __future__ import annotations

import re
from functools import cache

from nbaverify.shipped import DATA

GUIDE = DATA / "guide" / "maintenance-guide.md"
HEADING = re.compile(r"^(?P<level>#{2,3})\s+(?P<name>.+?)\s*$")
NUMBERED = re.compile(r"^\d+\.\s+\*\*(?P<name>.+?)\*\*\s*$")
# unindented: a schedule's task, not a numbered item's detail
TASK = re.compile(r"^-\s+(?P<name>.+?)\s*$")
# its lists are tasks, each an item of its own (the suite's tiers are its cadences)
SCHEDULE = "Maintenance Schedule"


@cache
def sections() -> dict[str, str]:
    """Every section's path ("Security Best Practices / Authentication & Authorization / API
    Security") and its text: its heading line and every line under it, its subsections' included."""
    found: dict[str, list[str]] = {}
    trail: list[str] = []
    for line in GUIDE.read_text().splitlines():
        if heading := HEADING.match(line):
            trail = [*trail[: len(heading.group("level")) - 2], heading.group("name")]
        elif (numbered := NUMBERED.match(line)) and len(trail) >= 2:
            trail = [*trail[:2], numbered.group("name")]
        paths = [" / ".join(trail[:depth]) for depth in range(1, len(trail) + 1)]
        if (task := TASK.match(line)) and len(trail) == 2 and trail[0] == SCHEDULE:
            paths.append(" / ".join([*trail, task.group("name")]))
        for path in paths:
            found.setdefault(path, []).append(line)
    return {path: "\n".join(lines).strip() for path, lines in found.items()}


def items() -> list[str]:
    """The guide's items, the unit of coverage: each numbered item, each scheduled task, and each
    `###` section that has neither (Escalation Path), in the guide's order."""
    paths = list(sections())
    return [
        path
        for path in paths
        if path.count(" / ") == 2
        or (path.count(" / ") == 1 and not any(p.startswith(path + " / ") for p in paths))
    ]


def section(path: str) -> str | None:
    """The text of the section a check names, or None when the guide has no such section."""
    return sections().get(path)
