"""Host health through testinfra, for each host of the profile (local://, ssh://, kubectl://...).

Guide: System Monitoring / Metrics Collection / Infrastructure Metrics (CPU, memory, disk);
Maintenance Schedule / Weekly Tasks / Check resource utilization; Infrastructure Issues (storage).
Services are found by process and socket, not systemd (not every host runs it).
"""

import pytest

from nbaverify.checking import start_hosts
from nbaverify.probes import counters, host_resources
from nbaverify.probes.host_resources import label

METRICS = "System Monitoring / Metrics Collection / Infrastructure Metrics"
RESOURCES = "Maintenance Schedule / Weekly Tasks / Check resource utilization"

pytestmark = [pytest.mark.area("hosts"), pytest.mark.runbook(METRICS)]
# each host is connected to in the background from when the selection is known
# (nbaverify.plugins.early)
start_early = start_hosts


@pytest.mark.daily
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(METRICS, "Troubleshooting / Common Issues / Infrastructure Issues", RESOURCES)
def check_disk_usage(host, host_url, expect, evidence):
    """Each mount of `hosts.mounts` is at most `hosts.max_disk_used_pct` (85 %) used on every host.

    One case per URL of `[hosts] urls` (`local://`, `ssh://user@host`,
    `kubectl://pod?namespace=...`). Read with `df -P -k` of each mount (`/` by default), in the
    host's own mount namespace; the space used and free goes into the evidence.

    A warning: past the limit a disk is filling, not yet full (at 100 % the database stops writing).

    When it fails: On the host, run `df -h MOUNT` and `du -xh --max-depth=1 MOUNT | sort -h` to find
    what grows (logs, backups, `pg_wal`), then free space or grow the volume. Never delete files
    under PostgreSQL's data directory: a growing `pg_wal` is a symptom
    (`check_wal_archiving_not_failing`, a stale replication slot).
    """
    limit = expect["hosts.max_disk_used_pct"]
    full = []
    for mount in expect["hosts.mounts"]:
        out = host.run("df -P -k %s", mount)
        assert out.rc == 0, f"{label(host_url)}: df {mount} failed: {out.stderr.strip() or out.rc}"
        fields = out.stdout.splitlines()[-1].split()
        used = int(fields[4].rstrip("%"))
        evidence[mount] = f"{used}% used, {int(fields[3]) // 1024} MiB free"
        if used > limit:
            full.append(f"{mount} {used}% used ({int(fields[3]) // 1024} MiB free)")
    assert not full, (
        f"{label(host_url)}: {'; '.join(full)} (limit {limit}%); at 100% the database stops writing"
    )


@pytest.mark.daily
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESOURCES)
def check_memory_available(host, host_url, expect, evidence):
    """At least `hosts.min_memory_available_pct` (10 %) of each host's memory is available.

    One case per URL of `[hosts] urls` (`local://`, `ssh://user@host`,
    `kubectl://pod?namespace=...`). In a cgroup with a memory limit below the machine's memory (the
    nearest `memory.limit_in_bytes` in v1, `memory.max` in v2), what the limit leaves: the limit
    less the working set (usage less inactive page cache, as the kubelet counts it), the OOM
    killer's view. Otherwise the machine's `MemAvailable` of `MemTotal` (`/proc/meminfo`). The
    cgroup is found from `/proc/self/cgroup` and `/proc/self/mountinfo`; the message says which was
    read.

    When it fails: On the host, `free -m` and `ps aux --sort=-rss | head` (or the cgroup's
    `memory.stat`, where the message says it read one) show who holds memory; near a container's
    limit it will be OOMKilled (`check_containers_healthy`). Raise the limit or fix the leak.
    """
    reading = host_resources.memory(host)
    mib = 1 << 20
    evidence.update(
        read=reading.source,
        total_mib=reading.total // mib,
        available_mib=reading.available // mib,
        available_pct=round(reading.available_pct, 1),
    )
    floor = expect["hosts.min_memory_available_pct"]
    assert reading.available_pct >= floor, (
        f"{label(host_url)}: {reading.available_pct:.0f}% of memory available"
        f" ({reading.available // mib} of {reading.total // mib} MiB, read from the"
        f" {reading.source}), expected at least {floor}%"
    )


@pytest.mark.daily
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESOURCES)
def check_load(host, host_url, expect, evidence):
    """Each host's load is at most `hosts.max_load_per_core` (2.0) a CPU.

    One case per URL of `[hosts] urls` (`local://`, `ssh://user@host`,
    `kubectl://pod?namespace=...`). Under a CPU quota, the cgroup's runnable tasks (of its `tasks`
    in v1, `cgroup.threads` in v2, sampled ten times over a second) per CPU of the quota (quota /
    period); otherwise the 5-minute load average of `/proc/loadavg` per core (`nproc`). The message
    says which was read.

    When it fails: On the host, `top` or `ps -eo pid,pcpu,comm --sort=-pcpu | head` shows what runs.
    A one-off (a backup, a vacuum) passes the next run; sustained load needs more CPU, the HPA to
    scale, or less work on that host.
    """
    reading = host_resources.cpu(host)
    limit = expect["hosts.max_load_per_core"]
    if reading.limited:
        load = host_resources.runnable(host, reading)
        what = (
            f"{load:.1f} runnable tasks (sampled over 1 s) on a quota of {reading.cores:g} CPU,"
            f" {reading.source}"
        )
    else:
        load = float(host.file("/proc/loadavg").content_string.split()[1])
        what = f"5-minute load {load:.2f} on {reading.cores:g} cores (the machine)"
    per_core = load / reading.cores if reading.cores else float("inf")
    evidence.update(
        read=reading.source, load=load, cores=reading.cores, per_core=round(per_core, 2)
    )
    assert per_core <= limit, f"{label(host_url)}: {what}: {per_core:.2f} a core, limit {limit}"


