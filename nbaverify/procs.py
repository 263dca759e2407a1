"""Process plumbing: unprivileged commands (PostgreSQL refuses root), ports, pid files, waiting."""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from nbaverify.errors import MissingBinary, PortInUse, SandboxError

SERVICE_ACCOUNT = "postgres"  # initdb refuses root; Debian's postgresql-common creates this account


def service_user() -> str | None:
    """The account to run PostgreSQL as: ourselves unless we are root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_ACCOUNT)
    except KeyError:
        raise MissingBinary(
            f"the {SERVICE_ACCOUNT!r} account",
            "PostgreSQL refuses to run as root; install postgresql (it creates the account) "
            "or run nbaverify as an unprivileged user",
        ) from None
    return SERVICE_ACCOUNT


def chown_to_service(path: Path) -> None:
    user = service_user()
    if user:
        entry = pwd.getpwnam(user)
        for root, dirs, files in os.walk(path):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in dirs + files:
                os.chown(
                    os.path.join(root, name), entry.pw_uid, entry.pw_gid, follow_symlinks=False
                )


def run(
    argv: Sequence[str], step: str, as_service: bool = False, timeout: float = 120, **kwargs
) -> str:
    """Run a command to completion; a failure is a SandboxError naming the step and its stderr
    tail."""
    user = service_user() if as_service else None
    full = ["runuser", "-u", user, "--", *argv] if user else list(argv)
    try:
        done = subprocess.run(full, capture_output=True, text=True, timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired:
        raise SandboxError(f"{step}: timed out after {timeout:.0f}s ({argv[0]})") from None
    except FileNotFoundError:
        # the wrapper (runuser) or the program itself: name the one that is missing
        missing = full[0] if shutil.which(full[0]) is None else argv[0]
        raise MissingBinary(missing, f"needed to {step}") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise SandboxError(f"{step}: {Path(argv[0]).name} exited {done.returncode}: {tail[0]}")
    return done.stdout


def require_binary(name: str, hint: str) -> str:
    found = shutil.which(name)
    if not found:
        raise MissingBinary(name, hint)
    return found


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def write_atomic(path: Path, text: str) -> None:
    """Replace a file whole (write beside it, then rename): a reader polling it never sees half of
    it."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (secrets, tokens, an env file), whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)


def await_port_free(port: int, service: str, timeout: float = 65.0, **hint) -> None:
    """For a server of ours being restarted: the connections it just closed may hold its port in
    TIME_WAIT for up to a minute (Linux), which a new bind can refuse; wait that out, else
    PortInUse.
    """
    deadline = time.monotonic() + timeout
    # nobody to be seen holding it: a process still letting go of it
    unseen_until = time.monotonic() + 3
    while not port_is_free(port):
        holder = port_holder(port)
        passing = "time-wait" in holder if holder else time.monotonic() < unseen_until
        if time.monotonic() > deadline or not passing:
            raise PortInUse(port, service, holder=holder, **hint)
        time.sleep(0.5 if holder else 0.1)


def ensure_port_free(port: int, service: str, **hint) -> None:
    if not port_is_free(port):
        raise PortInUse(port, service, holder=port_holder(port), **hint)


