"""A host's memory and CPU, read where its limits are: the cgroup it runs in when that has a limit,
else the machine.

In a container or a limited cgroup the machine's figures mislead: /proc/meminfo shows the machine's
free memory while the cgroup is at its limit, and the load average counts every process of the
machine against every core while the cgroup may use one and a half. So each reading says what it
read. Both cgroup versions are read: v1 (memory.limit_in_bytes, cpu.cfs_quota_us, cpu.stat) and v2
(memory.max, cpu.max, cpu.stat); the nearest limit among the cgroup and its ancestors counts.

A host is anything testinfra reaches (`run`); every file is read in one command.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shlex
from dataclasses import dataclass
from typing import Protocol


class Runs(Protocol):
    """Anything that runs a shell command on a host and answers with its output: a testinfra host,
    or a test's stand-in."""

    def run(self, command: str, *args: str): ...


def label(url: str) -> str:
    """A host's URL as a person names it: without its query (ssh_config=..., timeout=...)."""
    return url.partition("?")[0]


@dataclass(frozen=True)
class Cgroup:
    """The cgroup a host runs in for one controller (memory or cpu): its version, its directory, and
    its ancestors up to the mount point, nearest first, where a limit may be set instead."""

    version: int  # 1 or 2
    dir: str  # the host's own cgroup directory for the controller
    ancestors: tuple[str, ...]  # its parents up to the hierarchy's mount point, nearest first

    @property
    def dirs(self) -> tuple[str, ...]:
        return (self.dir, *self.ancestors)


def locate(proc_cgroup: str, mountinfo: str) -> dict[str, Cgroup]:
    """The host's cgroup by controller ("memory", "cpu"), from /proc/self/cgroup and
    /proc/self/mountinfo."""
    # controller (or "" for v2) -> (version, root, mount point)
    mounts: dict[str, tuple[int, str, str]] = {}
    for line in mountinfo.splitlines():
        head, _, tail = line.partition(" - ")
        fields, after = head.split(), tail.split()
        if len(fields) < 5 or len(after) < 3 or after[0] not in ("cgroup", "cgroup2"):
            continue
        root, point = fields[3], fields[4]
        if after[0] == "cgroup2":
            mounts.setdefault("", (2, root, point))
        else:
            for option in after[2].split(","):
                if option in ("memory", "cpu"):
                    mounts.setdefault(option, (1, root, point))
    found: dict[str, Cgroup] = {}
    for line in proc_cgroup.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        controllers = parts[1].split(",") if parts[1] else [""]
        for controller in controllers:
            if controller not in mounts:
                continue
            version, root, point = mounts[controller]
            path = parts[2]
            if not path.startswith(root):
                # outside what this mount shows (another namespace's cgroup)
                continue
            relative = path[len(root) :].strip("/")
            parts_rel = relative.split("/") if relative else []
            dirs = [
                "/".join([point.rstrip("/"), *parts_rel[:n]]) for n in range(len(parts_rel), -1, -1)
            ]
            group = Cgroup(version, dirs[0], tuple(dirs[1:]))
            if controller:
                found[controller] = group
            else:  # the unified (v2) hierarchy holds every controller a v1 mount does not
                for name in ("memory", "cpu"):
                    found.setdefault(name, group)
    return found


def read_files(host: Runs, paths: list[str]) -> dict[str, str]:
    """Several small files in one command; a file that cannot be read is absent from the answer."""
    script = (
        "for f in "
        + " ".join(shlex.quote(p) for p in paths)
        + '; do if [ -r "$f" ]; then echo "==> $f"; cat "$f"; fi; done'
    )
    out = host.run(script)
    files: dict[str, str] = {}
    current = None
    for line in out.stdout.splitlines():
        if line.startswith("==> /"):
            current = line[4:]
            files[current] = ""
        elif current is not None:
            files[current] += line + "\n"
    return files


def _fields(text: str) -> dict[str, int]:
    """`key value` lines (memory.stat, cpu.stat, /proc/meminfo in kB) as numbers."""
    out = {}
    for line in text.splitlines():
        parts = line.replace(":", " ").split()
        if len(parts) >= 2 and parts[1].lstrip("-").isdigit():
            out[parts[0]] = int(parts[1])
    return out


def where_it_runs(host: Runs) -> dict[str, Cgroup]:
    files = read_files(host, ["/proc/self/cgroup", "/proc/self/mountinfo"])
    return locate(files.get("/proc/self/cgroup", ""), files.get("/proc/self/mountinfo", ""))


# the files each version keeps its figures in: memory (limit, usage, stat) and CPU (quota..., stat)
MEMORY_FILES = {
    1: ("memory.limit_in_bytes", "memory.usage_in_bytes", "memory.stat"),
    2: ("memory.max", "memory.current", "memory.stat"),
}
CPU_FILES = {1: ("cpu.cfs_quota_us", "cpu.cfs_period_us", "cpu.stat"), 2: ("cpu.max", "cpu.stat")}


# -- memory ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Memory:
    """A host's memory in bytes, from its cgroup's limit when it has one, else the machine's;
    `source` says which."""

    total: int  # bytes: the limit, or the machine's memory
    available: int  # bytes: the limit less the working set, or MemAvailable
    source: str  # what was read, for the message

    @property
    def available_pct(self) -> float:
        return 100 * self.available / self.total if self.total else 0.0


