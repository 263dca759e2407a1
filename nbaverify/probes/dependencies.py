"""What a deployed build depends on, read from the file its build leaves: an npm lockfile or an
SBOM.

npm's package-lock.json (lockfile versions 1, 2 and 3), CycloneDX JSON (`components`, nested ones
too) and SPDX JSON (`packages`, with a purl or a plain name and `versionInfo`). Each package comes
with where the file puts it, so a finding names the copy to upgrade
(`node_modules/a/node_modules/b`). The ecosystem is npm unless a purl says otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from packageurl import PackageURL

from nbaverify.errors import CheckError

# purl types (the SBOM's word) against OSV's ecosystem names (the advisories' word)
ECOSYSTEMS = {
    "npm": "npm",
    "pypi": "PyPI",
    "golang": "Go",
    "maven": "Maven",
    "cargo": "crates.io",
    "gem": "RubyGems",
}


@dataclass(frozen=True, order=True)
class Package:
    """One installed package: its ecosystem (OSV's name), name, version, and where the file puts
    it."""

    ecosystem: str
    name: str
    version: str
    where: str


def read(path: Path) -> tuple[str, list[Package]]:
    """(the file's format, its packages); a CheckError naming the file when it is none of the
    three."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckError(f"patches.api_dependencies_file: {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise CheckError(f"patches.api_dependencies_file: {path} is not JSON: {exc}") from None
    if isinstance(raw, dict) and "lockfileVersion" in raw:
        return f"npm lockfile v{raw['lockfileVersion']}", sorted(set(_npm_lock(raw)))
    if isinstance(raw, dict) and raw.get("bomFormat") == "CycloneDX":
        return f"CycloneDX {raw.get('specVersion', '?')}", sorted(
            set(_cyclonedx(raw.get("components", [])))
        )
    if isinstance(raw, dict) and "spdxVersion" in raw:
        return str(raw["spdxVersion"]), sorted(set(_spdx(raw.get("packages", []))))
    raise CheckError(
        f"patches.api_dependencies_file: {path} is neither an npm package-lock.json, a CycloneDX"
        " JSON SBOM nor an SPDX JSON SBOM (no lockfileVersion, bomFormat or spdxVersion)"
    )


def _npm_lock(raw: dict) -> Iterator[Package]:
    if "packages" in raw:  # v2 and v3: keyed by install path; "" is the project itself
        for where, entry in raw["packages"].items():
            if where and "version" in entry and not entry.get("link"):
                name = entry.get("name") or where.rsplit("node_modules/", 1)[-1]
                yield Package("npm", name, str(entry["version"]), where)
        return
    yield from _npm_lock_v1(raw.get("dependencies", {}), "node_modules")  # v1: nested by dependency


def _npm_lock_v1(dependencies: dict, prefix: str) -> Iterator[Package]:
    for name, entry in dependencies.items():
        where = f"{prefix}/{name}"
        if "version" in entry and not str(entry["version"]).startswith(("file:", "link:", "git")):
            yield Package("npm", name, str(entry["version"]), where)
        yield from _npm_lock_v1(entry.get("dependencies", {}), f"{where}/node_modules")


def _from_purl(purl: str, where: str) -> Package | None:
    try:
        parsed = PackageURL.from_string(purl)
    except ValueError:
        return None
    if not parsed.version:
        return None
    name = f"{parsed.namespace}/{parsed.name}" if parsed.namespace else parsed.name
    if parsed.type == "maven" and parsed.namespace:
        name = f"{parsed.namespace}:{parsed.name}"
    return Package(ECOSYSTEMS.get(parsed.type, parsed.type), name, parsed.version, where)


def _cyclonedx(components: list) -> Iterator[Package]:
    for component in components:
        where = component.get("bom-ref") or component.get("name", "?")
        found = _from_purl(component["purl"], where) if component.get("purl") else None
        if found is None and component.get("name") and component.get("version"):
            group = component.get("group")
            found = Package(
                "npm",
                f"{group}/{component['name']}" if group else component["name"],
                str(component["version"]),
                where,
            )
        if found:
            yield found
        yield from _cyclonedx(component.get("components", []))


def _spdx(packages: list) -> Iterator[Package]:
    for package in packages:
        where = package.get("SPDXID") or package.get("name", "?")
        purls = [
            ref["referenceLocator"]
            for ref in package.get("externalRefs", [])
            if ref.get("referenceType") == "purl"
        ]
        found = _from_purl(purls[0], where) if purls else None
        if found is None and package.get("name") and package.get("versionInfo"):
            found = Package("npm", package["name"], str(package["versionInfo"]), where)
        if found:
            yield found
