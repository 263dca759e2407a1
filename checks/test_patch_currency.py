"""The weekly security-patch currency: what runs, against dated release data (endoflife.date's fields).

PostgreSQL primary and replica (`server_version_num`): a supported major, its end of life not near,
its minor not behind the latest known by more than `patches.max_releases_behind`, both servers on the
same release. The API's runtime as `/health/detailed` reports it, and the Kubernetes API server and
every kubelet, on supported releases. The data is a snapshot shipped with the suite
(fixtures/releases/endoflife.json), so the checks run offline; its date is in every result.

Guide: Maintenance Schedule / Weekly Tasks (Update security patches).
"""

import datetime as dt
from pathlib import Path

import pytest

from nbaverify.clients.k8s import ref
from nbaverify.probes import health, releases

pytestmark = [pytest.mark.area("security"), pytest.mark.runbook("Maintenance Schedule / Weekly Tasks")]

RUNTIMES = {"node": "nodejs", "nodejs": "nodejs", "python": "python", "cpython": "python"}


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@pytest.fixture(scope="module")
def snapshot(expect) -> releases.Snapshot:
    return releases.load(Path(expect["patches.releases_file"]))


@pytest.fixture(scope="module")
def postgres(db, target, request) -> list[tuple[str, str]]:
    """(server, version) of the primary, and of the replica where the profile names one."""
    servers = [db] + ([request.getfixturevalue("replica")] if target.secret("database.replica_dsn_env") else [])
    found = []
    for server in servers:
        number = int(server.single("SELECT current_setting('server_version_num') AS n")["n"])
        found.append((f"{server.role} {server.where}", f"{number // 10000}.{number % 10000}"))
    return found


def _cycle(snapshot, product: str, version: str, where: str, today: dt.date) -> releases.Cycle | None:
    """The version's cycle; None for a release newer than every cycle the data knows (not ended, as far as it
    can tell). A version the data places nowhere else is a finding."""
    cycle = snapshot.cycle_of(product, version)
    if cycle is None and snapshot.newer_than_known(product, version):
        return None
    assert cycle is not None, (f"{where} runs {product} {version}, a release the {snapshot.describe(today)} does not know "
                               f"(supported: {', '.join(snapshot.supported(product, today))})")
    return cycle


def _ended(snapshot, product: str, running: list[tuple[str, str]], today: dt.date, evidence: dict) -> list[str]:
    problems = []
    for where, version in running:
        cycle = _cycle(snapshot, product, version, where, today)
        if cycle is None:
            evidence[where] = f"{product} {version}: newer than every cycle the {snapshot.describe(today)} knows"
            continue
        evidence[where] = f"{product} {version} (cycle {cycle.cycle}, end of life {cycle.eol_text()})"
        if cycle.ended(today):
            problems.append(f"{where} runs {product} {version}, whose cycle {cycle.cycle} reached its end of life "
                            f"on {cycle.eol_text()}")
    evidence["release_data"] = snapshot.describe(today)
    return problems


@pytest.mark.weekly
@pytest.mark.severity("warning")
def check_release_data_current(snapshot, expect, evidence):
    today, limit = _today(), expect["patches.max_snapshot_age_days"]
    evidence.update(file=str(snapshot.path), taken=snapshot.taken.isoformat(), age_days=snapshot.age_days(today))
    assert snapshot.age_days(today) <= limit, (
        f"the release data {snapshot.path} is {snapshot.age_days(today)} days old (taken {snapshot.taken}, limit "
        f"{limit}): newer releases and end-of-life dates are unknown to it; refresh it with scripts/release_snapshot "
        "or point patches.releases_file at a newer one")


@pytest.mark.weekly
@pytest.mark.severity("critical")
def check_postgres_supported(snapshot, postgres, evidence):
    today = _today()
    problems = _ended(snapshot, "postgresql", postgres, today, evidence)
    assert not problems, (f"{'; '.join(problems)}: no more security fixes; upgrade to a supported major "
                          f"({', '.join(snapshot.supported('postgresql', today))}; {snapshot.describe(today)})")


@pytest.mark.weekly
@pytest.mark.severity("warning")
def check_postgres_eol_distant(snapshot, postgres, expect, evidence):
    today, warn = _today(), expect["patches.eol_warning_days"]
    near = []
    for where, version in postgres:
        cycle = _cycle(snapshot, "postgresql", version, where, today)
        if cycle is None:
            evidence[where] = f"{version}: newer than every cycle the release data knows"
            continue
        left = cycle.days_left(today)
        evidence[where] = f"{version}: {left if left is not None else 'no'} days to end of life ({cycle.eol_text()})"
        if left is not None and 0 < left < warn:
            near.append(f"{where} runs PostgreSQL {version}: cycle {cycle.cycle} ends on {cycle.eol_text()}, in {left} days")
    evidence["release_data"] = snapshot.describe(today)
    assert not near, f"{'; '.join(near)} (warning at {warn} days; {snapshot.describe(today)}): plan the major upgrade"