def port_holder(port: int) -> str | None:
    """Who holds a local TCP port, from `ss` (iproute2): 'postgres (pid 812) listening', or the
    connection whose source port it is ('python3 (pid 77), the source port of a connection to
    10.0.0.5:443'); None if unknown.
    """
    ss = shutil.which("ss")
    if not ss:
        return None
    try:
        out = subprocess.run(
            [ss, "-Htanp", f"sport = :{port}"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    rows = [line.split() for line in out.splitlines() if line.strip()]
    rows.sort(key=lambda row: row[0] != "LISTEN")  # a listener first: it is what to stop
    for row in rows:
        state, peer = row[0], row[4] if len(row) > 4 else "?"
        users = re.search(r'\(\("([^"]+)",pid=(\d+)', " ".join(row[5:]))
        who = (
            f"{users.group(1)} (pid {users.group(2)})"
            if users
            else "a process this user cannot see"
        )
        if state == "LISTEN":
            return f"{who} listening"
        return f"{who}, the source port of a connection to {peer} ({state.lower()})"
    return None


def read_pid(pid_file: Path, *expect_in_cmdline: str) -> int | None:
    """The live pid recorded in pid_file, if it is a process whose command line still holds every
    marker (pids get reused: after a crash or a reboot, a stale file may name any process)."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        cmdline = (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
        status = dict(
            line.split(":\t", 1)
            for line in Path(f"/proc/{pid}/status").read_text().splitlines()
            if ":\t" in line
        )
    except (OSError, ValueError, IndexError):
        return None
    # /proc also answers for a thread's id, with its process's command line: a stale pid that is now
    # a thread of the same binary run by another sandbox passed for ours. Exited but not yet reaped
    # (Z) is as good as gone.
    if status.get("Tgid") != str(pid) or status.get("State", "Z").startswith("Z"):
        return None
    if not cmdline:
        # a kernel thread has no command line either (a stale pid reused by a kworker was taken for
        # a running Prometheus); any other empty one is a process still in execve (seen right after
        # spawn): ours, starting
        return None if _is_kernel_thread(status) else pid
    return pid if all(marker in cmdline for marker in expect_in_cmdline) else None


def _is_kernel_thread(status: dict[str, str]) -> bool:
    # Kthread: since Linux 6.1; before it, every kernel thread but kthreadd (pid 2) is its child
    return status.get("Kthread") == "1" or status.get("PPid") == "2" or status.get("Pid") == "2"


def _is_zombie(pid: int) -> bool:
    """Exited but not yet reaped by its parent (init, for our services): as good as gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def spawn(
    argv: Sequence[str], log_file: Path, pid_file: Path, env: dict[str, str] | None = None
) -> int:
    """Start a long-running service that outlives us, logging to a file; returns its pid.

    A shell starts it in the background in a session of its own, prints its pid and exits, so the
    service is nobody's child: no zombie for us to reap, no Popen left to warn at our exit.
    """
    log_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["sh", "-c", 'setsid "$@" >>"$0" 2>&1 </dev/null & echo $!', str(log_file), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=10,
        check=False,
    )
    try:
        pid = int(done.stdout.strip())
    except ValueError:
        raise SandboxError(
            f"could not start {Path(argv[0]).name}: {done.stderr.strip() or 'no pid reported'}"
        ) from None
    pid_file.write_text(f"{pid}\n")
    return pid


def stop_pid(pid: int, timeout: float = 10) -> None:
    """SIGTERM, and SIGKILL after timeout seconds (0: at once); returns once the process is
    gone."""
    try:
        os.kill(pid, signal.SIGTERM if timeout else signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    # gone, with its sockets, before the caller binds its ports again
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists() and not _is_zombie(pid):
        time.sleep(0.05)


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05
) -> None:
    """Poll until predicate() is true; a SandboxError saying what never happened otherwise."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        try:
            if predicate():
                return
        except SandboxError:
            raise
        except Exception as exc:  # noqa: BLE001 - a service still starting may raise anything; keep polling
            last_error = (
                f" (last error: {type(exc).__name__}:"
                f" {str(exc).splitlines()[0] if str(exc) else ''})"
            )
        if time.monotonic() >= deadline:
            raise SandboxError(f"timed out after {timeout:.0f}s waiting for {what}{last_error}")
        time.sleep(interval)


def pg_bindir() -> Path:
    """Where initdb/pg_ctl live: NBAVERIFY_PG_BINDIR, `pg_config --bindir`, or Debian's layout."""
    candidates = [os.environ.get("NBAVERIFY_PG_BINDIR")]
    if shutil.which("pg_config"):
        out = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, timeout=10, check=False
        )
        candidates.append(out.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in filter(None, candidates):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    raise MissingBinary(
        "PostgreSQL server binaries (initdb, pg_ctl)",
        "install them (apt-get install postgresql) or point NBAVERIFY_PG_BINDIR at their directory",
    )
