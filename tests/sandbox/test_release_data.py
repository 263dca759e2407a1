"""The release data's and the advisories' age is judged too: a snapshot past
patches.max_snapshot_age_days fails its check, and a team's newer file (patches.releases_file,
patches.advisories_file, relative to their profile) is the one read."""

from __future__ import annotations

import datetime as dt
import json
import re

from nbaverify import shipped

PATCHES = "checks/test_patch_currency.py"


def _team_profile(sandbox, path, **patches: str):
    """The sandbox's profile with these [expectations.patches] keys set (its own section holds the
    lockfile)."""
    lines = "".join(f'{key} = "{value}"\n' for key, value in patches.items())
    path.write_text(
        sandbox.layout.target_file.read_text().replace(
            "[expectations.patches]\n", "[expectations.patches]\n" + lines, 1
        )
    )
    return path


def test_old_release_data_is_named_and_a_teams_own_file_is_read(sandbox, nbaverify, tmp_path):
    sandbox.up([])
    data = json.loads(shipped.RELEASES.read_text())
    data["taken"] = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=400)).isoformat()
    (tmp_path / "old-releases.json").write_text(json.dumps(data))
    profile = _team_profile(sandbox, tmp_path / "team.toml", releases_file="old-releases.json")
    result = nbaverify(
        "check", "all", "--target", str(profile), "--", PATCHES, env=sandbox.environ()
    )
    failing = result.not_passing()
    assert set(failing) == {f"{PATCHES}::check_release_data_current"}, result.out
    assert (
        result.outcomes()[f"{PATCHES}::check_api_dependencies_free_of_advisories"]["outcome"]
        == "passed"
    )
    assert re.match(
        r"the release data \S+old-releases\.json is 400 days old \(taken \d{4}-\d\d-\d\d, limit"
        r" 180\)",
        failing[f"{PATCHES}::check_release_data_current"],
    )
    # every other result still says how old its data is
    others = [
        c
        for cid, c in result.outcomes().items()
        if cid != f"{PATCHES}::check_release_data_current" and "advisor" not in cid
    ]
    assert all(
        "400 days old" in json.dumps(c.get("evidence", {}))
        for c in others
        if c["outcome"] == "passed"
    )


def test_an_ended_or_ending_major_fails_on_data_that_says_so(sandbox, nbaverify, tmp_path):
    """No older PostgreSQL major can run here: the real 15.x server is judged against data in which
    15 ended yesterday, or ends in 30 days (what this data will say of 15 on 2027-10-12)."""
    sandbox.up([])
    today = dt.datetime.now(dt.UTC).date()
    messages = {}
    for name, eol in (
        ("ended", today - dt.timedelta(days=1)),
        ("ending", today + dt.timedelta(days=30)),
    ):
        data = json.loads(shipped.RELEASES.read_text())
        next(c for c in data["products"]["postgresql"] if c["cycle"] == "15")["eol"] = (
            eol.isoformat()
        )
        (tmp_path / f"{name}.json").write_text(json.dumps(data))
        profile = _team_profile(sandbox, tmp_path / f"{name}.toml", releases_file=f"{name}.json")
        result = nbaverify(
            "check",
            "all",
            "--target",
            str(profile),
            "--",
            f"{PATCHES}::check_postgres_supported",
            f"{PATCHES}::check_postgres_eol_distant",
            env=sandbox.environ(),
        )
        messages[name] = result.not_passing()
    ended = messages["ended"][f"{PATCHES}::check_postgres_supported"]
    assert re.match(
        r"primary 127\.0\.0\.1:\d+/nba runs postgresql 15\.\d+, whose cycle 15 reached its end of"
        r" life on "
        r"\d{4}-\d\d-\d\d; replica .*: no more security fixes; upgrade to a supported major",
        ended,
    )
    assert set(messages["ending"]) == {f"{PATCHES}::check_postgres_eol_distant"}
    assert "cycle 15 ends on" in messages["ending"][f"{PATCHES}::check_postgres_eol_distant"]
    assert (
        "in 30 days (warning at 180 days"
        in messages["ending"][f"{PATCHES}::check_postgres_eol_distant"]
    )


def test_old_advisory_data_is_named_and_a_teams_own_file_is_read(sandbox, nbaverify, tmp_path):
    """A team's advisory file (relative to its profile) is the one read: 400 days old, its age check
    fails and the dependency check, which still judges by it, says how old it is."""
    sandbox.up([])
    data = json.loads(shipped.ADVISORIES.read_text())
    data["taken"] = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=400)).isoformat()
    (tmp_path / "old-advisories.json").write_text(json.dumps(data))
    profile = _team_profile(sandbox, tmp_path / "team.toml", advisories_file="old-advisories.json")
    result = nbaverify(
        "check",
        "all",
        "--target",
        str(profile),
        "--",
        f"{PATCHES}::check_advisory_data_current",
        f"{PATCHES}::check_api_dependencies_free_of_advisories",
        env=sandbox.environ(),
    )
    failing = result.not_passing()
    assert set(failing) == {f"{PATCHES}::check_advisory_data_current"}, result.out
    assert re.match(
        r"the advisory data \S+old-advisories\.json is 400 days old \(taken \d{4}-\d\d-\d\d, limit"
        r" 180\)",
        failing[f"{PATCHES}::check_advisory_data_current"],
    )
    evidence = result.outcomes()[f"{PATCHES}::check_api_dependencies_free_of_advisories"][
        "evidence"
    ]
    assert "400 days old" in evidence["advisory_data"]
