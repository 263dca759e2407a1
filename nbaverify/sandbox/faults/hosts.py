"""Host faults, made on the sandbox's SSH host: its data disk, its memory limit, its CPU quota, its
sshd, its sessions.

Gentle on a shared machine: the disk is a 32 MiB tmpfs, the memory a 256 MiB cgroup, the busy
processes run under a quota of half a CPU, and each gives up on its own after ten minutes.
The next heal kills what they started and restores the host's limits (`SshHost.sync`).
"""

from __future__ import annotations

from nbaverify.sandbox.faults.model import Fault, Reach
from nbaverify.sandbox.ssh_host import DATA_MIB, MEMORY_LIMIT_MIB

HOSTS = "checks/test_hosts.py"
SSH = "[ssh://"  # every case of the check on an ssh:// host (the sandbox's port is its own)
BOUND_S = 600  # a fault's processes end on their own after this, should nothing heal the sandbox
BUSY = f"timeout {BOUND_S} sh -c 'while :; do :; done'"
SMALL_QUOTA = 0.5  # CPUs: the busy faults' processes share half a CPU of the machine
# a host nothing can be read from: every host check's ssh:// case
EVERY_SSH_CASE = tuple(
    f"{HOSTS}::{check}{SSH}"
    for check in (
        "check_disk_usage",
        "check_memory_available",
        "check_load",
        "check_cpu_not_throttled",
        "check_ports_listening",
        "check_processes_running",
    )
)


def _fill_disk(sb: Reach) -> None:
    sb.ssh_host.run(f"head -c {DATA_MIB - 3}M /dev/zero > {sb.ssh_host.data_dir}/fill")


def _hold_memory(sb: Reach) -> None:
    """A process whose bytes are touched (not merely reserved), leaving 24 MiB of the limit for
    everything else."""
    size = (MEMORY_LIMIT_MIB - 24) << 20
    sb.ssh_host.start_detached(
        f"timeout {BOUND_S} python3 -c 'import time; held = bytes(range(256)) * ({size} // 256);"
        f" time.sleep({BOUND_S})'"
    )
    sb.ssh_host.run("sleep 2")  # python has its bytes by then


def _busy(copies: int):
    def apply(sb: Reach) -> None:
        sb.ssh_host.set_limits(SMALL_QUOTA)
        sb.ssh_host.start_detached(BUSY, copies)
        sb.ssh_host.run("sleep 2")  # a couple of seconds at the quota before anyone looks

    return apply


def _hang_sessions(sb: Reach) -> None:
    sb.ssh_host.hang_sessions(BOUND_S)


def _stop_sshd(sb: Reach) -> None:
    sb.ssh_host.stop()  # sshd, its sessions and its cgroups: the next heal makes the host anew


FAULTS: tuple[Fault, ...] = (
    Fault(
        name="host_disk_full",
        area="hosts",
        requires="ssh_host",
        breaks=f"the SSH host's data disk ({DATA_MIB} MiB) is filled to within 3 MiB",
        caught_by=(f"{HOSTS}::check_disk_usage{SSH}",),
        expect=r"ssh://\S+: /\S+/host/data 9\d% used \(\d MiB free\) \(limit 85%\)",
        apply=_fill_disk,
    ),
    Fault(
        name="host_memory_pressure",
        area="hosts",
        requires="ssh_host",
        breaks=(
            f"a process on the SSH host holds all but 24 MiB of its {MEMORY_LIMIT_MIB} MiB cgroup"
            " limit"
        ),
        caught_by=(f"{HOSTS}::check_memory_available{SSH}",),
        expect=(
            rf"ssh://\S+: \d% of memory available \(\d+ of {MEMORY_LIMIT_MIB} MiB, read from the"
            r" cgroup v1 "
            r"\S+ \(its memory limit\)\), expected at least 10%"
        ),
        apply=_hold_memory,
    ),
    Fault(
        name="host_cpu_throttled",
        area="hosts",
        requires="ssh_host",
        baseline="healthy",
        breaks=(
            f"a busy process on the SSH host under a quota of {SMALL_QUOTA:g} CPU: throttled every"
            " period"
        ),
        caught_by=(f"{HOSTS}::check_cpu_not_throttled{SSH}",),
        expect=(
            r"ssh://\S+: throttled in \d+ of \d+ CPU periods since (the previous run|the statistics"
            r" reset) at .* "
            r"\((\d\d|100)%, limit 25%\) "
            rf"at a quota of {SMALL_QUOTA:g} CPU"
        ),
        apply=_busy(1),
    ),
    Fault(
        name="host_overloaded",
        area="hosts",
        requires="ssh_host",
        breaks=(
            f"four busy processes on the SSH host share a quota of {SMALL_QUOTA:g} CPU (the machine"
            " is not loaded)"
        ),
        caught_by=(f"{HOSTS}::check_load{SSH}",),
        expect=(
            r"ssh://\S+: [3-4]\.\d runnable tasks \(sampled over 1 s\) on a quota of"
            rf" {SMALL_QUOTA:g} CPU, "
            r"cgroup v1 \S+ \(its CPU quota\): \d+\.\d\d a core, limit 2\.0"
        ),
        apply=_busy(4),
    ),
    Fault(
        name="host_sshd_down",
        area="hosts",
        requires="ssh_host",
        outcome="error",
        breaks="the SSH host's sshd is stopped: the host is unreachable",
        caught_by=EVERY_SSH_CASE,
        expect=r"unreachable: host at ssh://\S+:\d+ unreachable: .*(Connection refused|port \d+)",
        apply=_stop_sshd,
    ),
    Fault(
        name="host_sessions_hang",
        area="hosts",
        requires="ssh_host",
        outcome="error",
        breaks=(
            "every session on the SSH host logs in, then hangs (sshd's ForceCommand sleeps): no"
            " command ever finishes"
        ),
        caught_by=EVERY_SSH_CASE,
        expect=(
            r"^on ssh://\S+:\d+, `true` did not finish within 30s \(hosts\.command_timeout_s\)$"
        ),
        apply=_hang_sessions,
    ),
)
