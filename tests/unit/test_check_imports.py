"""Every name a check takes from a module of nbaverify exists there: a check's module attribute
(`logs.ERROR_LEVELS`) is only looked up when the check runs against a platform, so a name moved or
removed would otherwise surface as an error in a sandbox run, not here."""

import ast
import importlib
import importlib.util

import pytest

from nbaverify import shipped

CHECK_FILES = sorted(shipped.CHECKS.glob("test_*.py"))


def used_attributes(path) -> list[tuple[str, str, int]]:
    """(module, attribute, line) for each `alias.attr` where alias is a module imported from
    nbaverify."""
    tree = ast.parse(path.read_text())
    modules: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nbaverify"):
            for name in node.names:
                if _is_module(f"{node.module}.{name.name}"):  # `from nbaverify.probes import logs`
                    modules[name.asname or name.name] = f"{node.module}.{name.name}"
        elif isinstance(node, ast.Import):
            for name in node.names:
                if name.name.startswith("nbaverify"):
                    modules[name.asname or name.name] = name.name
    return [
        (modules[n.value.id], n.attr, n.lineno)
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in modules
    ]


def _is_module(dotted: str) -> bool:
    parent = dotted.rsplit(".", 1)[0]
    package = importlib.util.find_spec(parent)
    return (
        package is not None
        and package.submodule_search_locations is not None
        and importlib.util.find_spec(dotted) is not None
    )


@pytest.mark.parametrize("path", CHECK_FILES, ids=[p.name for p in CHECK_FILES])
def test_every_module_attribute_a_check_uses_exists(path):
    missing = [
        f"{path.name}:{line}: {module}.{attr}"
        for module, attr, line in used_attributes(path)
        if not hasattr(importlib.import_module(module), attr)
    ]
    assert not missing


def test_every_name_a_check_imports_exists():
    missing = []
    for path in CHECK_FILES:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nbaverify"):
                module = importlib.import_module(node.module)
                missing += [
                    f"{path.name}:{node.lineno}: {node.module}.{n.name}"
                    for n in node.names
                    if not hasattr(module, n.name) and not _is_module(f"{node.module}.{n.name}")
                ]
    assert not missing
