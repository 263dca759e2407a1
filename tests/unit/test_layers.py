"""The import layers hold (pyproject.toml's [tool.importlinter] contracts): clients below probes below the plugin
and the front ends, no cycle among them, the reports never importing the plugin back, the sandbox's control code
apart from the API it serves, the checks importing no machinery."""

import subprocess
import sys
from pathlib import Path

from nbaverify.shipped import CHECKOUT


def test_every_layer_contract_is_kept():
    linter = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(linter), "--no-cache"], cwd=CHECKOUT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
    assert "0 broken" in done.stdout


def test_no_two_test_files_share_a_name():
    """Without packages, pytest imports test files by their name: two of one name in two folders clash."""
    names = [path.name for path in (CHECKOUT / "tests").rglob("test_*.py")]
    assert sorted({name for name in names if names.count(name) > 1}) == []
