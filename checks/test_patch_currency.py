"""The weekly security-patch currency: what runs, against dated release data (endoflife.date's
fields), and what the API's build holds, against dated security advisories (OSV's format).

PostgreSQL primary and replica (`server_version_num`): a supported major, its end of life not near,
its minor not behind the latest known by more than `patches.max_releases_behind`, both servers on
the same release. The API's runtime as `/health/detailed` reports it, and the Kubernetes API server
and every kubelet, on supported releases. The API's dependencies (its lockfile or SBOM) free of
advisories of the severities `patches.advisory_severities` names. The data are snapshots shipped
with the suite (fixtures/releases/endoflife.json, fixtures/security/advisories.json), so the checks
run offline; their dates are in every result.

Guide: Maintenance Schedule / Weekly Tasks (Update security patches).
"""

import datetime as dt
from pathlib import Path

import pytest

from nbaverify.clients.k8s import ref
from nbaverify.probes import advisories, dependencies, health, releases

pytestmark = [
    pytest.mark.area("security"),
    pytest.mark.runbook("Maintenance Schedule / Weekly Tasks / Update security patches"),
]

RUNTIMES = {"node": "nodejs", "nodejs": "nodejs", "python": "python", "cpython": "python"}


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@pytest.fixture(scope="module")
def snapshot(expect) -> releases.Snapshot:
    return releases.load(Path(expect["patches.releases_file"]))


@pytest.fixture(scope="module")
def advisory_data(expect) -> advisories.Snapshot:
    return advisories.load(Path(expect["patches.advisories_file"]))


@pytest.fixture(scope="module")
def postgres(db, target, request) -> list[tuple[str, str]]:
    """(server, version) of the primary, and of the replica where the profile names one."""
    servers = [db] + (
        [request.getfixturevalue("replica")] if target.secret("database.replica_dsn_env") else []
    )
    found = []
    for server in servers:
        number = int(server.single("SELECT current_setting('server_version_num') AS n")["n"])
        found.append((f"{server.role} {server.where}", f"{number // 10000}.{number % 10000}"))
    return found


def _cycle(
    snapshot, product: str, version: str, where: str, today: dt.date
) -> releases.Cycle | None:
    """The version's cycle; None for a release newer than every cycle the data knows (not ended, as
    far as it can tell). A version the data places nowhere else is a finding."""
    cycle = snapshot.cycle_of(product, version)
    if cycle is None and snapshot.newer_than_known(product, version):
        return None
    assert cycle is not None, (
        f"{where} runs {product} {version}, a release the {snapshot.describe(today)} does not know "
        f"(supported: {', '.join(snapshot.supported(product, today))})"
    )
    return cycle


def _ended(
    snapshot, product: str, running: list[tuple[str, str]], today: dt.date, evidence: dict
) -> list[str]:
    problems = []
    for where, version in running:
        cycle = _cycle(snapshot, product, version, where, today)
        if cycle is None:
            evidence[where] = (
                f"{product} {version}: newer than every cycle the {snapshot.describe(today)} knows"
            )
            continue
        evidence[where] = (
            f"{product} {version} (cycle {cycle.cycle}, end of life {cycle.eol_text()})"
        )
        if cycle.ended(today):
            problems.append(
                f"{where} runs {product} {version}, whose cycle {cycle.cycle} reached its end of"
                f" life on {cycle.eol_text()}"
            )
    evidence["release_data"] = snapshot.describe(today)
    return problems


def _judge_age(
    data: releases.Snapshot | advisories.Snapshot,
    what: str,
    unknown: str,
    refresh: str,
    expect,
    evidence: dict,
) -> None:
    """A dated snapshot at most patches.max_snapshot_age_days old; its file, date and age go into
    the evidence."""
    today, limit = _today(), expect["patches.max_snapshot_age_days"]
    evidence.update(
        file=str(data.path), taken=data.taken.isoformat(), age_days=data.age_days(today)
    )
    assert data.age_days(today) <= limit, (
        f"the {what} {data.path} is {data.age_days(today)} days old (taken {data.taken}, limit"
        f" {limit}): {unknown}; refresh it with {refresh} at a newer one"
    )


