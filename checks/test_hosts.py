"""Host health through testinfra, for each host of the profile (local://, ssh://, kubectl://...).

Guide: System Monitoring / Metrics Collection / Infrastructure Metrics (CPU, memory, disk);
Maintenance Schedule / Weekly Tasks / Check resource utilization; Infrastructure Issues (storage).
Services are found by process and socket, not systemd (not every host runs it).
"""

import pytest

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
        assert out.rc == 0, f"{host_url}: df {mount} failed: {out.stderr.strip() or out.rc}"
        fields = out.stdout.splitlines()[-1].split()
        used = int(fields[4].rstrip("%"))
        evidence[mount] = f"{used}% used, {int(fields[3]) // 1024} MiB free"
        if used > limit:
            full.append(f"{mount} {used}% used ({int(fields[3]) // 1024} MiB free)")
    assert not full, f"{host_url}: {'; '.join(full)} (limit {limit}%); at 100% the database stops writing"


@pytest.mark.daily
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESOURCES)
def check_memory_available(host, host_url, expect, evidence):
    info = dict(line.split(":", 1) for line in host.file("/proc/meminfo").content_string.splitlines() if ":" in line)
    total, available = (int(info[k].split()[0]) for k in ("MemTotal", "MemAvailable"))
    pct = 100 * available / total
    evidence.update(total_mib=total // 1024, available_mib=available // 1024, available_pct=round(pct, 1))
    floor = expect["hosts.min_memory_available_pct"]
    assert pct >= floor, (f"{host_url}: {pct:.0f}% of memory available ({available // 1024} of "
                          f"{total // 1024} MiB), expected at least {floor}%")


@pytest.mark.daily
@pytest.mark.weekly
@pytest.mark.severity("warning")
@pytest.mark.runbook(RESOURCES)
def check_load(host, host_url, expect, evidence):
    load5 = float(host.file("/proc/loadavg").content_string.split()[1])
    cores = int(host.run("nproc").stdout.strip() or 1)
    evidence.update(load5=load5, cores=cores)
    limit = expect["hosts.max_load_per_core"]
    assert load5 / cores <= limit, (f"{host_url}: 5-minute load {load5:.2f} on {cores} cores "
                                    f"({load5 / cores:.2f} a core, limit {limit})")


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
    assert not missing, f"{host_url}: nothing listening on TCP port {', '.join(missing)} (expected {', '.join(wanted)})"


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
    assert not missing, f"{host_url}: no process {', '.join(map(repr, missing))} running (expected {', '.join(wanted)})"
