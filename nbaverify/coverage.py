"""The guide-to-checks map (fixtures/coverage.toml), rendered for the README and reports."""

from __future__ import annotations

import tomllib

from nbaverify.shipped import COVERAGE as COVERAGE_FILE


def load() -> list[dict]:
    return tomllib.loads(COVERAGE_FILE.read_text())["item"]


def markdown_table() -> str:
    lines = ["| guide section | verified by | also, or not automated and why |", "|---|---|---|"]
    for entry in load():
        checks = ", ".join(f"`{c.split('::')[1]}`" for c in entry.get("checks", [])) or "—"
        why = "; ".join(filter(None, [f"`{entry['command'].split(':')[0]}`:{entry['command'].split(':', 1)[1]}"
                                      if entry.get("command") else None,
                                      f"read as: {entry['reading']}" if entry.get("reading") else None, entry.get("manual"),
                                      f"planned, {entry['planned']}" if entry.get("planned") else None]))
        section = entry["section"] + (f" ({entry['items']})" if entry.get("items") else "")
        lines.append(f"| {section} | {checks} | {why or '—'} |")
    return "\n".join(lines) + "\n"
