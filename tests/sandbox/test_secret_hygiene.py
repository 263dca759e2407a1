"""No secret value in any artifact: terminal output, summary.json, junit.xml, summary.md.

The sandbox's own secrets are the canaries (random per sandbox): its JWT secret, the role
passwords, and the DSNs that carry them. Healthy and failing runs are both searched, and a
failing run whose messages quote connection errors and forged tokens is the likelier leak.
"""

from __future__ import annotations

import pytest

from nbaverify.sandbox.secrets import SandboxSecrets


def canaries(sandbox) -> list[str]:
    secrets = SandboxSecrets.load(sandbox.layout)
    return [secrets.jwt_secret, *secrets.passwords.values(), *sandbox.environ().values()]


FAILING = ["replica_stopped", "no_security_headers", "jwt_no_verify", "sql_injection"]


@pytest.mark.parametrize("faults", [[], FAILING], ids=["healthy", "failing"])
def test_no_secret_in_any_artifact(sandbox, nbaverify, tmp_path, faults):
    sandbox.up(faults)
    report = tmp_path / "report"
    result = nbaverify("check", "all", "--report-dir", str(report))
    assert (report / "summary.json").exists(), result.err
    if faults:
        assert result.code == 1, "the failing run must fail, or it proves nothing"
    texts = {"stdout": result.out, "stderr": result.err}
    texts.update({path.name: path.read_text() for path in report.iterdir()})
    leaks = [
        (where, value[:4] + "…")
        for where, text in texts.items()
        for value in canaries(sandbox)
        if value in text
    ]
    assert not leaks, f"secret values found in: {leaks}"
    sandbox.up([])
