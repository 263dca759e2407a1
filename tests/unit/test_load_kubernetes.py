"""The distributed run rendered for Kubernetes: what the master runs, how many workers, where the
plan and the profile come from, and that no secret is written (the server-side dry run is
tests/sandbox/test_load.py's).
"""

from __future__ import annotations

import json

import yaml

from nbaverify.config import load_target
from nbaverify.loadtest import kubernetes

PROFILE = """name = "staging"
environment = "staging"
[api]
base_url = "https://api.staging.example"
jwt_secret_env = "NBA_JWT_SECRET"
"""
SETTINGS = {
    "namespace": "nba-load",
    "image": "",
    "master_port": 5557,
    "workers": 4,
    "deadline_s": 3600,
}


def test_the_master_judges_and_the_workers_read_the_plan(tmp_path):
    path = tmp_path / "staging.toml"
    path.write_text(PROFILE)
    target = load_target(str(path), environ={"NBA_JWT_SECRET": "s3cret-value-never-rendered"})
    config = {"model": "open", "weights": {"players": 1}}
    objects = kubernetes.render(
        config, target, ["--profile", "quarterly", "--model", "open"], 6, SETTINGS
    )
    assert [o["kind"] for o in objects] == [
        "Namespace",
        "ConfigMap",
        "ConfigMap",
        "Service",
        "Job",
        "Deployment",
    ]
    assert json.loads(objects[1]["data"]["config.json"]) == config
    assert objects[2]["data"]["target.toml"] == PROFILE
    master = objects[4]["spec"]["template"]["spec"]["containers"][0]
    assert master["command"] == [
        "nbaverify",
        "load",
        "--target",
        "/etc/nbaverify/target.toml",
        "--profile",
        "quarterly",
        "--model",
        "open",
        "--remote-workers",
        "6",
        "--master-port",
        "5557",
        "--allow",
        "disruptive",
        "--report-dir",
        "/reports/run",
    ]
    workers = objects[5]
    assert workers["spec"]["replicas"] == 6
    secret = workers["spec"]["template"]["spec"]["containers"][0]["env"][1]["valueFrom"][
        "secretKeyRef"
    ]
    assert secret == {"name": kubernetes.SECRET, "key": "NBA_JWT_SECRET"}
    written = kubernetes.write(objects, tmp_path / "plan", "NBA_JWT_SECRET").read_text()
    assert "s3cret-value-never-rendered" not in written
    assert list(yaml.safe_load_all(written)) == objects
    assert "--dry-run=server" in written.splitlines()[1]
