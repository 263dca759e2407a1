"""Rule: a pid file names our service only while that pid is a process whose command line holds
every marker; pids get reused, and after a crash a stale file may name anything.

Found in CI: a stale kube-controller-manager pid had become a thread of another sandbox's
kube-controller-manager (/proc answers for thread ids too), so the sandbox took its own for running
and never started it. Found on a self-test sandbox left from an earlier day: a stale Prometheus pid
had become a kernel thread (a kworker, whose command line is empty, as a process's is in execve),
so the sandbox reloaded a Prometheus that did not run ("Connection refused").
"""

import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from nbaverify import procs

# this process's own argv[0], as /proc shows it
OURS = Path("/proc/self/cmdline").read_bytes().split(b"\0")[0].decode()


def pid_file(tmp_path, pid: int):
    path = tmp_path / "service.pid"
    path.write_text(f"{pid}\n")
    return path


def test_a_live_process_with_every_marker_is_ours(tmp_path):
    assert procs.read_pid(pid_file(tmp_path, os.getpid()), OURS) == os.getpid()


def test_a_process_missing_one_marker_is_not(tmp_path):
    path = pid_file(tmp_path, os.getpid())
    assert procs.read_pid(path, OURS, "/another/sandbox/k8s/") is None


def test_a_thread_of_a_matching_process_is_not_a_process(tmp_path):
    seen, done = [], threading.Event()

    def thread():
        seen.append(threading.get_native_id())
        done.wait(10)

    worker = threading.Thread(target=thread)
    worker.start()
    try:
        while not seen:
            pass
        assert seen[0] != os.getpid()
        assert procs.read_pid(pid_file(tmp_path, seen[0]), OURS) is None
    finally:
        done.set()
        worker.join()


def kernel_thread() -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if "\nPPid:\t2\n" in status and not (entry / "cmdline").read_bytes():
                return int(entry.name)
    return None


def test_a_kernel_thread_is_not_ours_though_its_command_line_is_empty(tmp_path):
    pid = kernel_thread()
    if pid is None:
        pytest.skip("no kernel thread visible here (a container's own pid namespace)")
    assert procs.read_pid(pid_file(tmp_path, pid), "prometheus --config") is None


def test_a_stale_or_unreadable_file_names_nothing(tmp_path):
    assert procs.read_pid(tmp_path / "missing.pid", "x") is None
    (tmp_path / "bad.pid").write_text("not a pid")
    assert procs.read_pid(tmp_path / "bad.pid", "x") is None


def test_an_exited_process_not_yet_reaped_is_gone(tmp_path):
    child = subprocess.Popen(["sleep", "0"])
    try:
        status = Path(f"/proc/{child.pid}/status")
        deadline = time.monotonic() + 10
        while "State:\tZ" not in status.read_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert procs.read_pid(pid_file(tmp_path, child.pid), "sleep") is None
    finally:
        child.wait()
