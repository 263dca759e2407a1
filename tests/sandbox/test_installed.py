"""nbaverify as a team installs it: the wheel, in a fresh venv outside the checkout, run from an
empty folder against the self-test sandbox, with a team's own checks beside the shipped ones."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from nbaverify.shipped import CHECKOUT as PROJECT_ROOT

TEAM_CHECKS = """
import pytest

pytestmark = [pytest.mark.area("api")]


@pytest.mark.gate
@pytest.mark.severity("warning")
@pytest.mark.runbook("System Monitoring / Health Checks / API Health")
def check_team_health_answers(api, expect, evidence):
    reply = api.get(expect["api.health_path"])
    evidence["status"] = reply.status_code
    assert reply.status_code == 200, (
        f"GET {api.url(expect['api.health_path'])} returned {reply.status_code}"
    )


@pytest.mark.gate
@pytest.mark.severity("critical")
@pytest.mark.runbook("System Monitoring / Health Checks / API Health")
def check_team_version_pinned(api):
    assert False, "the team's release pin says 9.9.9, the API reports sandbox"
"""


IMAGE_UID = 10001  # ci/Dockerfile's USER


@pytest.fixture(scope="module")
def installed() -> Iterator[Path]:
    """The wheel built from this checkout, installed with its extras into a venv of its own
    (readable by every user, as the image's site-packages are)."""
    root = Path(tempfile.mkdtemp(prefix="nbaverify-installed-"))
    root.chmod(0o755)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(root / "dist"),
            str(PROJECT_ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next((root / "dist").glob("nbaverify-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True, timeout=120)
    subprocess.run(
        [
            str(root / "venv" / "bin" / "pip"),
            "install",
            "-q",
            "--disable-pip-version-check",
            f"{wheel}[sandbox,load]",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    yield root / "venv" / "bin"
    shutil.rmtree(root, ignore_errors=True)


def run(bin_dir: Path, cwd: Path, env: dict, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_dir / argv[0]), *argv[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_wheel_carries_everything_and_runs_from_an_empty_folder(
    installed, sandbox, sandbox_env, tmp_path
):
    sandbox.up([])
    team = tmp_path / "team"
    (team / "our_checks").mkdir(parents=True)
    (team / "our_checks" / "test_ours.py").write_text(textwrap.dedent(TEAM_CHECKS))
    env = {**sandbox_env, "PATH": f"{installed}:/usr/bin:/bin"}

    gate = run(
        installed, team, env, "nbaverify", "check", "gate", "--report-dir", str(team / "gate")
    )
    assert gate.returncode == 0, gate.stdout[-2000:] + gate.stderr
    summary = json.loads((team / "gate" / "summary.json").read_text())
    # the shipped checks' ids, wherever installed
    assert summary["checks"][0]["id"].startswith("checks/test_")
    assert "site-packages" not in json.dumps(summary["checks"])
    typed = run(
        installed,
        team,
        env,
        "python",
        "-c",
        "import importlib.resources as r; "
        "print(r.files('nbaverify').joinpath('py.typed').is_file())",
    )
    # a team's checks are type-checked against the package
    assert typed.stdout.strip() == "True", typed.stderr

    listing = run(
        installed, team, env, "nbaverify", "checks", "gate", "--json", "--checks", "our_checks"
    )
    assert listing.returncode == 0, listing.stderr
    listed = {entry["check"]: entry for entry in json.loads(listing.stdout)}
    assert "checks/test_health.py::check_health_ok" in listed  # the catalogue, from the wheel alone
    assert listed["our_checks/test_ours.py::check_team_version_pinned"]["severity"] == "critical"
    explained = run(installed, team, env, "nbaverify", "explain", "check_replication_lag")
    assert explained.returncode == 0, explained.stderr
    # the shipped guide and faults
    assert "│ " in explained.stdout and "under fault replica_lag" in explained.stdout

    # its packages: npm ci, once
    node = run(installed, team, env, "nbaverify", "sandbox", "up", "--api", "node")
    try:
        assert node.returncode == 0, node.stdout[-2000:] + node.stderr
        assert (sandbox.layout.root / "node_api" / "node_modules" / ".nbaverify-lock").exists()
        on_node = run(
            installed,
            team,
            env,
            "nbaverify",
            "check",
            "gate",
            "--area",
            "api",
            "--report-dir",
            str(team / "node"),
        )
        assert on_node.returncode == 0, on_node.stdout[-2000:] + on_node.stderr
    finally:
        sandbox.up([])

    plan = run(
        installed,
        team,
        env,
        "nbaverify",
        "load",
        "--profile",
        "smoke",
        "--plan-only",
        "--report-dir",
        str(team / "plan"),
    )
    assert plan.returncode == 0, plan.stderr
    assert json.loads((team / "plan" / "config.json").read_text())["ids"]["source"] == "database"

    ours = run(
        installed,
        team,
        env,
        "nbaverify",
        "check",
        "gate",
        "--checks",
        "our_checks",
        "--report-dir",
        str(team / "ours"),
    )
    # the team's failing critical check
    assert ours.returncode == 1, ours.stdout[-2000:] + ours.stderr
    outcomes = {
        c["id"]: c for c in json.loads((team / "ours" / "summary.json").read_text())["checks"]
    }
    assert outcomes["our_checks/test_ours.py::check_team_health_answers"]["outcome"] == "passed"
    failing = outcomes["our_checks/test_ours.py::check_team_version_pinned"]
    assert failing["outcome"] == "failed" and failing["severity"] == "critical"
    assert (
        "check_team_version_pinned" in ours.stdout
        and "the team's release pin says 9.9.9" in ours.stdout
    )
    assert "check_team_version_pinned" in (team / "ours" / "report.html").read_text()
    evidence = json.loads((team / "ours" / "evidence.json").read_text())
    health = next(
        i
        for i in evidence["coverage"]
        if i["section"] == "System Monitoring / Health Checks / API Health"
    )
    assert (
        "our_checks/test_ours.py::check_team_version_pinned" in health["checks"]
        and health["state"] == "failing"
    )

    plain = run(
        installed,
        team,
        env,
        "pytest",
        "--target",
        "sandbox",
        "--pyargs",
        "nbaverify_checks",
        "-m",
        "gate",
        "-k",
        "check_health_ok",
        "--report-dir",
        str(team / "plain"),
        "-q",
    )
    # the entry point's plugin, Locust's kept out
    assert plain.returncode == 0, plain.stdout[-2000:] + plain.stderr
    assert [
        c["id"] for c in json.loads((team / "plain" / "summary.json").read_text())["checks"]
    ] == ["checks/test_health.py::check_health_ok"]


def test_a_malformed_team_check_stops_collection_in_one_line(
    installed, sandbox, sandbox_env, tmp_path
):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "test_bad.py").write_text(
        'import pytest\n\n@pytest.mark.gate\n@pytest.mark.area("api")\n@pytest.mark.runbook("x")\n'
        "def check_no_severity():\n    pass\n"
    )
    env = {**sandbox_env, "PATH": f"{installed}:/usr/bin:/bin"}
    result = run(
        installed,
        tmp_path,
        env,
        "nbaverify",
        "check",
        "gate",
        "--checks",
        "bad",
        "--report-dir",
        str(tmp_path / "r"),
    )
    assert result.returncode == 2, result.stdout[-1000:] + result.stderr
    lines = [
        line for line in (result.stdout + result.stderr).splitlines() if "check_no_severity" in line
    ]
    assert (
        lines
        and "bad/test_bad.py::check_no_severity: @pytest.mark.severity(...) is missing" in lines[0]
    ), lines


NSS_WRAPPER = next(Path("/usr/lib").glob("*/libnss_wrapper.so"), Path("/usr/lib/libnss_wrapper.so"))


def image_user(home: Path) -> dict[str, str]:
    """The image's passwd entry for uid 10001 (its Dockerfile's useradd), without touching this
    machine's /etc/passwd: ssh will not start for a user the system cannot name. nss_wrapper
    (libnss-wrapper) answers for it.
    """
    if not NSS_WRAPPER.exists():
        pytest.fail(
            "libnss-wrapper is not installed (scripts/bootstrap installs it): ssh needs the image"
            " user's passwd entry"
        )
    (home / "passwd").write_text(f"nbaverify:x:{IMAGE_UID}:{IMAGE_UID}::{home}:/bin/sh\n")
    (home / "group").write_text(f"nbaverify:x:{IMAGE_UID}:\n")
    return {
        "LD_PRELOAD": str(NSS_WRAPPER),
        "NSS_WRAPPER_PASSWD": str(home / "passwd"),
        "NSS_WRAPPER_GROUP": str(home / "group"),
    }


def test_the_image_s_unprivileged_user_runs_the_gate_from_the_wheel(installed, sandbox, tmp_path):
    """What ci/Dockerfile builds, without a container engine: the installed wheel, no checkout, uid
    10001, a home of its own, state on the evidence volume; the target named by its profile, secrets
    by env, the kubeconfig mounted for it (a Secret volume: readable by the pod's user only)."""
    sandbox.up([])
    home = Path(tempfile.mkdtemp(prefix="nbaverify-image-home-"))
    try:
        for folder in (home, home / "evidence"):
            folder.mkdir(exist_ok=True)
            os.chown(folder, IMAGE_UID, IMAGE_UID)
        kubeconfig = home / "kubeconfig"
        shutil.copy(sandbox.layout.kubeconfig_file, kubeconfig)
        os.chown(kubeconfig, IMAGE_UID, IMAGE_UID)
        # the SSH host's key, mounted for it as a Secret would be (readable by the pod's user only)
        host = sandbox.ssh_host
        for name in ("client_key", "ssh_config"):
            if (host.dir / name).exists():
                (home / name).write_text(
                    (host.dir / name).read_text().replace(str(host.dir), str(home))
                )
                os.chmod(home / name, 0o600)
                os.chown(home / name, IMAGE_UID, IMAGE_UID)
        profile = home / "target.toml"
        profile.write_text(
            sandbox.layout.target_file.read_text()
            .replace(str(sandbox.layout.kubeconfig_file), str(kubeconfig))
            .replace(str(host.ssh_config), str(home / "ssh_config"))
        )
        env = {
            **sandbox.environ(),
            "PATH": f"{installed}:/usr/bin:/bin",
            "HOME": str(home),
            "NBAVERIFY_STATE_DIR": str(home / "evidence" / "state"),
            **image_user(home),
        }
        done = subprocess.run(
            [
                "setpriv",
                f"--reuid={IMAGE_UID}",
                f"--regid={IMAGE_UID}",
                "--clear-groups",
                str(installed / "nbaverify"),
                "check",
                "gate",
                "--target",
                str(profile),
                "--report-dir",
                str(home / "evidence" / "gate"),
            ],
            cwd=home,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr
        summary = json.loads((home / "evidence" / "gate" / "summary.json").read_text())
        assert summary["totals"]["passed"] > 20 and summary["totals"]["failed"] == 0, summary[
            "totals"
        ]
        # the history it keeps is its own
        assert (home / "evidence" / "state").stat().st_uid == IMAGE_UID
    finally:
        shutil.rmtree(home, ignore_errors=True)
