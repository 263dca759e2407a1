"""Rule: a gate run does not import what only other tiers need (Hypothesis: the quarterly fuzzing;
Locust: load), nor httpx's command-line client (click, rich), which nothing calls."""

import json
import subprocess
import sys

PROBE = """
import json, sys
from nbaverify.cli import main
try:
    main(['check', 'gate', '--target', sys.argv[1], '--report-dir', sys.argv[2],
          '--', '--collect-only', '-q'])
except SystemExit:
    pass
heavy = ('hypothesis', 'locust', 'gevent', 'httpx._main', 'rich', 'click')
assert 'httpx' in sys.modules
print(json.dumps(sorted(name for name in heavy if sys.modules.get(name))))
"""


def in_a_child(tmp_path, script: str, *args: str) -> subprocess.CompletedProcess:
    """The script in a fresh interpreter (what it imports and how it collects are its own), given a
    staging profile with an [api] section and then `args`."""
    profile = tmp_path / "p.toml"
    profile.write_text(
        'name = "p"\nenvironment = "staging"\n[api]\nbase_url = "http://127.0.0.1:9"\n'
        'jwt_secret_env = "NBAVERIFY_TEST_JWT_SECRET"\n'
    )
    return subprocess.run(
        [sys.executable, "-c", script, str(profile), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NBAVERIFY_TEST_JWT_SECRET": "x" * 40},
        cwd=tmp_path,
    )


def test_collecting_the_gate_imports_neither_hypothesis_nor_locust_nor_httpx_cli(tmp_path):
    done = in_a_child(tmp_path, PROBE, str(tmp_path / "reports"))
    # collected
    assert "test_jwt.py: " in done.stdout and "test_api_input.py: " in done.stdout, (
        done.stdout + done.stderr
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [], done.stdout


GC_PROBE = """
import gc, json, sys
from nbaverify.cli import main
seen = []
gc.callbacks.append(lambda phase, info: phase == "start" and seen.append(gc.isenabled()))
for target in sys.argv[1:3]:
    main(['check', 'gate', '--target', target, '--report-dir', sys.argv[3],
          '--', '--collect-only', '-q'])
    seen.append(("after", gc.isenabled(), gc.get_freeze_count()))
print(json.dumps(seen))
"""


def test_start_up_runs_without_the_cyclic_gc_and_is_frozen_for_the_checks(tmp_path):
    """The CLI turns the collector off for start-up and collection and back on for the checks,
    with start-up's objects frozen; a run that stops before pytest turns it back on too."""
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    done = in_a_child(tmp_path, GC_PROBE, str(broken), str(tmp_path / "reports"))
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    runs = [number for number, entry in enumerate(seen) if isinstance(entry, list)]
    assert [seen[at][1] for at in runs] == [True, True], done.stdout + done.stderr
    assert seen[runs[0]][2] > 100_000, seen[runs[0]]  # start-up's objects, frozen
    # with the collector on, start-up alone set off about 180 collections
    assert seen[: runs[0]].count(True) < 20, seen[: runs[0]]
