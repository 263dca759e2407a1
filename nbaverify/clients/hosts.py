"""Hosts through testinfra (local://, ssh://user@host, kubectl://pod...), each command bounded.

testinfra runs every command as a local process (the command itself, or `ssh ... 'command'`) and
waits for it without a limit: a session that hangs after login, or a `df` of a hung network mount,
held a run forever. Here each command gets `timeout_s`; past it the process and its children are
killed and the check says which command on which host did not finish. ssh's own failures (exit 255)
say the host is unreachable, in ssh's words. (testinfra's paramiko:// backend runs no local
process, so it has no such bound.)
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

import testinfra

from nbaverify.errors import CheckError, TargetUnreachable


class _NoAnswer(Exception):
    """A command ran past its time (raised inside testinfra's run, said by `run` outside it)."""


def open_host(url: str, where: str, timeout_s: float):
    """The testinfra host of `url`, `where` naming it in messages. Raises TargetUnreachable when it
    cannot be opened; a remote one is asked once (`true`), so an unreachable host says so at once.
    """
    try:
        found = testinfra.get_host(url)
    except Exception as exc:  # noqa: BLE001 - testinfra raises what its backend raises; one line for the report
        raise TargetUnreachable("host", where, _why(exc)) from None
    _bound(found.backend, where, timeout_s)
    if not url.startswith("local://"):
        found.run("true")
    return found


def _bound(backend, where: str, timeout_s: float) -> None:
    if getattr(backend, "nbaverify_bounded", False):  # testinfra keeps one host a URL
        return
    backend.nbaverify_bounded = True
    run = backend.run

    def run_local(command: str, *args: str):
        # as testinfra's own, with a time limit and a process group to kill when it is reached
        cmd = backend.encode(backend.quote(command, *args))
        with subprocess.Popen(
            cmd,
            shell=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        ) as process:
            try:
                stdout, stderr = process.communicate(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):  # all of it ended just now
                    os.killpg(process.pid, signal.SIGKILL)
                # not communicate(): a process that left the group (ssh's ControlPersist master)
                # may hold the pipes open
                process.wait()
                raise _NoAnswer from None
        return backend.result(process.returncode, cmd, stdout, stderr)

    def bounded_run(command: str, *args, **kwargs):
        try:
            return run(command, *args, **kwargs)
        except RuntimeError as exc:  # testinfra's ssh backend: ssh itself failed (exit 255)
            raise TargetUnreachable("host", where, _why(exc)) from None
        except _NoAnswer:
            shown = backend.quote(command, *args)
            raise CheckError(
                f"on {where}, `{shown}` did not finish within {timeout_s:g}s"
                " (hosts.command_timeout_s)"
            ) from None

    backend.run_local = run_local
    backend.run = bounded_run


def _why(exc: Exception) -> str:
    """testinfra's ssh backend raises RuntimeError(CommandResult): its stderr is the reason."""
    arg = exc.args[0] if exc.args else None
    if hasattr(arg, "stderr"):
        text = (
            getattr(arg, "stderr", "") or f"ssh exited {getattr(arg, 'rc', '?')} without saying why"
        )
    else:
        text = str(exc)
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[0].strip() if lines else type(exc).__name__
