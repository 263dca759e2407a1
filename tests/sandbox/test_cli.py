"""The CLI against a real sandbox: the run record, exit codes, and one-line errors for bad input."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import pytest

from nbaverify.shipped import CHECKOUT as PROJECT_ROOT


def one_line_error(result) -> str:
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.err, result.err
    return lines[0]


def test_check_gate_writes_the_three_reports(sandbox, nbaverify, tmp_path):
    sandbox.up([])
    result = nbaverify("check", "gate", "--report-dir", str(tmp_path / "r"))
    assert result.code == 0, result.out
    assert {p.name for p in (tmp_path / "r").iterdir()} == {
        "summary.json",
        "junit.xml",
        "summary.md",
        "report.html",
        "evidence.json",
        "summary.sarif",
    }
    assert "NBAVERIFY OK" in result.out


def test_a_failing_gate_is_in_the_sarif_with_a_location_github_accepts(
    sandbox, nbaverify, tmp_path
):
    import jsonschema

    from tests.unit.test_sarif import SCHEMA

    sandbox.up(["no_security_headers"])
    result = nbaverify("check", "gate", "--report-dir", str(tmp_path / "r"))
    document = json.loads((tmp_path / "r" / "summary.sarif").read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    results = document["runs"][0]["results"]
    failed = {
        c["id"]
        for c in json.loads((tmp_path / "r" / "summary.json").read_text())["checks"]
        if c["outcome"] in ("failed", "error")
    }
    assert failed and {r["ruleId"] for r in results} == {cid.split("[")[0] for cid in failed}, (
        result.out
    )
    assert all(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "fixtures/guide/maintenance-guide.md"
        for r in results
    )
    sandbox.up([])


def test_pytest_directly_is_the_same_run(sandbox, sandbox_env, tmp_path):
    import subprocess

    sandbox.up(["replica_stopped"])
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "checks",
            "--target",
            "sandbox",
            "-m",
            "gate",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=PROJECT_ROOT,
        env=sandbox_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stdout
    assert (tmp_path / "summary.json").exists() and "replica(s) streaming" in done.stdout
    sandbox.up([])


def test_a_broken_profile_exits_2_naming_the_key(nbaverify, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        'name = "x"\nenvironment = "staging"\n[database]\ndsn_env = "NBA_DB_DSN"\nport = 5432\n'
    )
    result = nbaverify("check", "gate", "--target", str(bad))
    assert result.code == 2
    assert (
        one_line_error(result) == f"nbaverify: {bad}: database.port: unknown key "
        "(see the profile example in docs/environments.md)"
    )


def test_a_malformed_waivers_file_exits_2_naming_the_entry(nbaverify, tmp_path):
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(
        '[[waiver]]\ncheck = "check_replication_lag"\nowner = "dba"\nexpires = 2027-01-01\n'
    )
    result = nbaverify("check", "gate", "--waivers", str(waivers))
    assert result.code == 2 and result.summary is None
    assert (
        one_line_error(result)
        == f"nbaverify: {waivers}: waiver 1 (check_replication_lag) justification: "
        "required key is missing"
    )


def test_a_missing_secret_exits_2_naming_the_variable(nbaverify):
    result = nbaverify("check", "gate", "--target", "staging.example")
    assert result.code == 2
    assert "api.jwt_secret_env: environment variable NBA_JWT_SECRET is not set" in one_line_error(
        result
    )


def test_an_unknown_fault_exits_2(nbaverify):
    result = nbaverify("sandbox", "up", "--fault", "no_such_fault")
    assert result.code == 2
    assert "unknown fault; `nbaverify sandbox faults` lists them" in one_line_error(result)


def test_a_scale_is_chosen_when_the_sandbox_is_first_seeded(sandbox, nbaverify):
    sandbox.up([])
    result = nbaverify("sandbox", "up", "--scale", "10")
    assert result.code == 2
    assert one_line_error(result).endswith(
        "holds scale 1 data; `nbaverify sandbox down --purge` first, then up --scale 10"
    ), one_line_error(result)
    assert nbaverify("sandbox", "up", "--scale", "7").code == 2  # argparse: only 1, 10 or 100


def test_an_unreachable_target_is_reported_as_unreachable_not_failed(nbaverify, tmp_path):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    profile = tmp_path / "gone.toml"
    profile.write_text(
        f'name = "gone"\nenvironment = "staging"\n[api]\nbase_url = "http://127.0.0.1:{port}"\n'
        '[database]\ndsn_env = "GONE_DSN"\n'
    )
    result = nbaverify(
        "check",
        "gate",
        "--target",
        str(profile),
        env={"GONE_DSN": f"postgresql://u:canary-pw-9876@127.0.0.1:{port}/x"},
    )
    assert result.code == 1
    messages = result.not_passing()
    assert messages and all(
        "unreachable" in m or "does not accept connections" in m for m in messages.values()
    )
    assert "canary-pw-9876" not in result.out + result.err + str(result.summary)


def test_a_port_in_use_is_named(nbaverify, sandbox_env, tmp_path):
    base = 58430
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", base + 13))  # the API's port in that layout
        sock.listen()
        result = nbaverify(
            "sandbox",
            "up",
            env={
                "NBAVERIFY_SANDBOX_DIR": str(tmp_path / "sb"),
                "NBAVERIFY_SANDBOX_PORT_BASE": str(base),
            },
        )
    assert result.code == 1
    python = Path(sys.executable).name
    assert (
        one_line_error(result)
        == f"nbaverify: port {base + 13} (sandbox API) is in use by {python} (pid {os.getpid()}) "
        "listening; stop it, or choose other ports with NBAVERIFY_SANDBOX_PORT_BASE"
    )


def test_a_port_held_as_a_connection_s_source_port_is_named_as_such():
    from nbaverify import procs
    from nbaverify.errors import PortInUse

    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen()
        # as the kernel would, from the ephemeral range, for an outgoing connection
        client.bind(("127.0.0.1", 0))
        client.connect(server.getsockname())
        port = client.getsockname()[1]
        with pytest.raises(PortInUse) as caught:
            procs.ensure_port_free(port, "sandbox API")
    assert str(caught.value).startswith(
        f"port {port} (sandbox API) is taken by {Path(sys.executable).name} (pid "
        f"{os.getpid()}), the source port of a connection to 127.0.0.1:"
    ), str(caught.value)
    assert "wait for that connection to end" in str(caught.value)


def test_missing_postgresql_binaries_are_named(monkeypatch):
    from nbaverify import procs
    from nbaverify.errors import MissingBinary

    monkeypatch.setenv("NBAVERIFY_PG_BINDIR", "/nonexistent")
    monkeypatch.setattr(procs.shutil, "which", lambda name: None)
    monkeypatch.setattr(procs.glob, "glob", lambda pattern: [])
    with pytest.raises(
        MissingBinary, match=r"^PostgreSQL server binaries \(initdb, pg_ctl\) not found; install"
    ):
        procs.pg_bindir()


def test_faults_lists_every_fault_with_its_catching_checks(nbaverify):
    from nbaverify.sandbox.faults import CATALOGUE

    result = nbaverify("sandbox", "faults")
    assert result.code == 0
    for fault in CATALOGUE.values():
        assert f"{fault.name} [{fault.area}]" in result.out
        for check_id in fault.caught_by:
            assert check_id in result.out
            if fault.area == "load" and check_id.startswith("nbaverify load "):
                # proven by a load run, not a check
                continue  # (tests/sandbox/test_load.py)
            module, _, name = check_id.split("[")[0].partition("::")
            assert f"def {name}(" in (Path(PROJECT_ROOT) / module).read_text(), (
                f"{check_id} does not exist"
            )


def test_no_thread_makes_a_logger_while_the_checks_run(sandbox, nbaverify, tmp_path):
    """pytest's logging plugin walks the registry of loggers around every check, without a lock:
    a background thread making a logger meanwhile errs whichever check was starting ("dictionary
    changed size during iteration": once in some thirty gate runs, while the Kubernetes client was
    imported beside the checks). What a run starts early makes its loggers on the main thread."""
    sandbox.up([])
    made = tmp_path / "loggers.json"
    here = str(Path(__file__).parent)
    result = nbaverify(
        "check",
        "gate",
        "--",
        "-p",
        "thread_loggers",
        env={
            "PYTHONPATH": os.pathsep.join(filter(None, (here, os.environ.get("PYTHONPATH")))),
            "NBAVERIFY_THREAD_LOGGERS": str(made),
        },
    )
    assert result.code == 0, result.out
    assert json.loads(made.read_text()) == []