@pytest.mark.daily
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESOURCES)
def check_cpu_not_throttled(host, host_url, expect, evidence, history):
    """A host's cgroup with a CPU quota was throttled in at most `hosts.max_throttled_ratio` (25 %)
    of its CPU periods since the previous run.

    A cgroup at its quota waits out the rest of each period: latency no CPU graph shows. One case
    per URL of `[hosts] urls` (`local://`, `ssh://user@host`, `kubectl://pod?namespace=...`). The
    share is `nr_throttled` of `nr_periods` from the cgroup's `cpu.stat`, judged by their change
    since the previous run (the counters only grow): the first run records the baseline, and a new
    cgroup (a new pod) counts from zero. 25 % is where the kubernetes-mixin's CPUThrottlingHigh
    alert fires. Without a quota nothing throttles: it passes, saying so.

    When it fails: Read the cgroup's `cpu.stat` named in the message and the container's
    `limits.cpu`, and raise the limit or cut the work. Throttling shows as latency
    (`check_p95_latency`), not on a CPU graph.
    """
    reading = host_resources.cpu(host)
    if not reading.limited or reading.periods is None or reading.throttled is None:
        evidence["read"] = f"{reading.source}: no CPU quota, so nothing throttles it"
        return
    evidence["read"] = reading.source
    change = counters.since_last_run(
        history,
        f"cpu-throttling:{label(host_url)}:{reading.quota_dir}",
        {"cpu": {"periods": reading.periods, "throttled": reading.throttled}},
        epoch=reading.epoch,
    )
    if change is None:
        evidence["note"] = counters.first_run_note()
        return
    periods, throttled = (change.deltas["cpu"][k] for k in ("periods", "throttled"))
    ratio = throttled / periods if periods else 0.0
    limit = expect["hosts.max_throttled_ratio"]
    evidence.update(
        window=change.describe(), periods=periods, throttled=throttled, ratio=round(ratio, 3)
    )
    assert ratio <= limit, (
        f"{label(host_url)}: throttled in {throttled:.0f} of {periods:.0f} CPU periods"
        f" {change.describe()} ({ratio:.0%}, limit {limit:.0%}) at a quota of {reading.cores:g}"
        f" CPU, {reading.source}"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("System Monitoring / Health Checks / Infrastructure Health")
def check_ports_listening(host, host_url, expect, evidence):
    """Each port of `hosts.ports` has a TCP listener on every host.

    One case per URL of `[hosts] urls` (`local://`, `ssh://user@host`,
    `kubectl://pod?namespace=...`). Found by socket, not systemd (not every host runs it). Skipped
    as not configured while `hosts.ports` is empty, as it is by default.

    When it fails: On the host, `ss -ltnp` shows what listens; read the log of the service meant to
    own the port for why it did not bind, then start or fix it. A port moved on purpose is changed
    in `hosts.ports` in the profile's `[expectations]`.
    """
    wanted = [str(p) for p in expect["hosts.ports"]]
    if not wanted:
        pytest.skip("not configured: expectations.hosts.ports")
    listening = {
        s.rsplit(":", 1)[-1] for s in host.socket.get_listening_sockets() if s.startswith("tcp")
    }
    missing = [p for p in wanted if p.rsplit(":", 1)[-1] not in listening]
    evidence["listening_wanted"] = wanted
    assert not missing, (
        f"{label(host_url)}: nothing listening on TCP port {', '.join(missing)} (expected"
        f" {', '.join(wanted)})"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("System Monitoring / Health Checks / Infrastructure Health")
def check_processes_running(host, host_url, expect, evidence):
    """Each process of `hosts.processes` runs on every host.

    One case per URL of `[hosts] urls` (`local://`, `ssh://user@host`,
    `kubectl://pod?namespace=...`). An entry is a command name (`postgres`) or part of a command
    line, so two instances on one host can be told apart; each entry's count goes into the evidence.
    Found by process, not systemd. Skipped as not configured while `hosts.processes` is empty, as it
    is by default.

    When it fails: On the host, `ps -ef | grep NAME` confirms it is gone; read the service's log for
    why it stopped before starting it again. A process renamed on purpose is changed in
    `hosts.processes` in the profile's `[expectations]`.
    """
    wanted = expect["hosts.processes"]
    if not wanted:
        pytest.skip("not configured: expectations.hosts.processes")
    running = host.process.filter()
    # an entry is a command name ("postgres") or part of a command line ("exporter
    # --web.listen-address=:9100")
    counts = {name: sum(1 for p in running if p.comm == name or name in p.args) for name in wanted}
    evidence["processes"] = counts
    missing = [name for name, n in counts.items() if n == 0]
    assert not missing, (
        f"{label(host_url)}: no process {', '.join(map(repr, missing))} running (expected"
        f" {', '.join(wanted)})"
    )