@pytest.mark.weekly
@pytest.mark.severity("warning")
def check_release_data_current(snapshot, expect, evidence):
    """The release data the patch checks read is at most `patches.max_snapshot_age_days` (180) days
    old.

    The data is `patches.releases_file` (the shipped `fixtures/releases/endoflife.json` by default),
    dated release data in endoflife.date's fields written by `scripts/release_snapshot` from a
    checkout of endoflife.date, so the checks run offline. Past that age newer releases and
    end-of-life dates are unknown to it: refresh it, or point `patches.releases_file` (relative to
    the profile) at a newer file. Its file, date and age go into the evidence.

    When it fails: Refresh the release data with `scripts/release_snapshot` from a current checkout
    of endoflife.date, or point `patches.releases_file` in the profile's `[expectations]` at a newer
    file; every patch check judges by it.
    """
    _judge_age(
        snapshot,
        "release data",
        "newer releases and end-of-life dates are unknown to it",
        "scripts/release_snapshot or point patches.releases_file",
        expect,
        evidence,
    )


@pytest.mark.weekly
@pytest.mark.severity("critical")
def check_postgres_supported(snapshot, postgres, evidence):
    """The primary and the replica run a PostgreSQL major whose end of life has not passed.

    Each server's version is its `server_version_num`; the replica is read where the profile names
    one (`database.replica_dsn_env`). A release newer than every cycle the data knows is not called
    ended; one the data places nowhere else fails as unknown. Every result carries the release
    data's date and age.

    When it fails: Confirm with `SELECT version()` on the server named and plan the major upgrade
    (`pg_upgrade`, tested on staging) with the database team; waive it with an owner and an expiry
    while it is scheduled. A version the data does not know may mean stale data
    (`check_release_data_current`).
    """
    today = _today()
    problems = _ended(snapshot, "postgresql", postgres, today, evidence)
    assert not problems, (
        f"{'; '.join(problems)}: no more security fixes; upgrade to a supported major "
        f"({', '.join(snapshot.supported('postgresql', today))}; {snapshot.describe(today)})"
    )


@pytest.mark.weekly
@pytest.mark.severity("warning")
def check_postgres_eol_distant(snapshot, postgres, expect, evidence):
    """The PostgreSQL major's end of life is more than `patches.eol_warning_days` (180) days away.

    A warning: time to plan the major upgrade. Read per server as `check_postgres_supported` reads
    it; an end of life already passed is that check's finding, and a cycle without an end-of-life
    date passes. Every result carries the release data's date and age.

    When it fails: Plan the major upgrade now (`pg_upgrade`, tested on staging) and schedule it
    before the end-of-life date in the message; waive it with an owner and an expiry no later than
    that date while it is scheduled.
    """
    today, warn = _today(), expect["patches.eol_warning_days"]
    near = []
    for where, version in postgres:
        cycle = _cycle(snapshot, "postgresql", version, where, today)
        if cycle is None:
            evidence[where] = f"{version}: newer than every cycle the release data knows"
            continue
        left = cycle.days_left(today)
        evidence[where] = (
            f"{version}: {left if left is not None else 'no'} days to end of life"
            f" ({cycle.eol_text()})"
        )
        if left is not None and 0 < left < warn:
            near.append(
                f"{where} runs PostgreSQL {version}: cycle {cycle.cycle} ends on"
                f" {cycle.eol_text()}, in {left} days"
            )
    evidence["release_data"] = snapshot.describe(today)
    assert not near, (
        f"{'; '.join(near)} (warning at {warn} days; {snapshot.describe(today)}): plan the major"
        " upgrade"
    )


@pytest.mark.weekly
@pytest.mark.severity("warning")
def check_postgres_minor_current(snapshot, postgres, expect, evidence):
    """Each PostgreSQL server is at most `patches.max_releases_behind` (1) releases behind its
    major's latest minor.

    PostgreSQL's minor releases come each quarter and carry the security fixes; one behind is the
    time a team takes to roll one through staging, more is a patch not applied. Behind is the
    distance of the version's last number to the latest release of its cycle in the release data.
    Every result carries the release data's date and age.

    When it fails: Confirm with `SELECT version()` and apply the latest minor of that major (a
    package update and a restart: the replica first, the primary in a window), after reading its
    release notes for extra steps.
    """
    today, allowed = _today(), expect["patches.max_releases_behind"]
    behind = []
    for where, version in postgres:
        cycle = _cycle(snapshot, "postgresql", version, where, today)
        if cycle is None:
            evidence[where] = f"{version}: newer than every cycle the release data knows"
            continue
        count = releases.releases_behind(version, cycle)
        evidence[where] = (
            f"{version}: {count} release(s) behind {cycle.latest} ({cycle.latest_date})"
        )
        if count > allowed:
            behind.append(
                f"{where} runs PostgreSQL {version}, {count} releases behind {cycle.latest} "
                f"(released {cycle.latest_date})"
            )
    evidence["release_data"] = snapshot.describe(today)
    assert not behind, (
        f"{'; '.join(behind)}: at most {allowed} allowed (patches.max_releases_behind; "
        f"{snapshot.describe(today)}): minor releases carry the security fixes"
    )


