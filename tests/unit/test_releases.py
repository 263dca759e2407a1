"""Release data: which cycle a version is in, whether it ended, how far behind its latest it is."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from nbaverify import shipped
from nbaverify.errors import CheckError
from nbaverify.probes import releases

TODAY = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def snapshot():
    return releases.load(shipped.RELEASES)


def test_versions_find_their_cycle(snapshot):
    assert snapshot.cycle_of("postgresql", "15.18").cycle == "15"
    # the longest matching cycle, not "9"
    assert snapshot.cycle_of("postgresql", "9.6.24").cycle == "9.6"
    assert snapshot.cycle_of("nodejs", "v20.20.2").cycle == "20"
    assert snapshot.cycle_of("python", "3.11.7").cycle == "3.11"
    assert snapshot.cycle_of("kubernetes", "v1.36.4-nbaverify-double").cycle == "1.36"
    assert snapshot.cycle_of("kubernetes", "v2.0.0") is None


def test_end_of_life_by_date_and_by_flag(snapshot):
    assert snapshot.cycle_of("nodejs", "20.1.0").ended(TODAY)  # 2026-04-30
    assert not snapshot.cycle_of("nodejs", "24.1.0").ended(TODAY)
    # 2026-11-12: ended three weeks ago
    assert snapshot.cycle_of("postgresql", "14.20").ended(TODAY)
    assert snapshot.cycle_of("postgresql", "15.18").days_left(TODAY) == 345
    flagged = releases.Cycle("x", "1", True, "1.0", None)
    assert (
        flagged.ended(TODAY) and flagged.days_left(TODAY) is None and flagged.eol_text() == "ended"
    )


def test_releases_behind_the_cycles_latest(snapshot):
    fifteen = snapshot.cycle_of("postgresql", "15.0")
    assert fifteen.latest == "15.19"
    assert [releases.releases_behind(v, fifteen) for v in ("15.19", "15.18", "15.10", "15.20")] == [
        0,
        1,
        9,
        0,
    ]
    assert releases.numbers("15.18 (Debian 15.18-0+deb12u1)") == (15, 18)
    with pytest.raises(CheckError):
        releases.numbers("unknown")


def test_the_shipped_snapshot_is_endoflife_dates_fields(snapshot):
    raw = json.loads(shipped.RELEASES.read_text())
    assert set(raw["products"]) == {"postgresql", "nodejs", "python", "kubernetes"}
    assert all(
        set(c) == {"cycle", "releaseDate", "eol", "latest", "latestReleaseDate"}
        for cycles in raw["products"].values()
        for c in cycles
    )
    assert snapshot.taken == dt.date.fromisoformat(raw["taken"])


def test_a_malformed_file_is_one_line_naming_it(tmp_path):
    bad = tmp_path / "releases.json"
    bad.write_text('{"taken": "2026-08-22"}')
    with pytest.raises(
        CheckError, match=r"releases\.json is not release data in endoflife\.date's fields"
    ):
        releases.load(bad)
    with pytest.raises(CheckError, match="does not exist"):
        releases.load(tmp_path / "missing.json")


def test_a_runtimes_own_image_names_its_version():
    assert releases.runtime_image("node:22.11-alpine") == ("nodejs", "22.11")
    assert releases.runtime_image("docker.io/library/python:3.11.7-slim") == ("python", "3.11.7")
    assert releases.runtime_image("registry.example.com:5000/node:20@sha256:abc") == (
        "nodejs",
        "20",
    )
    # the app's own: says nothing
    assert releases.runtime_image("registry.example.com/nba-stats/api:1.8.2") is None
    assert releases.runtime_image("node:lts-alpine") is None  # a moving tag names no version


def test_without_a_reported_runtime_the_check_reads_the_api_image(tmp_path):
    """check_api_runtime_supported's second way in, with a stand-in API that names no runtime (a
    test double)."""
    import types

    from checks.test_patch_currency import check_api_runtime_supported
    from nbaverify.clients.k8s import ManifestSource

    (tmp_path / "api.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: nba}\n"
        "spec: {template: {spec: {containers: [{name: api, image: 'node:20.18-alpine'}]}}}\n"
    )
    reply = types.SimpleNamespace(
        status_code=200, json=lambda: {"status": "ok", "checks": {}}, text="{}"
    )
    api = types.SimpleNamespace(get=lambda path: reply, url=lambda path: f"https://api{path}")
    request = types.SimpleNamespace(getfixturevalue=lambda name: ManifestSource(tmp_path, "nba"))
    target = types.SimpleNamespace(profile=types.SimpleNamespace(kubernetes=object()))
    expect = {"api.health_detailed_path": "/health/detailed", "patches.api_deployment": "api"}
    with pytest.raises(
        AssertionError,
        match=r"nba/Deployment/api container api \(image node:20\.18-alpine\) runs nodejs "
        r"20\.18, whose cycle 20 reached its end of life on 2026-04-30",
    ):
        check_api_runtime_supported(
            api, expect, releases.load(shipped.RELEASES), request, target, {}
        )


def test_a_release_newer_than_the_data_is_not_unknown(tmp_path):
    """A cluster upgraded after the snapshot was taken (v1.37 against data that knows 1.36) has not
    reached its end of life as far as the data can tell; a version the data places nowhere else
    still is unknown."""
    data = tmp_path / "releases.json"
    data.write_text(
        '{"taken": "2026-08-22", "products": {"kubernetes": ['
        '{"cycle": "1.36", "eol": "2027-06-28", "latest": "1.36.4"},'
        '{"cycle": "1.35", "eol": "2027-02-28", "latest": "1.35.8"}]}}'
    )
    snapshot = releases.load(data)
    assert snapshot.cycle_of("kubernetes", "v1.37.2") is None
    assert snapshot.newer_than_known("kubernetes", "v1.37.2") and snapshot.newer_than_known(
        "kubernetes", "2.0"
    )
    assert not snapshot.newer_than_known("kubernetes", "v1.34.1") and not snapshot.newer_than_known(
        "kubernetes", "1.36.9"
    )
