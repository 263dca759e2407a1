"""Rule: a shipped check is known as checks/<module>::<name> however its path was reached; a team's
check is not a shipped one."""

from nbaverify import shipped


def test_a_shipped_check_has_its_stable_id():
    assert (
        shipped.check_id(shipped.CHECKS / "test_jwt.py", "check_token_refused[none]")
        == "checks/test_jwt.py::check_token_refused[none]"
    )


def test_a_shipped_check_reached_through_a_link_has_the_same_id(tmp_path):
    (tmp_path / "linked").symlink_to(shipped.CHECKS)
    assert (
        shipped.check_id(tmp_path / "linked" / "test_jwt.py", "check_signing_secret_strong")
        == "checks/test_jwt.py::check_signing_secret_strong"
    )


def test_a_teams_check_is_not_shipped(tmp_path):
    (tmp_path / "test_ours.py").write_text("")
    assert shipped.check_id(tmp_path / "test_ours.py", "check_ours") is None
    # asked again (the answer is kept a module): still not shipped
    assert shipped.check_id(tmp_path / "test_ours.py", "check_other") is None
