"""Reading a host's memory and CPU where its limits are: cgroup v1 and v2, nested limits, namespaced
views."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nbaverify.probes import host_resources as hr
from nbaverify.sandbox.faults import CATALOGUE
from nbaverify.sandbox.faults.model import Fault

MEMINFO = "MemTotal:       24000000 kB\nMemFree:  1000 kB\nMemAvailable:   18000000 kB\n"
V1_MOUNTS = """\
50 49 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
51 50 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
52 50 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
55 50 0:33 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
"""
V1_CGROUP = "4:memory:/kubepods/pod1/ctr\n3:cpuacct:/\n1:cpu:/kubepods/pod1/ctr\n0::/\n"
V2_MOUNTS = "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


class FakeHost:
    """Answers read_files' script from a dict of files, and nproc."""

    def __init__(self, files: dict[str, str], cores: int = 2):
        self.files, self.cores = files, cores

    def run(self, command: str, *args: str):
        if command == "nproc":
            return SimpleNamespace(stdout=f"{self.cores}\n", rc=0)
        if command.startswith("stat -c"):
            return SimpleNamespace(stdout="1796165041\n", rc=0)
        paths = command.split("for f in ", 1)[1].split("; do", 1)[0].split()
        out = "".join(
            f"==> {p}\n{self.files[p]}" for p in (p.strip("'") for p in paths) if p in self.files
        )
        return SimpleNamespace(stdout=out, rc=0)


def test_v1_controllers_are_found_on_their_own_mounts_with_their_ancestors():
    found = hr.locate(V1_CGROUP, V1_MOUNTS)
    assert found["memory"] == hr.Cgroup(
        1,
        "/sys/fs/cgroup/memory/kubepods/pod1/ctr",
        (
            "/sys/fs/cgroup/memory/kubepods/pod1",
            "/sys/fs/cgroup/memory/kubepods",
            "/sys/fs/cgroup/memory",
        ),
    )
    assert found["cpu"].dir == "/sys/fs/cgroup/cpu/kubepods/pod1/ctr"


def test_a_cgroup_namespace_shows_its_own_root_as_the_mount_root():
    # inside a container with a cgroup namespace: /proc/self/cgroup says "/", the mount's root is
    # the container's
    found = hr.locate("0::/\n", V2_MOUNTS)
    assert found["memory"] == hr.Cgroup(2, "/sys/fs/cgroup", ())
    mounts = "51 50 0:29 /kubepods/pod1 /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    assert (
        hr.locate("4:memory:/kubepods/pod1/ctr\n", mounts)["memory"].dir
        == "/sys/fs/cgroup/memory/ctr"
    )


def test_the_nearest_memory_limit_counts_less_the_page_cache_it_can_drop():
    group = hr.locate(V1_CGROUP, V1_MOUNTS)["memory"]
    files = {
        "/proc/meminfo": MEMINFO,
        "/proc/self/cgroup": V1_CGROUP,
        "/proc/self/mountinfo": V1_MOUNTS,
        # the container has no limit of its own (v1 says "unlimited" as a huge number); its pod has
        # 1 GiB
        f"{group.dir}/memory.limit_in_bytes": "9223372036854771712\n",
        "/sys/fs/cgroup/memory/kubepods/pod1/memory.limit_in_bytes": f"{1 << 30}\n",
        "/sys/fs/cgroup/memory/kubepods/pod1/memory.usage_in_bytes": f"{900 << 20}\n",
        "/sys/fs/cgroup/memory/kubepods/pod1/memory.stat": (
            f"cache 1\ntotal_inactive_file {100 << 20}\n"
        ),
    }
    reading = hr.memory(FakeHost(files))
    assert reading.total == 1 << 30 and reading.available == (1024 - 800) << 20
    assert reading.source == "cgroup v1 /sys/fs/cgroup/memory/kubepods/pod1 (its memory limit)"


def test_v2_memory_max_and_without_any_limit_the_machine():
    group = hr.locate("0::/app\n", V2_MOUNTS)["memory"]
    files = {
        "/proc/meminfo": MEMINFO,
        "/sys/fs/cgroup/app/memory.max": f"{512 << 20}\n",
        "/sys/fs/cgroup/app/memory.current": f"{500 << 20}\n",
        "/sys/fs/cgroup/app/memory.stat": "inactive_file 0\n",
    }
    reading = hr.memory_from(files, group)
    assert reading.available == 12 << 20 and "cgroup v2 /sys/fs/cgroup/app" in reading.source
    unlimited = {"/proc/meminfo": MEMINFO, "/sys/fs/cgroup/app/memory.max": "max\n"}
    machine = hr.memory_from(unlimited, group)
    assert machine.total == 24000000 * 1024 and machine.source.startswith(
        "machine (/proc/meminfo; cgroup"
    )
    assert hr.memory_from({"/proc/meminfo": MEMINFO}, None).available_pct == pytest.approx(75.0)


