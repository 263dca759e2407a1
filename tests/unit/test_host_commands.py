"""Every command on a host has a time limit: testinfra waits for its process without one, and a
session that hangs after login, or a df of a hung network mount, held a run forever."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nbaverify import procs
from nbaverify.clients import hosts
from nbaverify.errors import CheckError


@pytest.fixture(autouse=True)
def fresh_hosts(monkeypatch):
    """testinfra keeps one host a URL, for the process: each test opens its own."""
    from testinfra.host import Host

    monkeypatch.setattr(Host, "_host_cache", {})


def test_a_command_that_finishes_is_answered_as_testinfra_answers_it():
    host = hosts.open_host("local://", "local://", 10)
    done = host.run("echo %s; echo err >&2; exit 3", "it's")
    assert (done.rc, done.stdout, done.stderr) == (3, "it's\n", "err\n")
    assert host.file("/proc/self/status").exists


def test_a_command_past_its_time_is_stopped_and_named(tmp_path):
    host = hosts.open_host("local://", "local://", 0.5)
    pid_file = tmp_path / "pid"
    started = time.monotonic()
    with pytest.raises(CheckError) as caught:
        host.run(f"sh -c 'echo $$ > {pid_file}; exec sleep 30'")
    assert time.monotonic() - started < 5
    assert str(caught.value) == (
        f"on local://, `sh -c 'echo $$ > {pid_file}; exec sleep 30'` did not finish within 0.5s"
        " (hosts.command_timeout_s)"
    )
    # the command's own child, not only the shell testinfra starts, is gone
    pid = int(pid_file.read_text())
    procs.wait_until(
        lambda: not Path(f"/proc/{pid}").exists() or procs._is_zombie(pid),
        1,
        f"sleep (pid {pid}) to be gone",
    )


def test_a_host_is_bounded_once_however_often_it_is_opened():
    first = hosts.open_host("local://", "local://", 5)
    run = first.backend.run
    again = hosts.open_host("local://", "local://", 5)
    assert again is first and again.backend.run is run