def memory(host: Runs) -> Memory:
    cgroups = where_it_runs(host)
    group = cgroups.get("memory")
    paths = ["/proc/meminfo"]
    if group:
        paths += [f"{d}/{name}" for d in group.dirs for name in MEMORY_FILES[group.version]]
    return memory_from(read_files(host, paths), group)


def memory_from(files: dict[str, str], group: Cgroup | None) -> Memory:
    info = _fields(files.get("/proc/meminfo", ""))
    machine_total, machine_available = (
        info.get("MemTotal", 0) * 1024,
        info.get("MemAvailable", 0) * 1024,
    )
    machine = Memory(machine_total, machine_available, "machine (/proc/meminfo)")
    if group is None:
        return machine
    limit_name, usage_name, stat_name = MEMORY_FILES[group.version]
    for directory in group.dirs:  # the nearest cgroup that has a limit below the machine's memory
        raw = files.get(f"{directory}/{limit_name}", "").strip()
        if not raw.isdigit() or (machine_total and int(raw) >= machine_total):
            continue
        limit = int(raw)
        usage = int(files.get(f"{directory}/{usage_name}", "0").strip() or 0)
        stat = _fields(files.get(f"{directory}/{stat_name}", ""))
        # the working set, as the kubelet counts it: page cache it can drop is not held
        inactive = stat.get("total_inactive_file", stat.get("inactive_file", 0))
        working = max(0, usage - inactive)
        return Memory(
            limit,
            max(0, limit - working),
            f"cgroup v{group.version} {directory} (its memory limit)",
        )
    return Memory(
        machine_total,
        machine_available,
        f"machine (/proc/meminfo; cgroup {group.dir} has no limit)",
    )


# -- CPU ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Cpu:
    """A host's CPUs: its cgroup's quota in CPUs when it has one (`limited`), else the machine's
    cores; with the cgroup's periods and throttled periods (cpu.stat) and when the cgroup was made,
    so a new one counts from zero.
    """

    cores: float  # the quota in CPUs, or the machine's cores
    source: str
    # the host's cgroup, found or not: whose quota it is when `limited`
    group: Cgroup | None = None
    quota_dir: str | None = None
    # cpu.stat: periods the cgroup ran in, and in how many it was throttled
    periods: int | None = None
    throttled: int | None = None
    # when the cgroup was made (ISO): a new one (a new pod) counts from zero
    epoch: str | None = None

    @property
    def limited(self) -> bool:
        return self.quota_dir is not None


def cpu(host: Runs) -> Cpu:
    group = where_it_runs(host).get("cpu")
    paths = []
    if group:
        paths = [f"{d}/{name}" for d in group.dirs for name in CPU_FILES[group.version]]
    files = read_files(host, paths) if paths else {}
    cores = int(host.run("nproc").stdout.strip() or 1)
    reading = cpu_from(files, group, cores)
    if reading.quota_dir:
        # a cgroup directory's ctime is when it was made: nothing a workload does changes it
        made = host.run("stat -c %%Z %s", reading.quota_dir).stdout.strip()
        if made.isdigit():
            reading = dataclasses.replace(
                reading, epoch=dt.datetime.fromtimestamp(int(made), dt.UTC).isoformat()
            )
    return reading


def cpu_from(files: dict[str, str], group: Cgroup | None, machine_cores: int) -> Cpu:
    if group is not None:
        for directory in group.dirs:
            if group.version == 1:
                quota = files.get(f"{directory}/cpu.cfs_quota_us", "-1").strip()
                period = files.get(f"{directory}/cpu.cfs_period_us", "100000").strip()
            else:
                quota, _, period = files.get(f"{directory}/cpu.max", "max").strip().partition(" ")
            if not quota.lstrip("-").isdigit() or int(quota) < 0 or not period.isdigit():
                continue
            stat = _fields(files.get(f"{directory}/cpu.stat", ""))
            return Cpu(
                int(quota) / int(period),
                f"cgroup v{group.version} {directory} (its CPU quota)",
                group,
                directory,
                stat.get("nr_periods"),
                stat.get("nr_throttled"),
            )
    return Cpu(float(machine_cores), "machine", group)


SAMPLES, SAMPLE_EVERY_S = 10, 0.1


def runnable(host: Runs, cpu_reading: Cpu) -> float:
    """Tasks of the host's CPU cgroup waiting for or using a CPU, averaged over ten samples a
    second: its own load, where the machine's load average would count every process of the machine.
    The sampling shell itself is not counted."""
    assert cpu_reading.group is not None
    tasks = "tasks" if cpu_reading.group.version == 1 else "cgroup.threads"
    script = (
        f"n=0; for i in $(seq {SAMPLES}); do for t in $(cat"
        f' {shlex.quote(cpu_reading.group.dir)}/{tasks}); do [ "$t" = "$$" ] && continue; read -r s'
        ' < /proc/$t/stat 2>/dev/null && case "$s" in *") R "*) n=$((n+1));; esac; done; sleep'
        f" {SAMPLE_EVERY_S}; done; echo $n"
    )
    out = host.run(f"sh -c {shlex.quote(script)}")
    return int(out.stdout.strip() or 0) / SAMPLES
