"""summary.sarif: the run's failures as SARIF 2.1.0, for GitHub's code-scanning view.

One result per failed or erroring check: ruleId the check's id (stable across runs), level from the
severity, the one-line message, a partialFingerprint that stays the same while the same check fails
on the same object, and always a location, since GitHub rejects a whole file for one result without:
the manifest file and line of a Kubernetes object the message names, where the profile reads
manifests; else the guide section the check verifies, in the copy of the maintenance guide the suite
ships (fixtures/guide/maintenance-guide.md). Written as plain JSON from the run record (the SARIF
object-model packages on PyPI are unmaintained); tests/unit/test_sarif.py validates it against the
OASIS schema.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from functools import cache
from pathlib import Path

from nbaverify import shipped
from nbaverify.results import CheckResult, RunSummary

SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEVELS = {"critical": "error", "warning": "warning", "info": "note"}
GUIDE = shipped.DATA / "guide" / "maintenance-guide.md"
OBJECT = re.compile(
    r"\b(?:(?P<namespace>[a-z0-9-]+)/)?(?P<kind>[A-Z][A-Za-z]+)/(?P<name>[a-z0-9][a-z0-9.-]*)"
)


def _uri(path: Path, root: Path) -> str:
    """Relative to the repository the run happens in (what GitHub resolves), else as shipped."""
    resolved, data = path.resolve(), shipped.DATA.resolve()
    if resolved.is_relative_to(root.resolve()):
        return resolved.relative_to(root.resolve()).as_posix()
    if resolved.is_relative_to(data):
        return resolved.relative_to(data.parent).as_posix()
    return path.name


@cache
def _guide_lines() -> list[str]:
    return GUIDE.read_text().splitlines()


def guide_line(section: str) -> int:
    """The line of a guide section ("Security Best Practices / Rate Limiting"): each part found
    after the one before it, as a heading or a numbered bold item; as deep as it can be found."""
    lines, line = _guide_lines(), 0
    for part in (p.strip() for p in section.split("/")):
        found = next(
            (
                n
                for n in range(line, len(lines))
                if re.match(rf"^(#+ |\d+\. \*\*){re.escape(part)}\b", lines[n].strip())
            ),
            None,
        )
        if found is None:
            break
        line = found
    return line + 1


def _manifest_location(message: str, manifests: Path | None) -> tuple[Path, int] | None:
    if manifests is None or not manifests.is_dir():
        return None
    for match in OBJECT.finditer(message):
        for path in sorted(manifests.rglob("*.y*ml")):
            text = path.read_text(errors="replace").splitlines()
            for number, line in enumerate(text):
                if line.strip() == f"kind: {match['kind']}":
                    for ahead in range(number + 1, min(number + 12, len(text))):
                        if re.match(rf"^\s+name:\s*{re.escape(match['name'])}\s*$", text[ahead]):
                            return path, ahead + 1
    return None


def _result(check: CheckResult, manifests: Path | None, root: Path) -> dict:
    found = _manifest_location(check.message, manifests)
    path, line = found if found else (GUIDE, guide_line(check.runbook))
    scope = check.id.partition("[")[2].rstrip("]")
    fingerprint = hashlib.sha256(
        f"{check.id}|{scope}|{found[0].name if found else ''}".encode()
    ).hexdigest()[:32]
    return {
        "ruleId": check.id.split("[")[0],
        "level": LEVELS.get(check.severity, "warning"),
        "message": {"text": check.message or f"{check.id} {check.outcome}"},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(path, root)},
                    "region": {"startLine": line},
                }
            }
        ],
        "partialFingerprints": {"nbaverifyCheck/v1": fingerprint},
        "properties": {
            "outcome": check.outcome,
            "area": check.area,
            "guide": check.runbook,
            "case": scope,
        },
    }


def _rule(check: CheckResult) -> dict:
    rule_id = check.id.split("[")[0]
    return {
        "id": rule_id,
        "name": rule_id.split("::")[-1],
        "shortDescription": {
            "text": f"{rule_id.split('::')[-1].removeprefix('check_').replace('_', ' ')}"
        },
        "help": {"text": f"Maintenance guide: {check.runbook}"},
        "defaultConfiguration": {"level": LEVELS.get(check.severity, "warning")},
        "properties": {"tags": [check.area, check.severity, *check.tiers]},
    }


def sarif(summary: RunSummary, manifests: Path | None = None, root: Path | None = None) -> dict:
    root = root or Path(os.getcwd())
    failing = [c for c in summary.checks if c.outcome in ("failed", "error")]
    rules = {c.id.split("[")[0]: _rule(c) for c in failing}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "nbaverify",
                        "version": summary.nbaverify_version or "0",
                        "rules": list(rules.values()),
                    }
                },
                "automationDetails": {"id": f"nbaverify/{summary.tier}/{summary.target}/"},
                "results": [_result(c, manifests, root) for c in failing],
                "properties": {
                    "run_id": summary.run_id,
                    "target": summary.target,
                    "environment": summary.environment,
                },
            }
        ],
    }


def write(summary: RunSummary, path: Path, manifests: Path | None = None) -> Path:
    path.write_text(json.dumps(sarif(summary, manifests), indent=1) + "\n")
    return path
