"""What proves each check case can fail: the faults of the catalogue that fail it (the matrix runs
each one), or, for the few a fault cannot reach, the test that shows it failing elsewhere and why
there.

A fault names a case exactly (`check_x[case]`), a whole check (`check_x`: each of its cases must
fail), or the cases whose id starts so (`check_x[ssh://`: a host's port differs from sandbox to
sandbox); the table's keys are read the same way."""

from __future__ import annotations

from nbaverify.sandbox.faults import CATALOGUE

PROVEN_ELSEWHERE = {
    "checks/test_patch_currency.py::check_release_data_current": (
        "tests/sandbox/test_release_data.py (old release data)"
    ),
    "checks/test_patch_currency.py::check_advisory_data_current": (
        "tests/sandbox/test_release_data.py (old advisory data)"
    ),
    "checks/test_patch_currency.py::check_postgres_supported": (
        "tests/sandbox/test_release_data.py (no EOL major runs here)"
    ),
    "checks/test_patch_currency.py::check_postgres_eol_distant": (
        "tests/sandbox/test_release_data.py"
    ),
    "checks/test_monitoring_dashboards.py::check_dashboards_in_grafana": (
        "tests/unit/test_grafana_probe.py (no Grafana runs here: a named test double of"
        " /api/search)"
    ),
    # the machine itself: the same check, the same code, shown failing on the sandbox's SSH host
    # (its own disk, memory and CPU quota, which faults can fill); filling this machine's would
    # disturb everything else it runs
    **{
        f"checks/test_hosts.py::{check}[local://": (
            "the ssh:// case of the same check (host faults on the SSH host)"
        )
        for check in (
            "check_disk_usage",
            "check_memory_available",
            "check_load",
            "check_cpu_not_throttled",
        )
    },
}
# a case with no honest fault, and why
NOT_YET: dict[str, str] = {
    f"checks/test_headers_tls.py::check_weak_cipher_suites_refused[{suite}]": (
        f"this machine's OpenSSL 3 has no {suite} suite to offer or to serve: the case skips here,"
        " saying so"
    )
    for suite in ("export", "rc4", "3des")
}


def names(case_id: str, key: str) -> bool:
    """Does a caught_by or table key name this case id (exactly, as its whole check, or as an id cut
    short)?"""
    if key == case_id or key == case_id.split("[")[0]:
        return True
    return "[" in key and not key.endswith("]") and case_id.startswith(key)


def faults_failing(case_id: str) -> list[str]:
    """The faults whose matrix run fails this case."""
    return [
        fault.name
        for fault in CATALOGUE.values()
        if any(names(case_id, key) for key in fault.caught_by)
    ]


def shown_elsewhere(case_id: str) -> list[str]:
    """Where else this case is shown failing, or why it is not yet."""
    return [
        why
        for table in (PROVEN_ELSEWHERE, NOT_YET)
        for key, why in table.items()
        if names(case_id, key)
    ]
