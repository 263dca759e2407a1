"""The reference APIs' fault switches are defined once (api_flags.json) and honoured by both."""

import re
from pathlib import Path

import pytest

from nbaverify.sandbox import apis, control
from nbaverify.sandbox.faults import CATALOGUE

SANDBOX = Path(apis.__file__).parent


def used_flags(sources: list[Path], pattern: str) -> set[str]:
    return {flag for path in sources for flag in re.findall(pattern, path.read_text())}


def test_both_implementations_honour_exactly_the_flags_defined():
    defined = set(control.flags()["flags"])
    python = used_flags(
        [*(SANDBOX / "api").glob("*.py"), SANDBOX / "api" / "__main__.py"],
        r"""\.on\(["']([a-z0-9_]+)["']\)""",
    )
    node = used_flags([SANDBOX / "node_api" / "server.js"], r"""\.on\(["']([a-z0-9_]+)["']\)""")
    assert python == defined, (
        f"python API: unused {sorted(defined - python)}, undefined {sorted(python - defined)}"
    )
    assert node == defined, (
        f"node API: unused {sorted(defined - node)}, undefined {sorted(node - defined)}"
    )


def test_every_fault_flag_names_a_defined_flag():
    defined = set(control.flags()["flags"])
    for fault in CATALOGUE.values():
        assert set(fault.api_flags) <= defined, fault.name


def test_an_unknown_flag_fails_loudly():
    with pytest.raises(KeyError, match=r"api_flags\.json"):
        control.Control().on("jwt_no_verfy")


def test_the_implementation_is_chosen_by_flag_then_env_then_memory():
    assert apis.choose(None, None, environ={}).name == "python"
    assert apis.choose(None, "node", environ={}).name == "node"
    assert apis.choose(None, "node", environ={apis.ENV: "python"}).name == "python"
    assert apis.choose("node", "python", environ={apis.ENV: "python"}).name == "node"
    with pytest.raises(Exception, match="unknown API implementation 'java'; choose python or node"):
        apis.choose(None, None, environ={apis.ENV: "java"})
