"""Host health through testinfra, for each host of the profile (local://, ssh://, kubectl://...).

Guide: System Monitoring / Metrics Collection / Infrastructure Metrics (CPU, memory, disk);
Maintenance Schedule / Weekly Tasks / Check resource utilization; Infrastructure Issues (storage).
Services are found by process and socket, not systemd (not every host runs it).
"""

import pytest

from nbaverify.probes import counters, host_resources
from nbaverify.probes.host_resources import label

pytestmark = [pytest.mark.area("hosts"), pytest.mark.runbook("System Monitoring / Metrics Collection / Infrastructure Metrics")]

RESOURCES = "Maintenance Schedule / Weekly Tasks"


@pytest.mark.daily
@pytest.mark.weekly
@pytest.mark.severity("warning")
def check_disk_usage(host, host_url, expect, evidence):
    """Past the limit a disk is filling, not yet full: a warning with what is left."""
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
    assert not full, f"{label(host_url)}: {'; '.join(full)} (limit {limit}%); at 100% the database stops writing"


@pytest.mark.daily
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESOURCES)
def check_memory_available(host, host_url, expect, evidence):
    """In a cgroup with a memory limit, what the limit leaves (the OOM killer's view), else the machine's."""
    reading = host_resources.memory(host)
    mib = 1 << 20
    evidence.update(read=reading.source, total_mib=reading.total // mib, available_mib=reading.available // mib,
                    available_pct=round(reading.available_pct, 1))
    floor = expect["hosts.min_memory_available_pct"]
    assert reading.available_pct >= floor, (
        f"{label(host_url)}: {reading.available_pct:.0f}% of memory available ({reading.available // mib} of "
        f"{reading.total // mib} MiB, read from the {reading.source}), expected at least {floor}%")


@pytest.mark.daily
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESOURCES)
def check_load(host, host_url, expect, evidence):
    """Under a CPU quota, the cgroup's runnable tasks per CPU of its quota; else the machine's 5-minute load a core."""
    reading = host_resources.cpu(host)
    limit = expect["hosts.max_load_per_core"]
    if reading.limited:
        load = host_resources.runnable(host, reading)
        what = f"{load:.1f} runnable tasks (sampled over 1 s) on a quota of {reading.cores:g} CPU, {reading.source}"
    else:
        load = float(host.file("/proc/loadavg").content_string.split()[1])
        what = f"5-minute load {load:.2f} on {reading.cores:g} cores (the machine)"
    per_core = load / reading.cores if reading.cores else float("inf")
    evidence.update(read=reading.source, load=load, cores=reading.cores, per_core=round(per_core, 2))
    assert per_core <= limit, f"{label(host_url)}: {what}: {per_core:.2f} a core, limit {limit}"


@pytest.mark.daily
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESOURCES)
def check_cpu_not_throttled(host, host_url, expect, evidence, history):
    """A cgroup at its CPU quota waits out the rest of each period: latency no CPU graph shows. Judged on the
    periods since the previous run (cpu.stat's counters only grow)."""
    reading = host_resources.cpu(host)
    if not reading.limited or reading.periods is None or reading.throttled is None:
        evidence["read"] = f"{reading.source}: no CPU quota, so nothing throttles it"
        return
    evidence["read"] = reading.source
    change = counters.since_last_run(history, f"cpu-throttling:{label(host_url)}:{reading.quota_dir}",
                                     {"cpu": {"periods": reading.periods, "throttled": reading.throttled}},
                                     epoch=reading.epoch)
    if change is None:
        evidence["note"] = counters.first_run_note()
        return
    periods, throttled = (change.deltas["cpu"][k] for k in ("periods", "throttled"))
    ratio = throttled / periods if periods else 0.0
    limit = expect["hosts.max_throttled_ratio"]
    evidence.update(window=change.describe(), periods=periods, throttled=throttled, ratio=round(ratio, 3))
    assert ratio <= limit, (f"{label(host_url)}: throttled in {throttled:.0f} of {periods:.0f} CPU periods "
                            f"{change.describe()} ({ratio:.0%}, limit {limit:.0%}) at a quota of {reading.cores:g} CPU, "
                            f"{reading.source}")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("System Monitoring / Health Checks / Infrastructure Health")
def check_ports_listening(host, host_url, expect, evidence):
    wanted = [str(p) for p in expect["hosts.ports"]]
    if not wanted:
        pytest.skip("not configured: expectations.hosts.ports")
    listening = {s.rsplit(":", 1)[-1] for s in host.socket.get_listening_sockets() if s.startswith("tcp")}
    missing = [p for p in wanted if p.rsplit(":", 1)[-1] not in listening]
    evidence["listening_wanted"] = wanted
    assert not missing, f"{label(host_url)}: nothing listening on TCP port {', '.join(missing)} (expected {', '.join(wanted)})"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("System Monitoring / Health Checks / Infrastructure Health")
def check_processes_running(host, host_url, expect, evidence):
    wanted = expect["hosts.processes"]
    if not wanted:
        pytest.skip("not configured: expectations.hosts.processes")
    running = host.process.filter()
    # an entry is a command name ("postgres") or part of a command line ("exporter --web.listen-address=:9100")
    counts = {name: sum(1 for p in running if p.comm == name or name in p.args) for name in wanted}
    evidence["processes"] = counts
    missing = [name for name, n in counts.items() if n == 0]
    assert not missing, f"{label(host_url)}: no process {', '.join(map(repr, missing))} running (expected {', '.join(wanted)})"
