"""The catalogue as a person reads it: `nbaverify checks` (a listing as text, Markdown or JSON) and
`nbaverify explain CHECK` (one check: the guide's own words, what it reads, its severity and why,
the faults that prove it can fail). The generated docs pages are built from the same functions."""

from __future__ import annotations

import textwrap

from nbaverify import guide
from nbaverify.catalogue import CheckSpec, functions
from nbaverify.errors import ConfigError
from nbaverify.markers import AREAS, SAFETY_MEANS, SEVERITY_MEANS, TIERS
from nbaverify.sandbox.faults import CATALOGUE
from nbaverify.sandbox.faults.proof import faults_failing, shown_elsewhere

# a docstring paragraph so opened is `explain`'s advice for the person on call
WHEN_IT_FAILS = "When it fails:"


def select(specs: list[CheckSpec], tier: str = "all", area: str | None = None) -> list[CheckSpec]:
    """The cases a run of this tier (and area) would select."""
    return [
        s for s in specs if (tier == "all" or tier in s.tiers) and (area is None or s.area == area)
    ]


def cases_of(specs: list[CheckSpec]) -> dict[str, list[str]]:
    """Each check function's case names, in order (empty for an unparametrized check)."""
    found: dict[str, list[str]] = {}
    for entry in specs:
        found.setdefault(entry.check, [])
        if entry.case is not None:
            found[entry.check].append(entry.case)
    return found


def proof(entry: CheckSpec, specs: list[CheckSpec]) -> dict[str, list[str]]:
    """The faults that fail any case of this check, and where else a case is shown failing."""
    ids = [s.id for s in specs if s.check == entry.check] or [entry.id]
    return {
        "faults": list(dict.fromkeys(f for cid in ids for f in faults_failing(cid))),
        "elsewhere": list(dict.fromkeys(w for cid in ids for w in shown_elsewhere(cid))),
    }


def as_json(specs: list[CheckSpec]) -> list[dict]:
    """One entry a check function: its catalogue entry, its cases, and what proves it can fail."""
    cases = cases_of(specs)
    return [
        {
            **{k: v for k, v in entry.as_dict().items() if k not in ("id", "case")},
            "cases": cases[entry.check],
            "proven_by": proof(entry, specs),
        }
        for entry in functions(specs)
    ]


def cadences(entry: CheckSpec) -> str:
    """The cadences as a column of initials: `gd--q` is gate, daily and quarterly."""
    return "".join(tier[0] if tier in entry.tiers else "-" for tier in TIERS)


def text(specs: list[CheckSpec], width: int = 120) -> str:
    """The listing for a terminal: by area, a line a check (its case count, severity, cadences,
    summary)."""
    cases = cases_of(specs)
    lines: list[str] = []
    for area in AREAS:
        entries = [e for e in functions(specs) if e.area == area]
        if not entries:
            continue
        lines.append(f"{area} ({len(entries)} checks)")
        for entry in entries:
            count = f"[{len(cases[entry.check])}]" if cases[entry.check] else ""
            head = f"  {entry.name + count:46} {entry.severity:8} {cadences(entry)}  "
            lines.append(head + _shorten(entry.summary, max(width - len(head), 30)))
        lines.append("")
    checks, total = len(functions(specs)), len(specs)
    lines.append(
        f"{checks} checks, {total} cases ([n]: a check's cases). Cadences: "
        + ", ".join(f"{tier[0]} {tier}" for tier in TIERS)
        + ". `nbaverify explain CHECK` says the rest of one."
    )
    return "\n".join(lines)