def test_cpu_quota_and_throttling_counters_v1_and_v2():
    v1 = hr.locate(V1_CGROUP, V1_MOUNTS)["cpu"]
    files = {
        f"{v1.dir}/cpu.cfs_quota_us": "-1\n",
        f"{v1.dir}/cpu.cfs_period_us": "100000\n",
        "/sys/fs/cgroup/cpu/kubepods/pod1/cpu.cfs_quota_us": "150000\n",
        "/sys/fs/cgroup/cpu/kubepods/pod1/cpu.cfs_period_us": "100000\n",
        "/sys/fs/cgroup/cpu/kubepods/pod1/cpu.stat": (
            "nr_periods 200\nnr_throttled 50\nthrottled_time 9\n"
        ),
    }
    reading = hr.cpu_from(files, v1, 8)
    assert (reading.cores, reading.periods, reading.throttled, reading.limited) == (
        1.5,
        200,
        50,
        True,
    )
    v2 = hr.locate("0::/app\n", V2_MOUNTS)["cpu"]
    assert (
        hr.cpu_from(
            {
                "/sys/fs/cgroup/app/cpu.max": "50000 100000\n",
                "/sys/fs/cgroup/app/cpu.stat": "usage_usec 1\nnr_periods 10\nnr_throttled 9\n",
            },
            v2,
            8,
        ).cores
        == 0.5
    )
    machine = hr.cpu_from({"/sys/fs/cgroup/app/cpu.max": "max 100000\n"}, v2, 8)
    assert (machine.cores, machine.limited, machine.source) == (8.0, False, "machine")


def test_the_epoch_of_a_quota_is_when_its_cgroup_was_made():
    v1 = hr.locate(V1_CGROUP, V1_MOUNTS)
    files = {
        "/proc/self/cgroup": V1_CGROUP,
        "/proc/self/mountinfo": V1_MOUNTS,
        f"{v1['cpu'].dir}/cpu.cfs_quota_us": "50000\n",
        f"{v1['cpu'].dir}/cpu.cfs_period_us": "100000\n",
    }
    assert hr.cpu(FakeHost(files)).epoch == "2026-12-01T22:44:01+00:00"


def test_a_host_is_named_without_its_query():
    assert (
        hr.label("ssh://root@127.0.0.1:26499?ssh_config=/x/ssh_config&timeout=5")
        == "ssh://root@127.0.0.1:26499"
    )
    assert hr.label("local://") == "local://"


def test_a_parameter_cut_short_names_every_case_it_starts():
    fault = Fault(
        name="f",
        area="hosts",
        breaks="",
        caught_by=("checks/test_hosts.py::check_load[ssh://",),
        expect="over",
    )
    outcomes = {
        "checks/test_hosts.py::check_load[local://]": {"outcome": "passed", "message": ""},
        "checks/test_hosts.py::check_load[ssh://root@127.0.0.1:1]": {
            "outcome": "failed",
            "message": "over",
        },
    }
    assert fault.missed_by(outcomes) == [] and fault.selection == (
        "checks/test_hosts.py::check_load",
    )
    outcomes["checks/test_hosts.py::check_load[ssh://root@127.0.0.1:1]"]["outcome"] = "passed"
    assert fault.missed_by(outcomes) != []
    assert CATALOGUE["host_sshd_down"].outcome == "error"


def test_a_machine_that_cannot_run_the_ssh_host_leaves_it_out_saying_why(tmp_path, monkeypatch):
    from nbaverify.sandbox import ssh_host
    from nbaverify.sandbox.layout import Layout
    from nbaverify.sandbox.manager import Sandbox

    monkeypatch.setattr(ssh_host, "SSHD", str(tmp_path / "no-sshd"))
    said: list[str] = []
    sandbox = Sandbox(Layout(tmp_path, 29430), say=said.append)
    assert sandbox.host_urls() == ["local://"]
    sandbox.ssh_host.sync(said.append)
    assert said == [
        "the sandbox's SSH host is left out: sshd is not installed (apt-get install"
        " openssh-server); its host checks run on local:// only"
    ]
    assert not (tmp_path / "host").exists()


def test_a_host_that_stops_answering_mid_run_is_unreachable_in_one_line():
    """testinfra's ssh backend raises RuntimeError(CommandResult); every later call says
    unreachable, plainly."""
    import testinfra

    from nbaverify.clients import hosts
    from nbaverify.errors import TargetUnreachable

    host = testinfra.get_host("ssh://nobody@127.0.0.1:1?timeout=2")  # nothing listens on port 1
    hosts._bound(host.backend, "ssh://nobody@127.0.0.1:1", 30)
    with pytest.raises(TargetUnreachable) as caught:
        hr.memory(host)
    assert (
        str(caught.value) == "host at ssh://nobody@127.0.0.1:1 unreachable: "
        "ssh: connect to host 127.0.0.1 port 1: Connection refused"
    )
