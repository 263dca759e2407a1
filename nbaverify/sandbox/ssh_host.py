"""The sandbox's own host, reached over SSH the way a team reaches its database hosts.

Debian's sshd on a loopback port, on keys the sandbox generates (no passwords). It starts inside
cgroups of the sandbox's (a small memory limit and CPU quota, as a pod's `limits`), so every session
and every process a session starts is held to them; and in a mount namespace of its own, where a
small tmpfs is mounted over `data_dir` as the host's data disk. Outside that namespace the same path
is an ordinary directory, so `local://` reads the machine's disk there. Processes and sockets are
the machine's: the host sees the sandbox's services as the machine does.

Where sshd, cgroup v1 or mount namespaces are not available, the host is left out with one line.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from nbaverify import procs
from nbaverify.errors import SandboxError
from nbaverify.sandbox.layout import Layout

SSHD = "/usr/sbin/sshd"
# the host's login: an account of its own whose shell reads no rc files (root's ~/.bashrc here runs
# `pyenv init`, whose rehash lock held every session for 60 s once two ran at a time)
USER = "nbaverify-host"
MEMORY_LIMIT_MIB = 256
# at 1 CPU this machine throttled the host's own ssh sessions in a third of their periods: 1.5 holds
# them
CPU_QUOTA = 1.5
CPU_PERIOD_US = 100_000
DATA_MIB = 32
CGROUP_ROOT = Path("/sys/fs/cgroup")
CONTROLLERS = ("memory", "cpu")
COMMAND_TIMEOUT_S = 30


class SshHost:
    """The sandbox's own host, over SSH: sshd on a loopback port with generated keys, held to a
    memory limit and a CPU quota in cgroups of its own, with a small tmpfs data disk in a mount
    namespace of its own. `url` is its testinfra URL, `unavailable` says why this machine cannot run
    it; the host faults run load in it and change its limits.
    """

    def __init__(self, layout: Layout):
        self.layout = layout
        self.dir = layout.root / "host"
        self.data_dir = self.dir / "data"
        self.ssh_config = self.dir / "ssh_config"
        self.client_key = self.dir / "client_key"
        self.port = layout.ssh_host_port
        self.user = USER

    @property
    def url(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}?ssh_config={self.ssh_config}&timeout=5"

    def cgroup(self, controller: str) -> Path:
        return CGROUP_ROOT / controller / f"nbaverify-host-{self.layout.port_base}"

    def unavailable(self) -> str | None:
        """Why this machine cannot run the host, in one line (None: it can)."""
        if not Path(SSHD).exists():
            return "sshd is not installed (apt-get install openssh-server)"
        if not shutil.which("unshare") or not shutil.which("ssh-keygen") or not shutil.which("ssh"):
            return (
                "unshare, ssh or ssh-keygen is missing (apt-get install util-linux openssh-client)"
            )
        if os.geteuid() != 0:
            return "mounting its data disk in a namespace of its own needs root"
        if not shutil.which("useradd") and not _has_user():
            return f"no account {USER} and no useradd to make it (apt-get install passwd)"
        for controller in CONTROLLERS:
            parent = CGROUP_ROOT / controller
            if not (parent / "cgroup.procs").exists() or not os.access(parent, os.W_OK):
                return f"no writable cgroup v1 {controller} hierarchy at {parent}"
        return None

    def pid(self) -> int | None:
        return procs.read_pid(self.layout.pid_file("ssh-host"), "sshd")

    # -- up and down ----------------------------------------------------------------------------
    def sync(self, say, fresh: bool = False) -> None:
        """Running and healthy: limits as made, no process but sshd's in its cgroups, an empty data
        disk. fresh: new cgroups too, so their counters (throttled periods) start from zero, as a
        new pod's do.
        """
        reason = self.unavailable()
        if reason:
            say(
                f"the sandbox's SSH host is left out: {reason}; its host checks run on local://"
                " only"
            )
            return
        if fresh:
            self.stop()
        self._ensure_keys()
        self._ensure_account()
        for controller in CONTROLLERS:
            self.cgroup(controller).mkdir(exist_ok=True)
        self.set_limits(CPU_QUOTA)
        # what faults started (a stopped sshd leaves its sessions' children behind)
        self.kill_sessions()
        if self.pid() is None:
            procs.ensure_port_free(self.port, "sandbox SSH host")
            self._start()  # a new namespace: a new, empty data disk
            say(
                f"SSH host on 127.0.0.1:{self.port} ({MEMORY_LIMIT_MIB} MiB, {CPU_QUOTA:g} CPU, "
                f"a {DATA_MIB} MiB data disk)"
            )
        else:
            self.run(f"rm -rf {self.data_dir}/*")

    def _ensure_account(self) -> pwd.struct_passwd:
        if not _has_user():
            # '*': no password can log in, yet the account is not locked ('!'), which sshd would
            # refuse
            procs.run(
                [
                    "useradd",
                    "--system",
                    "--shell",
                    "/bin/sh",
                    "--home-dir",
                    "/tmp",
                    "--no-create-home",
                    "--password",
                    "*",
                    USER,
                ],
                "making the SSH host's account",
            )
        return pwd.getpwnam(USER)

    def _ensure_keys(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(exist_ok=True)
        for key in (self.dir / "host_key", self.client_key):
            if not key.exists():
                procs.run(
                    ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
                    "making the SSH host's keys",
                )
        # a public key: sshd reads it as the host's login, so readable by all (the private half
        # stays 0600)
        procs.write_atomic(self.dir / "authorized_keys", (self.dir / "client_key.pub").read_text())
        os.chmod(self.dir / "authorized_keys", 0o644)
        procs.write_atomic(
            self.dir / "sshd_config",
            "\n".join(
                [
                    f"ListenAddress 127.0.0.1:{self.port}",
                    f"HostKey {self.dir / 'host_key'}",
                    f"AuthorizedKeysFile {self.dir / 'authorized_keys'}",
                    f"PidFile {self.dir / 'sshd.pid'}",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PermitRootLogin no",
                    f"AllowUsers {USER}",
                    "UsePAM no",
                    "StrictModes no",
                    "MaxStartups 50",
                    "",
                ]
            ),
        )
        procs.write_atomic(
            self.ssh_config,
            "\n".join(
                [
                    "Host *",
                    f"  IdentityFile {self.client_key}",
                    "  IdentitiesOnly yes",
                    "  BatchMode yes",
                    # the key is the sandbox's own and changes with it: a known-hosts entry would
                    # only go stale
                    "  UserKnownHostsFile /dev/null",
                    "  StrictHostKeyChecking no",
                    "  LogLevel ERROR",
                    f"  ControlPath {self.dir / 'cm-%C'}",
                    "",
                ]
            ),
        )

    def _start(self) -> None:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation directory
        enter = "; ".join(f"echo $$ > {self.cgroup(c) / 'cgroup.procs'}" for c in CONTROLLERS)
        account = pwd.getpwnam(USER)
        # the host's login writes its data disk
        owner = f"uid={account.pw_uid},gid={account.pw_gid}"
        mount = (
            f"mount -t tmpfs -o size={DATA_MIB}m,mode=0755,{owner} nbaverify-host-data"
            f" {self.data_dir}"
        )
        inner = f"{mount} && exec {SSHD} -D -e -f {self.dir / 'sshd_config'}"
        procs.spawn(
            ["sh", "-c", f"{enter}; exec unshare -m --propagation private sh -c '{inner}'"],
            self.layout.log_file("ssh-host"),
            self.layout.pid_file("ssh-host"),
        )
        procs.wait_until(
            lambda: procs.port_accepts(self.port),
            10,
            f"the SSH host to listen (see {self.layout.log_file('ssh-host')})",
        )

    def stop(self) -> None:
        """sshd and everything its sessions started; then its cgroups go."""
        pid = self.pid()
        if pid:
            procs.stop_pid(pid)
        self.kill_sessions(everything=True)
        for controller in CONTROLLERS:
            directory = self.cgroup(controller)
            for _ in range(50):  # a killed task leaves its cgroup a moment later
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)

    # -- what faults do on it -------------------------------------------------------------------
    def run(self, command: str, timeout: float = COMMAND_TIMEOUT_S) -> str:
        """A command in a session of the host (its cgroups, its data disk); its output."""
        argv = [
            "ssh",
            "-F",
            str(self.ssh_config),
            # never through a check's shared connection (testinfra keeps one for 60 s): a heal
            # kills its session on the host, and a command sent to its dying master fails
            "-o",
            "ControlPath=none",
            "-o",
            "ConnectTimeout=5",
            "-p",
            str(self.port),
            f"{self.user}@127.0.0.1",
            command,
        ]
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise SandboxError(
                f"the SSH host did not finish {command!r} within {timeout:g}s"
            ) from None
        if done.returncode != 0:
            raise SandboxError(
                f"on the SSH host, {command!r} failed: "
                f"{(done.stderr.strip() or f'exit {done.returncode}').splitlines()[0]}"
            )
        return done.stdout

    def start_detached(self, command: str, copies: int = 1) -> None:
        """Processes that outlive the session that started them (in the host's cgroups, gone at the
        next heal)."""
        for _ in range(copies):
            self.run(f"setsid nohup {command} >/dev/null 2>&1 </dev/null &")

    def hang_sessions(self, seconds: int) -> None:
        """Every session from now on logs in, then hangs (`ForceCommand sleep`), as on a host whose
        login waits on a hung home mount; sshd rereads its configuration on SIGHUP, same pid. The
        next fresh sync writes the configuration anew."""
        pid = self.pid()
        if pid is None:
            raise SandboxError("the SSH host's sshd is not running: `nbaverify sandbox up` first")
        config = self.dir / "sshd_config"
        procs.write_atomic(config, config.read_text() + f"ForceCommand sleep {seconds}\n")
        log = self.layout.log_file("ssh-host")
        seen = log.stat().st_size
        os.kill(pid, signal.SIGHUP)

        def restarted() -> bool:  # it says so, re-executes itself, then listens anew
            with log.open("rb") as lines:
                lines.seek(seen)
                return b"Received SIGHUP" in lines.read() and procs.port_accepts(self.port)

        procs.wait_until(restarted, 10, f"the SSH host to restart (see {log})")

    def set_limits(self, cpus: float) -> None:
        (self.cgroup("memory") / "memory.limit_in_bytes").write_text(str(MEMORY_LIMIT_MIB << 20))
        (self.cgroup("cpu") / "cpu.cfs_period_us").write_text(str(CPU_PERIOD_US))
        (self.cgroup("cpu") / "cpu.cfs_quota_us").write_text(str(int(cpus * CPU_PERIOD_US)))

    def kill_sessions(self, everything: bool = False) -> None:
        """Every process in the host's cgroups but sshd's listener (or every one)."""
        keep = None if everything else self.pid()
        for controller in CONTROLLERS:
            try:
                pids = (self.cgroup(controller) / "cgroup.procs").read_text().split()
            except OSError:
                continue
            for pid in map(int, pids):
                if pid != keep:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass


def _has_user() -> bool:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return False
    return True