def _shorten(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"


def markdown(specs: list[CheckSpec]) -> str:
    """The listing as Markdown: a table an area (the docs' checks page, `nbaverify checks
    --markdown`)."""
    cases = cases_of(specs)
    parts: list[str] = []
    for area in AREAS:
        entries = [e for e in functions(specs) if e.area == area]
        if not entries:
            continue
        parts += [
            f"## {area}",
            "",
            "| check | cadences | severity | verifies |",
            "|---|---|---|---|",
        ]
        for entry in entries:
            count = f" ({len(cases[entry.check])} cases)" if cases[entry.check] else ""
            safety = f", {entry.safety}" if entry.safety != "readonly" else ""
            parts.append(
                f"| [`{entry.name}`](#{entry.name}){count} | {', '.join(entry.tiers)} | "
                f"{entry.severity}{safety} | {_cell(prose(entry.summary))} |"
            )
        parts.append("")
    return "\n".join(parts)


def prose(text_: str) -> str:
    """A docstring's text as Markdown prose: angle brackets outside `code` are text, not HTML."""
    pieces = text_.split("`")
    return "`".join(
        p if i % 2 else p.replace("<", "&lt;").replace(">", "&gt;") for i, p in enumerate(pieces)
    )


def _cell(text_: str) -> str:
    return text_.replace("|", "\\|").replace("\n", " ")


def find(specs: list[CheckSpec], name: str) -> CheckSpec:
    """The check a person names: `check_x`, `check_x[case]`, `test_mod.py::check_x` or the full
    id."""
    wanted = name.strip()
    for entry in specs:
        if wanted in (
            entry.id,
            entry.check,
            entry.name,
            entry.id.removeprefix("checks/"),
            entry.check.removeprefix("checks/"),
        ) or (entry.case and wanted == f"{entry.name}[{entry.case}]"):
            return entry
    close = sorted({e.name for e in specs if wanted.split("[")[0].removeprefix("check_") in e.name})
    hint = f"; did you mean {', '.join(close[:5])}?" if close else "; `nbaverify checks` lists them"
    raise ConfigError("explain", None, f"no check is called {wanted!r}{hint}")


def explain(
    entry: CheckSpec, specs: list[CheckSpec], sources: dict[str, str], width: int = 100
) -> str:
    """One check as a person on call wants it: what it verifies, the guide's words, what it reads,
    its severity and why, the faults that prove it can fail."""
    same = [s for s in specs if s.check == entry.check]
    cases = [s.case for s in same if s.case is not None]
    wrap = textwrap.TextWrapper(width=width, initial_indent="  ", subsequent_indent="  ")
    out = [
        f"{entry.check}",
        (
            f"  area {entry.area} · severity {entry.severity} · cadences {', '.join(entry.tiers)}"
            f" · safety {entry.safety}"
        ),
    ]
    if cases:
        out.append(wrap.fill(f"{len(cases)} cases: {', '.join(cases)}"))
    paragraphs = [
        " ".join(p.split())
        for p in (entry.doc or "(no docstring: a defect of the check)").split("\n\n")
    ]
    remedy = [
        p.removeprefix(WHEN_IT_FAILS).strip() for p in paragraphs if p.startswith(WHEN_IT_FAILS)
    ]
    out += ["", "What it verifies"]
    for paragraph in paragraphs:
        if not paragraph.startswith(WHEN_IT_FAILS):
            out += [wrap.fill(paragraph), ""]
    out.append("Severity")
    out += [wrap.fill(f"{entry.severity}: {SEVERITY_MEANS[entry.severity]}"), ""]
    if entry.safety != "readonly":
        out += ["Safety", wrap.fill(f"{entry.safety}: {SAFETY_MEANS[entry.safety]}"), ""]
    out.append("What it reads")
    for name in entry.reads:
        out.append(wrap.fill(f"{name}: {sources.get(name, '')}"))
    if not entry.reads:
        out.append(wrap.fill("files and values the profile and expectations name (see above)"))
    out += ["", "The guide"]
    for section in entry.sections:
        said = guide.section(section)
        out.append(f"  {section}" + ("" if said else "  (not a section of the guide)"))
        if said:
            out += [f"  │ {line}" for line in said.splitlines()[1:] if line.strip()][:24]
    proven = proof(entry, specs)
    out += ["", "Proven to fail"]
    for name in proven["faults"]:
        out.append(wrap.fill(f"under fault {name}: {CATALOGUE[name].breaks}"))
    for where in proven["elsewhere"]:
        out.append(wrap.fill(f"in {where}"))
    if not proven["faults"] and not proven["elsewhere"]:
        out.append("  by no fault of the catalogue: a team's own check")
    out += ["", "When it fails"]
    out += [
        wrap.fill(p)
        for p in remedy or ["Its message says what was expected, what was seen and where."]
    ]
    out += ["  Run it alone:", f"    nbaverify check all -- {entry.check}"]
    return "\n".join(out).rstrip() + "\n"
