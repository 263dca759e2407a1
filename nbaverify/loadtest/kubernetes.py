"""The distributed load run as Kubernetes objects, rendered from the run's plan (`nbaverify load
--plan-only --kubernetes`): a master Job that runs `nbaverify load` and judges the run, a worker
Deployment of Locust processes scaled to the plan's workers, the Service they meet at, and the plan
and profile as ConfigMaps.

Secrets are never rendered: the master and workers read one Secret the team creates (`SECRET`),
whose keys are the profile's secret variables (the JWT secret's among them).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from nbaverify import __version__
from nbaverify.config import Target

SECRET = "nbaverify-load"
MASTER, WORKER = "nbaverify-load-master", "nbaverify-load-worker"
PLAN_MAP, TARGET_MAP = "nbaverify-load-plan", "nbaverify-target"


def signing_variable(target: Target) -> str:
    """The Secret's key (the profile's variable) holding what the users' tokens are signed with."""
    return getattr(target.api, target.signing_key_setting.split(".")[1]) or "JWT_SECRET"


def render(
    config: dict, target: Target, argv: list[str], workers: int, settings: dict
) -> list[dict]:
    """The objects, in the order to apply them. config: the plan every Locust process reads; argv:
    the master's `nbaverify load` options beyond the target and workers (profile, model, mix);
    settings: expectations.load.kubernetes.
    """
    namespace, port = settings["namespace"], settings["master_port"]
    image = settings["image"] or f"registry.example.com/nbaverify:{__version__}"
    meta = {"namespace": namespace, "labels": {"app.kubernetes.io/part-of": "nbaverify-load"}}
    secret_key = signing_variable(target)
    master_args = [
        "nbaverify",
        "load",
        "--target",
        "/etc/nbaverify/target.toml",
        *argv,
        "--remote-workers",
        str(workers),
        "--master-port",
        str(port),
        "--allow",
        "disruptive",
        "--report-dir",
        "/reports/run",
    ]
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": PLAN_MAP, **meta},
            "data": {"config.json": json.dumps(config, indent=2) + "\n"},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": TARGET_MAP, **meta},
            "data": {"target.toml": Path(target.source).read_text()},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": MASTER, **meta},
            "spec": {
                "selector": {"app": MASTER},
                "ports": [{"name": "locust", "port": port, "targetPort": port}],
            },
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": MASTER, **meta},
            "spec": {
                "backoffLimit": 0,
                "activeDeadlineSeconds": settings["deadline_s"],
                "template": {
                    "metadata": {"labels": {"app": MASTER}},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "master",
                                "image": image,
                                "command": master_args,
                                "ports": [{"containerPort": port}],
                                "envFrom": [{"secretRef": {"name": SECRET}}],
                                "volumeMounts": [
                                    {
                                        "name": "target",
                                        "mountPath": "/etc/nbaverify",
                                        "readOnly": True,
                                    },
                                    {"name": "reports", "mountPath": "/reports"},
                                ],
                                "resources": {
                                    "requests": {"cpu": "500m", "memory": "256Mi"},
                                    "limits": {"cpu": "1", "memory": "512Mi"},
                                },
                            }
                        ],
                        "volumes": [
                            {"name": "target", "configMap": {"name": TARGET_MAP}},
                            {"name": "reports", "emptyDir": {}},
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": WORKER, **meta},
            "spec": {
                "replicas": workers,
                "selector": {"matchLabels": {"app": WORKER}},
                "template": {
                    "metadata": {"labels": {"app": WORKER}},
                    "spec": {
                        "containers": [
                            {
                                "name": "worker",
                                "image": image,
                                "command": [
                                    "python",
                                    "-m",
                                    "locust",
                                    "-f",
                                    "/opt/nbaverify/load/locustfile.py",
                                    "--worker",
                                    "--master-host",
                                    MASTER,
                                    "--master-port",
                                    str(port),
                                ],
                                "env": [
                                    {
                                        "name": "NBAVERIFY_LOAD_CONFIG",
                                        "value": "/etc/nbaverify-load/config.json",
                                    },
                                    {
                                        "name": "NBAVERIFY_LOAD_JWT_SECRET",
                                        "valueFrom": {
                                            "secretKeyRef": {"name": SECRET, "key": secret_key}
                                        },
                                    },
                                ],
                                "volumeMounts": [
                                    {
                                        "name": "plan",
                                        "mountPath": "/etc/nbaverify-load",
                                        "readOnly": True,
                                    }
                                ],
                                "resources": {
                                    "requests": {"cpu": "1", "memory": "256Mi"},
                                    "limits": {"cpu": "1", "memory": "512Mi"},
                                },
                            }
                        ],
                        "volumes": [{"name": "plan", "configMap": {"name": PLAN_MAP}}],
                    },
                },
            },
        },
    ]


def write(objects: list[dict], out: Path, secret_key: str) -> Path:
    """kubernetes.yaml beside config.json, headed by how to apply it."""
    namespace = objects[0]["metadata"]["name"]
    head = (
        "# nbaverify load, distributed: rendered by `nbaverify load --plan-only --kubernetes`.\n# "
        "  kubectl apply --dry-run=server -f kubernetes.yaml   (the server validates it; nothing"
        f" is made)\n#   kubectl -n {namespace} create secret generic {SECRET}"
        f" --from-literal={secret_key}=...\n#   kubectl apply -f kubernetes.yaml; kubectl -n"
        f" {namespace} logs -f job/{MASTER}\n# The master judges the run and writes the report to"
        " its volume (an emptyDir: mount a claim to keep\n# the quarterly reports and their"
        " trend); the workers only generate load.\n"
    )
    path = out / "kubernetes.yaml"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(head + yaml.safe_dump_all(objects, sort_keys=False, width=120))
    return path
