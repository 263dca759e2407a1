"""Rule: a gate run does not import what only other tiers need (Hypothesis: the quarterly fuzzing;
Locust: load)."""

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
heavy = ('hypothesis', 'locust', 'gevent')
print(json.dumps(sorted(name for name in heavy if name in sys.modules)))
"""


def test_collecting_the_gate_imports_neither_hypothesis_nor_locust(tmp_path):
    profile = tmp_path / "p.toml"
    profile.write_text(
        'name = "p"\nenvironment = "staging"\n[api]\nbase_url = "http://127.0.0.1:9"\n'
        'jwt_secret_env = "NBAVERIFY_TEST_JWT_SECRET"\n'
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(profile), str(tmp_path / "reports")],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NBAVERIFY_TEST_JWT_SECRET": "x" * 40},
        cwd=tmp_path,
    )
    # collected
    assert "test_jwt.py: " in done.stdout and "test_api_input.py: " in done.stdout, (
        done.stdout + done.stderr
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [], done.stdout
