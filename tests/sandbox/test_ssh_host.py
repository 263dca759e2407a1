"""The sandbox's own commands on its SSH host stand apart from the checks' connections.

The checks reach the host through testinfra, which keeps a shared connection (a master) for 60 s
after a run. A heal kills the host's sessions, that master's among them; a sandbox command sent
through the dying master failed (`mux_client_request_alive: write packet: Broken pipe`), and with it
`sandbox up`. A stopped master stands here for one that no longer answers.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess

import pytest


def _ssh(host, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ssh", "-F", str(host.ssh_config), "-p", str(host.port), *args, f"{host.user}@127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_command_does_not_go_through_a_checks_master(sandbox):
    host = sandbox.ssh_host
    if reason := host.unavailable():
        pytest.skip(f"needs the sandbox's SSH host: {reason}")
    sandbox.up([])
    # the master testinfra leaves behind: ControlMaster=auto on the host's ssh_config
    started = _ssh(host, "-o", "ControlMaster=yes", "-o", "ControlPersist=60", "-f", "-N")
    assert started.returncode == 0, started.stderr
    check = _ssh(host, "-O", "check")
    found = re.search(r"pid=(\d+)", check.stderr)
    assert found, f"no master running: {check.stderr.strip()}"
    master = int(found.group(1))
    os.kill(master, signal.SIGSTOP)
    try:
        assert host.run("echo through", timeout=10).strip() == "through"
    finally:
        os.kill(master, signal.SIGCONT)
        os.kill(master, signal.SIGTERM)