@pytest.mark.weekly
@pytest.mark.severity("warning")
def check_postgres_servers_match(postgres, snapshot, evidence):
    """The replica runs the same PostgreSQL release as the primary.

    Compared by `server_version_num`: a replica on another release means one of them missed a patch.
    Skipped as not configured when the profile names no replica (`database.replica_dsn_env`).

    When it fails: Run `SELECT version()` on both servers and bring the one behind to the other's
    release (the replica first when both need it).
    """
    if len(postgres) < 2:
        pytest.skip("not configured: database.replica_dsn_env")
    evidence.update(dict(postgres), release_data=snapshot.describe(_today()))
    versions = {version for _, version in postgres}
    assert len(versions) == 1, (
        f"{' and '.join(f'{where} runs {version}' for where, version in postgres)}: a replica "
        "should run the primary's release (one of them missed a patch)"
    )


def _runtime_from_images(request, target, deployment: str) -> tuple[str, str, str] | None:
    """(product, version, where) from the api Deployment's image when it is a runtime's own
    (node:22-alpine)."""
    if target.profile.kubernetes is None:
        return None
    k8s = request.getfixturevalue("k8s")
    for workload in k8s.list("Deployment"):
        if workload["metadata"]["name"] != deployment:
            continue
        for container in (
            workload.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
        ):
            found = releases.runtime_image(container.get("image", ""))
            if found:
                return (
                    found[0],
                    found[1],
                    f"{ref(workload, container['name'])} (image {container['image']})",
                )
    return None


@pytest.mark.weekly
@pytest.mark.severity("critical")
def check_api_runtime_supported(api, expect, snapshot, request, target, evidence):
    """The API's runtime (Node.js or Python) is on a release whose end of life has not passed.

    The runtime is the one `/health/detailed` reports (`"runtime": {"name": "node", "version":
    "24.22.3"}`, beyond Contract 2; `node`, `nodejs`, `python` or `cpython`), else the one the api
    Deployment's image names when it is a runtime's official image (`node:22.11-alpine`; the
    Deployment is `patches.api_deployment`, `api`, read where the profile has a `[kubernetes]`
    section). Skipped, saying why, when neither says: the base image is then a person's to check.
    Every result carries the release data's date and age.

    When it fails: Check what `/health/detailed`'s `runtime` or the api image names, then rebuild
    the image on a supported release of its runtime (its `FROM` line), test it on staging and roll
    it out. Waive it with an owner and an expiry while that migration is scheduled.
    """
    path = expect["api.health_detailed_path"]
    report = health.detailed(api, path)
    runtime = report.runtime or {}
    product = RUNTIMES.get(str(runtime.get("name", "")).lower())
    if product and runtime.get("version"):
        running = (product, str(runtime["version"]), f"the API at {api.url(path)}")
    else:
        running = _runtime_from_images(request, target, expect["patches.api_deployment"])
    if running is None:
        pytest.skip(
            f'not reported: GET {api.url(path)} names no runtime ({{"runtime": {{"name",'
            ' "version"}}, beyond Contract 2) and the api image is not a runtime\'s own: its'
            " base image is a person's to check"
        )
    product, version, where = running
    today = _today()
    problems = _ended(snapshot, product, [(where, version)], today, evidence)
    assert not problems, (
        f"{'; '.join(problems)}: no more security fixes; rebuild it on a supported release "
        f"({', '.join(snapshot.supported(product, today)[:4])}; {snapshot.describe(today)})"
    )


