"""Dependency lists (npm lockfiles, CycloneDX, SPDX) and OSV ranges, read as their formats say."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nbaverify import shipped
from nbaverify.errors import CheckError
from nbaverify.probes import advisories, dependencies
from nbaverify.probes.dependencies import Package
from nbaverify.sandbox.apis import NODE_DIR


def _write(tmp_path: Path, doc: dict) -> Path:
    path = tmp_path / "deps.json"
    path.write_text(json.dumps(doc))
    return path


def test_the_node_api_lockfile_is_read_with_where_each_package_is():
    kind, packages = dependencies.read(NODE_DIR / "package-lock.json")
    assert kind == "npm lockfile v3"
    found = {(p.name, p.where) for p in packages}
    assert ("jsonwebtoken", "node_modules/jsonwebtoken") in found
    assert ("@koa/cors", "node_modules/@koa/cors") in found
    # a nested copy keeps its own place
    assert ("depd", "node_modules/http-assert/node_modules/depd") in found
    assert all(p.ecosystem == "npm" and p.version for p in packages)


def test_a_version_1_lockfile_is_read_through_its_nesting(tmp_path):
    lock = {
        "lockfileVersion": 1,
        "dependencies": {
            "koa": {"version": "2.13.0", "dependencies": {"debug": {"version": "3.1.0"}}},
            "mine": {"version": "file:../mine"},
        },
    }
    _, packages = dependencies.read(_write(tmp_path, lock))
    assert packages == sorted(
        [
            Package("npm", "koa", "2.13.0", "node_modules/koa"),
            Package("npm", "debug", "3.1.0", "node_modules/koa/node_modules/debug"),
        ]
    )


def test_a_cyclonedx_sbom_gives_purl_names_scopes_and_nested_components(tmp_path):
    bom = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": [
            {
                "name": "cors",
                "group": "@koa",
                "version": "4.0.0",
                "purl": "pkg:npm/%40koa/cors@4.0.0",
                "bom-ref": "a",
                "components": [
                    {
                        "name": "vary",
                        "version": "1.1.2",
                        "purl": "pkg:npm/vary@1.1.2",
                        "bom-ref": "b",
                    }
                ],
            },
            {"name": "requests", "version": "2.19.0", "purl": "pkg:pypi/requests@2.19.0"},
            {"name": "no-purl", "version": "1.0.0"},
        ],
    }
    kind, packages = dependencies.read(_write(tmp_path, bom))
    assert kind == "CycloneDX 1.5"
    assert {(p.ecosystem, p.name, p.version) for p in packages} == {
        ("npm", "@koa/cors", "4.0.0"),
        ("npm", "vary", "1.1.2"),
        ("PyPI", "requests", "2.19.0"),
        ("npm", "no-purl", "1.0.0"),
    }


def test_an_spdx_sbom_is_read_by_purl_or_name(tmp_path):
    spdx = {
        "spdxVersion": "SPDX-2.3",
        "packages": [
            {
                "SPDXID": "SPDXRef-1",
                "name": "jsonwebtoken",
                "versionInfo": "8.5.1",
                "externalRefs": [
                    {
                        "referenceCategory": "PACKAGE-MANAGER",
                        "referenceType": "purl",
                        "referenceLocator": "pkg:npm/jsonwebtoken@8.5.1",
                    }
                ],
            },
            {"SPDXID": "SPDXRef-2", "name": "ws", "versionInfo": "7.4.5"},
            {"SPDXID": "SPDXRef-3", "name": "no-version"},
        ],
    }
    kind, packages = dependencies.read(_write(tmp_path, spdx))
    assert kind == "SPDX-2.3"
    assert [(p.name, p.version, p.where) for p in packages] == [
        ("jsonwebtoken", "8.5.1", "SPDXRef-1"),
        ("ws", "7.4.5", "SPDXRef-2"),
    ]


@pytest.mark.parametrize(
    "text, said",
    [
        ("{", "is not JSON"),
        ('{"name": "x"}', "is neither an npm package-lock.json"),
        (None, "does not exist"),
    ],
)
def test_a_file_that_is_no_dependency_list_is_named(tmp_path, text, said):
    path = tmp_path / "deps.json"
    if text is not None:
        path.write_text(text)
    with pytest.raises(CheckError, match=f"patches.api_dependencies_file: {path} {said}"):
        dependencies.read(path)


def _snapshot(*vulns: dict) -> advisories.Snapshot:
    return advisories.Snapshot(Path("advisories.json"), dt.date(2026, 12, 1), "test", list(vulns))


def _vuln(vid: str, name: str, *ranges: list[dict], severity: str = "HIGH", **extra) -> dict:
    return {
        "id": vid,
        "aliases": [f"CVE-{vid}"],
        "summary": f"{vid} in {name}",
        "database_specific": {"severity": severity},
        "affected": [
            {
                "package": {"ecosystem": "npm", "name": name},
                "ranges": [{"type": "SEMVER", "events": events} for events in ranges],
            }
        ],
        **extra,
    }


def _hits(snapshot: advisories.Snapshot, name: str, version: str) -> list[str]:
    found, _ = snapshot.findings([Package("npm", name, version, f"node_modules/{name}")])
    return [f.id for f in found]


@pytest.mark.parametrize(
    "version, hit",
    [("0.1.0", True), ("8.5.1", True), ("9.0.0-beta.1", True), ("9.0.0", False), ("9.0.3", False)],
)
def test_introduced_and_fixed_bound_a_range_as_semver_orders_it(version, hit):
    snapshot = _snapshot(_vuln("A", "jsonwebtoken", [{"introduced": "0"}, {"fixed": "9.0.0"}]))
    assert _hits(snapshot, "jsonwebtoken", version) == (["A"] if hit else [])


@pytest.mark.parametrize(
    "version, hit",
    [
        ("5.2.3", True),
        ("5.2.4", False),
        ("6.0.0", False),
        ("7.5.9", True),
        ("7.5.10", False),
        ("8.17.0", True),
        ("8.17.1", False),
    ],
)
def test_several_release_lines_each_have_their_own_fix(version, hit):
    snapshot = _snapshot(
        _vuln(
            "W",
            "ws",
            [{"introduced": "2.1.0"}, {"fixed": "5.2.4"}],
            [{"introduced": "7.0.0"}, {"fixed": "7.5.10"}],
            [{"introduced": "8.0.0"}, {"fixed": "8.17.1"}],
        )
    )
    assert _hits(snapshot, "ws", version) == (["W"] if hit else [])


def test_last_affected_is_included_and_listed_versions_count():
    snapshot = _snapshot(
        _vuln("L", "debug", [{"introduced": "4.0.0"}, {"last_affected": "4.3.0"}]),
        {
            "id": "M",
            "affected": [{"package": {"ecosystem": "npm", "name": "debug"}, "versions": ["4.4.2"]}],
        },
    )
    assert _hits(snapshot, "debug", "4.3.0") == ["L"]
    assert _hits(snapshot, "debug", "4.3.1") == []
    assert _hits(snapshot, "debug", "4.4.2") == ["M"]


def test_a_withdrawn_advisory_or_another_ecosystem_covers_nothing():
    withdrawn = _vuln(
        "X", "pg", [{"introduced": "0"}, {"fixed": "9.0.0"}], withdrawn="2023-01-01T00:00:00Z"
    )
    snapshot = _snapshot(withdrawn)
    assert _hits(snapshot, "pg", "8.0.0") == []
    found, _ = _snapshot(_vuln("Y", "pg", [{"introduced": "0"}])).findings(
        [Package("PyPI", "pg", "1.0.0", "x")]
    )
    assert found == []


def test_a_finding_names_the_package_the_advisory_and_the_nearest_fix():
    snapshot = _snapshot(
        _vuln(
            "GHSA-1",
            "ws",
            [{"introduced": "7.0.0"}, {"fixed": "7.5.10"}],
            [{"introduced": "8.0.0"}, {"fixed": "8.17.1"}],
            severity="MODERATE",
        )
    )
    found, _ = snapshot.findings([Package("npm", "ws", "8.16.0", "node_modules/ws")])
    assert (
        found[0].describe()
        == "ws 8.16.0 at node_modules/ws: GHSA-1 (CVE-GHSA-1), moderate, GHSA-1 in ws; "
        "fixed in 8.17.1"
    )


def test_a_version_that_cannot_be_ordered_is_set_aside_not_passed_over():
    snapshot = _snapshot(_vuln("A", "koa", [{"introduced": "0"}, {"fixed": "2.16.1"}]))
    found, unordered = snapshot.findings(
        [Package("npm", "koa", "github:koajs/koa#main", "node_modules/koa")]
    )
    assert found == [] and [p.version for p in unordered] == ["github:koajs/koa#main"]


def test_the_shipped_advisories_pass_the_node_api_and_catch_an_old_jsonwebtoken():
    snapshot = advisories.load(shipped.ADVISORIES)
    _, packages = dependencies.read(NODE_DIR / "package-lock.json")
    found, unordered = snapshot.findings(packages)
    assert [
        f.describe() for f in found if f.severity in ("critical", "high", "moderate")
    ] == [] and unordered == []
    old = snapshot.findings([Package("npm", "jsonwebtoken", "8.5.1", "node_modules/jsonwebtoken")])[
        0
    ]
    assert {f.cve for f in old} >= {"CVE-2022-23539", "CVE-2022-23540", "CVE-2022-23541"}


@pytest.mark.parametrize(
    "doc, said",
    [
        ({"taken": "2026-01-01"}, "KeyError"),
        ({"taken": "soon", "source": "x", "vulns": []}, "ValueError"),
        (
            {"taken": "2026-01-01", "source": "x", "vulns": [{"id": "A"}]},
            "vulns\\[0\\] has no id or no affected list",
        ),
    ],
)
def test_advisory_data_not_in_osv_format_is_named(tmp_path, doc, said):
    path = tmp_path / "advisories.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(
        CheckError,
        match=f"patches.advisories_file: {path} is not advisory data in OSV's format .*{said}",
    ):
        advisories.load(path)


def test_the_snapshot_script_keeps_the_records_of_the_lockfile_s_packages(tmp_path):
    """scripts/advisory_snapshot on a plain folder: the record that names a package of the lockfile
    is kept, with the fields the check reads; another ecosystem's is not; the day and source are the
    ones given."""
    folder = tmp_path / "osv" / "2022" / "12"
    folder.mkdir(parents=True)
    kept = _vuln(
        "GHSA-kept", "jsonwebtoken", [{"introduced": "0"}, {"fixed": "9.0.0"}], details="long text"
    )
    other = {
        "id": "PYSEC-1",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "jsonwebtoken"}}],
    }
    for record in (kept, other):
        (folder / f"{record['id']}.json").write_text(json.dumps(record))
    out = tmp_path / "advisories.json"
    done = subprocess.run(
        [
            sys.executable,
            str(shipped.CHECKOUT / "scripts" / "advisory_snapshot"),
            str(tmp_path / "osv"),
            "--out",
            str(out),
            "--taken",
            "2026-12-01",
            "--source",
            "a test folder",
        ],
        cwd=shipped.CHECKOUT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    snapshot = advisories.load(out)
    assert (snapshot.taken.isoformat(), snapshot.source) == ("2026-12-01", "a test folder")
    assert [v["id"] for v in snapshot.vulns] == ["GHSA-kept"] and "details" not in snapshot.vulns[0]
    assert _hits(snapshot, "jsonwebtoken", "8.5.1") == ["GHSA-kept"]
