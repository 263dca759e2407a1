"""`nbaverify load --profile capacity` against the self-test sandbox: the knee search finds a
capacity known in advance (`sandbox up --capacity-limited`: 4 slots of 80 ms, 50 req/s) within 10
%, with local and remote Locust workers; it runs on the healthy API; it stops, saying why, on a 429
or a sick platform and on an interruption; the quarterly and compliance reports carry its section.

The sandbox's capacity profile is short (2 s warm-up, 4 s steps, an 8 s hold): each search takes 1-2
minutes.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time

import pytest

from nbaverify import procs
from nbaverify.results import utc_now_iso
from nbaverify.sandbox.faults import CATALOGUE
from tests.sandbox.conftest import PROJECT_ROOT
from tests.sandbox.test_load import locust_processes

# 4 slots / 80 ms: 50 req/s. At 100 req/s (4 x 40 ms) the load generator, the API and the other
# self-test worker's sandbox share 2 cores: on a slow day a CI's search found 75 req/s (a step at 80
# broke). Half the rate is half the CPU, and a timer's overshoot is half the share of a longer slot
KNOWN_RPS = 50.0
SLOTS, SERVICE_MS = 4, 80


def search(nbaverify, sandbox, tmp_path, *args, name="run"):
    """`nbaverify load --profile capacity`. With a profile of the test's own, the sandbox's secrets
    come from the environment and the allowlist is the test's to set (nbaverify sets it for
    `--target sandbox` only).
    """
    result = nbaverify(
        "load",
        "--profile",
        "capacity",
        "--report-dir",
        str(tmp_path / name),
        *args,
        env=sandbox.environ(),
        timeout=400,
    )
    summary_file = tmp_path / name / "summary.json"
    result.summary = json.loads(summary_file.read_text()) if summary_file.exists() else None
    return result


def search_under(fault, nbaverify, sandbox, tmp_path):
    """The search with one fault of the catalogue on; the sandbox healed afterwards, whatever
    happened."""
    sandbox.up([fault])
    try:
        return search(nbaverify, sandbox, tmp_path)
    finally:
        sandbox.up([])


def limited(sandbox, api="python"):
    sandbox.up([], api=api)
    sandbox.allowlist(["127.0.0.1"])
    traffic_recorded(sandbox)
    return sandbox.limit_capacity(SLOTS, SERVICE_MS)


def steps(plan: dict) -> str:
    """Each step in a line: what was offered, what came back, why it broke."""
    return "\n".join(
        f"{s['phase']} {s['offered_rps']}/s: achieved {s['achieved_rps']:.1f}/s, p95"
        f" {s['p95_ms']:.0f} ms, {'held' if s['held'] else '; '.join(s['reasons'])}"
        for s in plan["steps"]
    )


def traffic_recorded(sandbox) -> None:
    """A freshly started sandbox has no request rate in Prometheus for a few seconds: no observed
    peak yet."""
    import httpx

    def recorded() -> bool:  # the sandbox profile's own peak expression, above zero
        query = "max_over_time((sum(rate(http_requests_total[1m])))[1h:2s]) > 0"
        reply = httpx.get(
            f"{sandbox.prometheus.url}/api/v1/query", params={"query": query}, timeout=5
        )
        return bool(reply.json()["data"]["result"])

    procs.wait_until(recorded, 60, "Prometheus to record the API's request rate", interval=0.5)


def profile_with(sandbox, tmp_path, name: str, search: dict | None = None, **capacity) -> str:
    """The sandbox's profile with some of its capacity settings changed (its tables exist
    already)."""
    text = sandbox.layout.target_file.read_text()
    for table, changes in (
        ("[expectations.load.profiles.capacity]\n", search or {}),
        ("[expectations.load.capacity]\n", capacity),
    ):
        for key, value in changes.items():
            text = text.replace(table, f"{table}{key} = {value}\n", 1)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


@pytest.mark.long
def test_the_search_finds_the_known_capacity_with_local_workers_and_reports_it(
    sandbox, nbaverify, tmp_path
):
    assert limited(sandbox) == KNOWN_RPS
    # the sandbox's Prometheus saw the other load tests of this session: its peak is theirs, so no
    # minimum here
    lenient = profile_with(sandbox, tmp_path, "lenient", min_headroom=0.0)
    try:
        result = search(
            nbaverify,
            sandbox,
            tmp_path,
            "--target",
            lenient,
            "--workers",
            "2",
            name="reports/load/now",
        )
    finally:
        sandbox.up([])
    assert result.code == 0, result.out + result.err
    plan = result.summary["capacity"]
    assert plan["confirmed"] and abs(plan["knee_rps"] - KNOWN_RPS) / KNOWN_RPS <= 0.10, steps(plan)
    # the `up` that lifted the limit healed the sandbox: the broken steps' seconds-long p95 left
    # with it, as a healed fault's traces do
    slo = nbaverify(
        "check", "all", "--", "checks/test_monitoring_prometheus.py::check_slo_p95_latency"
    )
    assert slo.summary is not None and slo.not_passing() == {}, slo.out
    assert plan["tolerance"] == 0.05 and plan["bracket"][1] is not None
    assert (plan["bracket"][1] - plan["bracket"][0]) / plan["bracket"][0] <= 0.05
    assert plan["steps"][-1]["phase"] == "confirm" and plan["steps"][-1]["held"]
    assert any(not s["held"] and "a backlog grows" in " ".join(s["reasons"]) for s in plan["steps"])
    # the projection, every figure from its source: the double's Deployment and HPA, the database's
    # limit
    assert plan["replicas"] == 3 and plan["hpa_max_replicas"] == 10
    assert plan["fleet"]["hpa_target_utilization"] == 80 and plan["fleet"]["pool_max"] == 20
    cap = plan["fleet"]["max_connections"] // 20
    assert plan["scalable_replicas"] == min(10, cap)
    assert plan["projected_max_rps"] == round(plan["knee_rps"] / 3 * min(10, cap) * 0.8, 1)
    assert plan["observed_peak_rps"] > 0
    assert plan["headroom"] == round(plan["projected_max_rps"] / plan["observed_peak_rps"], 2)
    assert set(result.summary["peak_rss_mib"]) == {"master", "worker-1", "worker-2"}
    assert re.search(r"NBAVERIFY LOAD PASS - capacity: knee \d+(\.\d+)?/s ±5%", result.out)
    out = tmp_path / "reports" / "load" / "now"
    assert {
        "capacity.png",
        "report.html",
        "summary.md",
        "search-stats.json",
        "locust_stats.csv",
    } <= {p.name for p in out.iterdir()}
    html = (out / "report.html").read_text()
    assert (
        "<h2>Capacity</h2>" in html
        and "data:image/png;base64," in html
        and "The platform held" in html
    )

    # the healthy API, its ladder cut at 40 req/s, against a previous capacity run that held far
    # more and a minimum headroom nothing meets: the knee is said to be above the ladder, the
    # regression and the headroom fail
    earlier = json.loads((out / "summary.json").read_text())
    earlier.update(run_id="last-quarter", started_at=utc_now_iso())
    earlier["capacity"]["knee_rps"] = 400.0
    (tmp_path / "reports" / "load" / "last-quarter").mkdir()
    (tmp_path / "reports" / "load" / "last-quarter" / "summary.json").write_text(
        json.dumps(earlier)
    )
    strict = profile_with(
        sandbox, tmp_path, "strict", search={"max_rps": 40.0}, min_headroom=1000.0
    )
    sandbox.allowlist(["127.0.0.1"])
    again = search(nbaverify, sandbox, tmp_path, "--target", strict, name="reports/load/again")
    assert again.code == 1, again.out + again.err
    plan = again.summary["capacity"]
    assert [s["offered_rps"] for s in plan["steps"]] == [20, 40, 40] and all(
        s["held"] for s in plan["steps"]
    )
    assert (
        plan["knee_rps"] == 40
        and plan["note"] == "every rate up to max_rps 40 req/s held: the knee is above it"
    )
    assert re.fullmatch(
        r"headroom \d+\.\d\dx under the minimum 1000x: the platform projects to [\d.]+ req/s at"
        r" \d+ "
        r"replicas against an observed peak of [\d.]+ req/s",
        again.summary["problems"][0],
    )
    assert plan["previous_run"] == "last-quarter" and plan["previous_knee_rps"] == 400.0
    assert (
        "WARN regression since last-quarter: knee 400 -> 40 req/s (-90%, tolerance 10%)"
        in again.out
    )
    assert (
        "(the knee is above it: every rate tried held)"
        in (tmp_path / "reports" / "load" / "again" / "summary.md").read_text()
    )

    # the compliance report carries the capacity plan (beside a check run's evidence record, which
    # it requires)
    checked = nbaverify(
        "check",
        "gate",
        "--report-dir",
        str(tmp_path / "reports" / "gate"),
        "--",
        "-k",
        "check_health_ok",
    )
    assert checked.code == 0, checked.out + checked.err
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "nbaverify.cli",
            "report",
            "--reports",
            str(tmp_path / "reports"),
            "--out",
            str(tmp_path / "compliance"),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    text = (tmp_path / "compliance" / "compliance.md").read_text()
    assert "## Capacity plan" in text and re.search(r"\(PASS\): The platform held \d", text)
    assert re.search(r"\(FAIL\): The platform held 40\.0 req/s \(the knee is above it", text)
    assert "<h2>Capacity plan</h2>" in (tmp_path / "compliance" / "compliance.html").read_text()


@pytest.mark.long
def test_the_search_drives_remote_workers_to_the_known_capacity(sandbox, sandbox_env, tmp_path):
    limited(sandbox, api="node")
    out, port = tmp_path / "remote", procs.free_port()
    lenient = profile_with(sandbox, tmp_path, "lenient", min_headroom=0.0)
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nbaverify.cli",
            "load",
            "--target",
            lenient,
            "--profile",
            "capacity",
            "--remote-workers",
            "1",
            "--master-port",
            str(port),
            "--report-dir",
            str(out),
        ],
        cwd=PROJECT_ROOT,
        env={**sandbox_env, **sandbox.environ()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not (out / "config.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        # as on another machine: the checkout, the run's config.json and the JWT secret, nothing
        # else shared
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                "load/locustfile.py",
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                str(port),
            ],
            cwd=PROJECT_ROOT,
            env={
                **sandbox_env,
                "NBAVERIFY_LOAD_CONFIG": str(out / "config.json"),
                "NBAVERIFY_LOAD_JWT_SECRET": sandbox.secrets.jwt_secret,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        printed, _ = run.communicate(timeout=400)
        worker.wait(timeout=30)  # the worker leaves when the search ends
    finally:
        for process in (run, worker):
            if process is not None and process.poll() is None:
                process.kill()
        sandbox.up([])
    summary = json.loads((out / "summary.json").read_text())
    assert run.returncode == 0, printed
    assert abs(summary["capacity"]["knee_rps"] - KNOWN_RPS) / KNOWN_RPS <= 0.10, steps(
        summary["capacity"]
    )
    assert "waiting for 1 worker(s)" in printed


def test_a_projection_without_its_sources_fails_saying_what_is_missing(
    sandbox, nbaverify, tmp_path
):
    sandbox.up([])
    kept, dropping = [], False
    for line in sandbox.layout.target_file.read_text().splitlines():
        if line.startswith("["):
            # no [kubernetes] (nor the pod logs read through it), no [prometheus]
            dropping = line in ("[kubernetes]", "[logs]", "[prometheus]")
        if not dropping:
            kept.append(line)
    bare = tmp_path / "bare.toml"
    bare.write_text(
        "\n".join(kept).replace("hold_s = 8.0\n", "hold_s = 8.0\nmax_rps = 20.0\n", 1) + "\n"
    )
    sandbox.allowlist(["127.0.0.1"])
    result = search(nbaverify, sandbox, tmp_path, "--target", str(bare))
    assert result.code == 1, result.out + result.err
    plan = result.summary["capacity"]
    assert plan["knee_rps"] == 20 and plan["replicas"] is None and plan["projected_max_rps"] is None
    assert plan["fleet"]["max_connections"] > 0  # the database's limit is still read
    assert result.summary["problems"] == [
        (
            "the projection through the autoscaler is incomplete: replicas: no [kubernetes]"
            " section; autoscaler: no [kubernetes] section"
        ),
        (
            "the observed peak request rate is unknown (no [prometheus] section), so the headroom"
            " cannot be judged"
        ),
    ]
    assert (
        "NBAVERIFY LOAD FAIL - capacity: knee 20/s ±5%, unknown a replica, projected unknown, peak"
        " unknown, headroom unknown" in result.out
    )


def test_a_rate_limited_generator_stops_the_search_saying_so(sandbox, nbaverify, tmp_path):
    result = search_under("load_not_allowlisted", nbaverify, sandbox, tmp_path)
    assert result.code == 1, result.out + result.err
    assert re.match(
        r"stopped early: the target rate-limited the load generator at 20 req/s \(\d+ requests"
        r" answered 429\)",
        result.summary["problems"][0],
    ), result.summary["problems"]
    assert (
        len(result.summary["capacity"]["steps"]) == 1
        and result.summary["capacity"]["knee_rps"] is None
    )
    assert CATALOGUE["load_not_allowlisted"].api_flags


def test_a_sick_platform_stops_the_search_before_any_step(sandbox, nbaverify, tmp_path):
    result = search_under("liveness_fails", nbaverify, sandbox, tmp_path)
    assert result.code == 1, result.out + result.err
    assert (
        result.summary["problems"][0]
        == "stopped early: the platform's health failed before a step: GET /health "
        "answered HTTP 503"
    )
    assert result.summary["capacity"]["steps"] == []
    assert not locust_processes(tmp_path), "Locust processes left running"


def test_an_interrupted_search_keeps_its_steps_and_stops_locust(sandbox, sandbox_env, tmp_path):
    from nbaverify.exit_codes import EXIT_INTERRUPTED

    sandbox.up([])
    out = tmp_path / "cut"
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nbaverify.cli",
            "load",
            "--profile",
            "capacity",
            "--report-dir",
            str(out),
        ],
        cwd=PROJECT_ROOT,
        env=sandbox_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:  # until the second step's figures are in
        figures = out / "search-stats.json"
        if figures.exists() and json.loads(figures.read_text() or "{}").get("relayed", 0) >= 2:
            break
        time.sleep(0.3)
    run.send_signal(signal.SIGTERM)
    printed, _ = run.communicate(timeout=90)
    assert run.returncode == EXIT_INTERRUPTED, printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verdict"] == "INTERRUPTED" and len(summary["capacity"]["steps"]) >= 1
    assert summary["problems"][0].startswith("interrupted after ")
    assert not locust_processes(tmp_path), "Locust processes left running"
