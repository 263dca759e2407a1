"""The import layers hold (pyproject.toml's [tool.importlinter] contracts): clients below probes
below the plugin and the front ends, no cycle among them, the reports never importing the plugin
back, the sandbox's control code apart from the API it serves, the checks importing no machinery."""

import ast
import subprocess
import sys
from pathlib import Path

from nbaverify.shipped import CHECKOUT


def test_every_layer_contract_is_kept():
    linter = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run(
        [str(linter), "--no-cache"], cwd=CHECKOUT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
    assert "0 broken" in done.stdout


def test_no_two_test_files_share_a_name():
    """Without packages, pytest imports test files by their name: two of one name in two folders
    clash."""
    names = [path.name for path in (CHECKOUT / "tests").rglob("test_*.py")]
    assert sorted({name for name in names if names.count(name) > 1}) == []


def test_every_public_class_says_what_it_is():
    """Every public class of the package has a docstring saying what an instance is or holds (the
    Node API's node_modules, installed by npm, are not ours and are left out)."""
    package = CHECKOUT / "nbaverify"
    silent = []
    for path in sorted(package.rglob("*.py")):
        if "node_modules" in path.relative_to(package).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.ClassDef)
                and not node.name.startswith("_")
                and not ast.get_docstring(node)
            ):
                silent.append(f"{path.relative_to(CHECKOUT)}:{node.lineno} {node.name}")
    assert silent == []