@pytest.mark.weekly
@pytest.mark.severity("critical")
def check_kubernetes_supported(k8s, snapshot, evidence):
    """The Kubernetes API server and every node's kubelet run a supported Kubernetes release.

    Versions from the API server's `/version` and each node's `status.nodeInfo.kubeletVersion`. A
    release newer than every cycle the data knows is not called ended. Needs a live cluster: on
    manifests it skips. Every result carries the release data's date and age.

    When it fails: Confirm with `kubectl version` and `kubectl get nodes -o wide` (kubelet versions)
    and plan the cluster upgrade; a node left behind by an upgrade is upgraded or replaced. Waive it
    with an owner and an expiry only while the upgrade is scheduled.
    """
    k8s.require_live("the server and kubelet versions")
    version = k8s.server_version()  # connects: the server's address is known after it
    running = [(f"the Kubernetes API server {k8s.server}", version)]
    running += [
        (
            f"Node/{node['metadata']['name']} (kubelet)",
            node.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", ""),
        )
        for node in k8s.list("Node")
    ]
    today = _today()
    problems = _ended(snapshot, "kubernetes", running, today, evidence)
    assert not problems, (
        f"{'; '.join(problems)}: no more security fixes; upgrade to a supported release "
        f"({', '.join(snapshot.supported('kubernetes', today)[:4])}; {snapshot.describe(today)})"
    )


@pytest.mark.weekly
@pytest.mark.severity("warning")
def check_advisory_data_current(advisory_data, expect, evidence):
    """The security advisories the dependency check reads are at most
    `patches.max_snapshot_age_days` (180) days old.

    The data is `patches.advisories_file` (the shipped `fixtures/security/advisories.json` by
    default), OSV records written by `scripts/advisory_snapshot` from a checkout of
    github/advisory-database, so the check runs offline. Past that age, advisories published since
    are unknown to it. Its file, source, date and age go into the evidence.

    When it fails: Refresh it with `scripts/advisory_snapshot` from a current checkout of
    github/advisory-database (or a folder of OSV records), or point `patches.advisories_file` in the
    profile's `[expectations]` at a newer file.
    """
    evidence.update(source=advisory_data.source, advisories=len(advisory_data.vulns))
    _judge_age(
        advisory_data,
        "advisory data",
        "advisories published since are unknown to it",
        "scripts/advisory_snapshot or point patches.advisories_file",
        expect,
        evidence,
    )


@pytest.mark.weekly
@pytest.mark.severity("critical")
def check_api_dependencies_free_of_advisories(advisory_data, expect, evidence):
    """No package the deployed API's build holds is covered by an advisory of
    `patches.advisory_severities`.

    The severities are critical, high and moderate by default.

    The list is `patches.api_dependencies_file`: the package-lock.json of the build that is
    deployed, or its CycloneDX or SPDX JSON SBOM, every package in it (transitive ones too) with
    where it is installed. Each is judged against `patches.advisories_file` (OSV's format, dated;
    the guide's libraries among them: jsonwebtoken, koa, helmet, ws, pg, the rate limiter).
    Advisories of other severities, and the data's date and age, go into the evidence; a list with
    no versioned package fails, as nothing could be judged.

    When it fails: Upgrade each package named to the fixed release given (`npm install
    PACKAGE@VERSION`, or `npm update` and an override for a transitive one), rebuild, run the tests
    and deploy; confirm with `npm audit` on the build. An advisory that does not apply to how the
    API uses the package is waived with an owner, an expiry and why.
    """
    path = expect["patches.api_dependencies_file"]
    if not path:
        pytest.skip(
            "not configured: expectations.patches.api_dependencies_file (the deployed API's"
            " package-lock.json or SBOM)"
        )
    kind, packages = dependencies.read(Path(path))
    today, severities = _today(), {s.lower() for s in expect["patches.advisory_severities"]}
    found, unordered = advisory_data.findings(packages)
    failing = [f for f in found if f.severity in severities]
    evidence.update(
        file=path,
        format=kind,
        packages=len(packages),
        advisory_data=advisory_data.describe(today),
        below_the_line=[f.describe() for f in found if f.severity not in severities],
        unordered_versions=[f"{p.name} {p.version}" for p in unordered],
    )
    assert packages, (
        f"{path} ({kind}) lists no package with a version: nothing could be judged against the"
        " advisories"
    )
    order = {s: n for n, s in enumerate(advisories.SEVERITIES)}
    failing.sort(key=lambda f: (order.get(f.severity, len(order)), f.package.name))
    assert not failing, (
        f"{len(failing)} advisor{'y covers' if len(failing) == 1 else 'ies cover'} the API's"
        f" dependencies in {path}: "
        + "; ".join(f.describe() for f in failing[:3])
        + (f"; and {len(failing) - 3} more" if len(failing) > 3 else "")
        + f" (upgrade to the fixed releases and redeploy; {advisory_data.describe(today)})"
    )
