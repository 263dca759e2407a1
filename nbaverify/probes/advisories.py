"""Security advisories (a dated snapshot in OSV's format) and which installed packages they affect.

The snapshot ships in fixtures/security/advisories.json: `taken` (the day), `source`, and `vulns`,
each an OSV record (id, aliases, summary, affected packages with their ranges and versions,
database_specific.severity as GitHub's reviewed advisories carry it). scripts/advisory_snapshot
writes it from a checkout of github/advisory-database or any folder of OSV records; a team points
`patches.advisories_file` at a newer one. A range is read as OSV's schema says: sorted events,
`introduced` opens, `fixed` (excluded) and `last_affected` (included) close; npm's versions are
ordered as SemVer.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import semver

from nbaverify.errors import CheckError
from nbaverify.probes.dependencies import Package

SEVERITIES = ("critical", "high", "moderate", "low")  # GitHub's words, most severe first
UNRATED = "unrated"


@dataclass(frozen=True)
class Finding:
    """One installed package an advisory covers: the advisory's id, CVE, severity, summary and first
    fixed version."""

    package: Package
    id: str
    cve: str | None
    severity: str
    summary: str
    fixed: str | None

    def describe(self) -> str:
        named = f"{self.id} ({self.cve})" if self.cve else self.id
        fix = f"fixed in {self.fixed}" if self.fixed else "no fixed release"
        return (
            f"{self.package.name} {self.package.version} at {self.package.where}: {named},"
            f" {self.severity}, {' '.join(self.summary.split()).rstrip('.')}; {fix}"
        )


@dataclass(frozen=True)
class Snapshot:
    """The advisories as of the day they were taken, and which packages of a build they affect."""

    path: Path
    taken: dt.date
    source: str
    vulns: list[dict]

    def age_days(self, today: dt.date) -> int:
        return (today - self.taken).days

    def describe(self, today: dt.date) -> str:
        return f"advisory data of {self.taken.isoformat()}, {self.age_days(today)} days old"

    def findings(self, packages: list[Package]) -> tuple[list[Finding], list[Package]]:
        """(every advisory that covers an installed package, the packages whose version could not be
        ordered)."""
        by_name: dict[tuple[str, str], list[tuple[dict, dict]]] = {}
        for vuln in self.vulns:
            if vuln.get("withdrawn"):
                continue
            for affected in vuln.get("affected", []):
                package = affected.get("package", {})
                by_name.setdefault(
                    (package.get("ecosystem", ""), package.get("name", "")), []
                ).append((vuln, affected))
        found, unordered = [], []
        for package in packages:
            for vuln, affected in by_name.get((package.ecosystem, package.name), []):
                version = _version(package.version)
                if version is None:
                    unordered.append(package)
                    break
                if package.version in affected.get("versions", []) or any(
                    _in_range(version, r["events"])
                    for r in affected.get("ranges", [])
                    if r.get("type") in ("SEMVER", "ECOSYSTEM")
                ):
                    found.append(_finding(package, version, vuln, affected))
        return found, unordered


def _finding(package: Package, version: semver.Version, vuln: dict, affected: dict) -> Finding:
    cves = [a for a in vuln.get("aliases", []) if a.startswith("CVE-")]
    severity = str((vuln.get("database_specific") or {}).get("severity") or UNRATED).lower()
    fixes = sorted(
        v
        for r in affected.get("ranges", [])
        for e in r.get("events", [])
        if "fixed" in e and (v := _version(e["fixed"])) is not None and v > version
    )
    return Finding(
        package,
        vuln["id"],
        cves[0] if cves else None,
        "moderate" if severity == "medium" else severity,
        vuln.get("summary") or vuln.get("details", "").split("\n")[0],
        str(fixes[0]) if fixes else None,
    )


def _version(text: str) -> semver.Version | None:
    try:
        return semver.Version.parse(text.lstrip("v=").strip(), optional_minor_and_patch=True)
    except (ValueError, TypeError):
        return None


def _in_range(version: semver.Version, events: list[dict]) -> bool:
    """OSV's evaluation: walk the events in version order; introduced opens, fixed and last_affected
    close."""

    def order(event: dict) -> tuple[int, semver.Version]:
        ((_kind, value),) = event.items()
        parsed = _version(value)
        return (0, semver.Version(0)) if value == "0" or parsed is None else (1, parsed)

    affected = False
    for event in sorted(events, key=order):
        if "introduced" in event:
            start = _version(event["introduced"])
            if event["introduced"] == "0" or (start is not None and version >= start):
                affected = True
        elif "fixed" in event:
            end = _version(event["fixed"])
            if end is not None and version >= end:
                affected = False
        elif "last_affected" in event:
            last = _version(event["last_affected"])
            if last is not None and version > last:
                affected = False
    return affected


def load(path: Path) -> Snapshot:
    try:
        raw = json.loads(path.read_text())
        snapshot = Snapshot(
            path, dt.date.fromisoformat(raw["taken"]), str(raw["source"]), list(raw["vulns"])
        )
        odd = [
            n
            for n, vuln in enumerate(snapshot.vulns)
            if "id" not in vuln or not isinstance(vuln.get("affected"), list)
        ]
        if odd:
            raise ValueError(f"vulns[{odd[0]}] has no id or no affected list")
    except FileNotFoundError:
        raise CheckError(f"patches.advisories_file: {path} does not exist") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckError(
            f"patches.advisories_file: {path} is not advisory data in OSV's format (taken, source, "
            f"vulns: id, affected): {type(exc).__name__}: {exc}"
        ) from None
    return snapshot
