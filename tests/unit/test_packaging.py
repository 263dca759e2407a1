"""The wheel's package list covers every package of nbaverify/ (find() cannot see the mapped
ones)."""

import tomllib

from setuptools import find_packages

from nbaverify import shipped
from nbaverify.config import EXPECTATIONS_FILE


def pyproject() -> dict:
    return tomllib.loads((shipped.CHECKS.parent / "pyproject.toml").read_text())


def test_every_package_of_nbaverify_ships():
    listed = set(pyproject()["tool"]["setuptools"]["packages"])
    found = set(
        find_packages(
            str(shipped.CHECKS.parent),
            include=["nbaverify", "nbaverify.*"],
            exclude=["nbaverify.sandbox.node_api*"],
        )
    )
    assert found - listed == set()
    assert {"nbaverify_checks", "nbaverify_load", "nbaverify_data"} <= listed


def test_the_shipped_data_is_found_through_one_module():
    assert (shipped.CHECKS / "test_health.py").is_file() and shipped.LOCUSTFILE.is_file()
    assert EXPECTATIONS_FILE == shipped.EXPECTATIONS and EXPECTATIONS_FILE.is_file()
