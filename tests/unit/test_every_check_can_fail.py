"""A check that cannot fail is a defect, and so is a case of one: every case id the shipped checks collect (each
parametrization, as a run names it) is failed by a fault of the catalogue (the matrix then proves it fails there),
or this table says where else it is shown failing, or why not yet.

A fault names a case exactly (`check_x[case]`), a whole check (`check_x`: each of its cases must fail), or the
cases whose id starts so (`check_x[ssh://`: a host's port differs from sandbox to sandbox); the table's keys are
read the same way."""

from __future__ import annotations

import pytest

from nbaverify import shipped
from nbaverify.sandbox.faults import CATALOGUE

PROVEN_ELSEWHERE = {
    "checks/test_patch_currency.py::check_release_data_current": "tests/sandbox/test_release_data.py (old release data)",
    "checks/test_patch_currency.py::check_postgres_supported": "tests/sandbox/test_release_data.py (no EOL major runs here)",
    "checks/test_patch_currency.py::check_postgres_eol_distant": "tests/sandbox/test_release_data.py",
    "checks/test_monitoring_dashboards.py::check_dashboards_in_grafana":
        "tests/unit/test_grafana_probe.py (no Grafana runs here: a named test double of /api/search)",
    # the machine itself: the same check, the same code, shown failing on the sandbox's SSH host (its own disk,
    # memory and CPU quota, which faults can fill); filling this machine's would disturb everything else it runs
    **{f"checks/test_hosts.py::{check}[local://": "the ssh:// case of the same check (host faults on the SSH host)"
       for check in ("check_disk_usage", "check_memory_available", "check_load", "check_cpu_not_throttled")},
}
NOT_YET: dict[str, str] = {}  # a case with no honest fault yet, and why (none today)

# a profile that names every section, so every parametrization is collected; nothing is reached
PROFILE = """name = "cases"
environment = "test"
[api]
base_url = "https://api.example.com"
[database]
dsn_env = "CASES_DSN"
replica_dsn_env = "CASES_DSN"
[kubernetes]
source = "cluster"
[prometheus]
url = "http://prometheus.example.com:9090"
[hosts]
urls = ["local://", "ssh://nbaverify-host@127.0.0.1:25499"]
[grafana]
url = "http://grafana.example.com:3000"
[alertmanager]
url = "http://alertmanager.example.com:9093"
[logs]
source = "kubernetes"
"""


class _Collected:
    def __init__(self) -> None:
        self.ids: list[str] = []

    def pytest_collection_modifyitems(self, items) -> None:
        self.ids = [item.nodeid for item in items]


@pytest.fixture(scope="module")
def case_ids(tmp_path_factory) -> list[str]:
    profile = tmp_path_factory.mktemp("cases") / "cases.toml"
    profile.write_text(PROFILE)
    collected = _Collected()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CASES_DSN", "postgresql://nobody@127.0.0.1:9/none")
        code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:locust",
                            "-p", "no:pytest11.testinfra", "--rootdir", str(shipped.CHECKS.parent),
                            "--target", str(profile), str(shipped.CHECKS)], plugins=[collected])
    assert code == 0 and collected.ids
    return collected.ids


def names(case_id: str, key: str) -> bool:
    """Does a caught_by or table key name this case id (exactly, as its whole check, or as an id cut short)?"""
    if key == case_id or key == case_id.split("[")[0]:
        return True
    return "[" in key and not key.endswith("]") and case_id.startswith(key)


def test_every_case_is_caught_by_a_fault_or_says_where_it_is_proven(case_ids):
    keys = [c for fault in CATALOGUE.values() for c in fault.caught_by] + list(PROVEN_ELSEWHERE) + list(NOT_YET)
    print(f"{len(case_ids)} case ids, each proven")
    unproven = [cid for cid in case_ids if not any(names(cid, key) for key in keys)]
    assert not unproven, "cases no fault fails and no test shows failing:\n" + "\n".join(unproven)


def test_every_fault_names_cases_that_exist(case_ids):
    named = {(fault.name, c) for fault in CATALOGUE.values() if fault.area != "load" for c in fault.caught_by}
    missing = sorted(f"{name}: {key}" for name, key in named if not any(names(cid, key) for cid in case_ids))
    assert not missing, "faults name checks or cases the checks do not have:\n" + "\n".join(missing)


def test_the_tables_name_only_cases_that_exist_and_no_fault_catches(case_ids):
    caught = [c for fault in CATALOGUE.values() for c in fault.caught_by]
    for table in (PROVEN_ELSEWHERE, NOT_YET):
        for key in table:
            cases = [cid for cid in case_ids if names(cid, key)]
            assert cases, f"{key} names no case"
            assert not any(names(cid, c) for cid in cases for c in caught), f"{key} is caught by a fault too"