@pytest.mark.weekly
@pytest.mark.severity("warning")
def check_postgres_minor_current(snapshot, postgres, expect, evidence):
    today, allowed = _today(), expect["patches.max_releases_behind"]
    behind = []
    for where, version in postgres:
        cycle = _cycle(snapshot, "postgresql", version, where, today)
        if cycle is None:
            evidence[where] = f"{version}: newer than every cycle the release data knows"
            continue
        count = releases.releases_behind(version, cycle)
        evidence[where] = f"{version}: {count} release(s) behind {cycle.latest} ({cycle.latest_date})"
        if count > allowed:
            behind.append(f"{where} runs PostgreSQL {version}, {count} releases behind {cycle.latest} "
                          f"(released {cycle.latest_date})")
    evidence["release_data"] = snapshot.describe(today)
    assert not behind, (f"{'; '.join(behind)}: at most {allowed} allowed (patches.max_releases_behind; "
                        f"{snapshot.describe(today)}): minor releases carry the security fixes")


@pytest.mark.weekly
@pytest.mark.severity("warning")
def check_postgres_servers_match(postgres, snapshot, evidence):
    if len(postgres) < 2:
        pytest.skip("not configured: database.replica_dsn_env")
    evidence.update(dict(postgres), release_data=snapshot.describe(_today()))
    versions = {version for _, version in postgres}
    assert len(versions) == 1, (f"{' and '.join(f'{where} runs {version}' for where, version in postgres)}: a replica "
                                "should run the primary's release (one of them missed a patch)")


def _runtime_from_images(request, target, deployment: str) -> tuple[str, str, str] | None:
    """(product, version, where) from the api Deployment's image when it is a runtime's own (node:22-alpine)."""
    if target.profile.kubernetes is None:
        return None
    k8s = request.getfixturevalue("k8s")
    for workload in k8s.list("Deployment"):
        if workload["metadata"]["name"] != deployment:
            continue
        for container in workload.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            found = releases.runtime_image(container.get("image", ""))
            if found:
                return found[0], found[1], f"{ref(workload, container['name'])} (image {container['image']})"
    return None


@pytest.mark.weekly
@pytest.mark.severity("critical")
def check_api_runtime_supported(api, expect, snapshot, request, target, evidence):
    """The runtime /health/detailed reports, else the one the api Deployment's image names (node:22-alpine)."""
    path = expect["api.health_detailed_path"]
    report = health.detailed(api, path)
    runtime = report.runtime or {}
    product = RUNTIMES.get(str(runtime.get("name", "")).lower())
    if product and runtime.get("version"):
        running = (product, str(runtime["version"]), f"the API at {api.url(path)}")
    else:
        running = _runtime_from_images(request, target, expect["patches.api_deployment"])
    if running is None:
        pytest.skip(f"not reported: GET {api.url(path)} names no runtime ({{\"runtime\": {{\"name\", \"version\"}}}}, "
                    "beyond Contract 2) and the api image is not a runtime's own: its base image is a person's to check")
    product, version, where = running
    today = _today()
    problems = _ended(snapshot, product, [(where, version)], today, evidence)
    assert not problems, (f"{'; '.join(problems)}: no more security fixes; rebuild it on a supported release "
                          f"({', '.join(snapshot.supported(product, today)[:4])}; {snapshot.describe(today)})")


@pytest.mark.weekly
@pytest.mark.severity("critical")
def check_kubernetes_supported(k8s, snapshot, evidence):
    k8s.require_live("the server and kubelet versions")
    version = k8s.server_version()  # connects: the server's address is known after it
    running = [(f"the Kubernetes API server {k8s.server}", version)]
    running += [(f"Node/{node['metadata']['name']} (kubelet)", node.get("status", {}).get("nodeInfo", {}).get(
        "kubeletVersion", "")) for node in k8s.list("Node")]
    today = _today()
    problems = _ended(snapshot, "kubernetes", running, today, evidence)
    assert not problems, (f"{'; '.join(problems)}: no more security fixes; upgrade to a supported release "
                          f"({', '.join(snapshot.supported('kubernetes', today)[:4])}; {snapshot.describe(today)})")
