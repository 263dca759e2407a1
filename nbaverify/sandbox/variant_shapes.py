"""What each variant's choices do to the platform's own files: its Alertmanager configuration, its
alert rules and their tests, its scrape jobs, its Kubernetes manifests. Pure functions from the
shipped form (fixtures/) to the variant's, so each is readable and tested apart from the sandbox
that deploys it."""

from __future__ import annotations

import copy
import re

from nbaverify.sandbox.variants import Variant

# -- Alertmanager ----------------------------------------------------------------------------------
PLAIN_RECEIVERS = {
    "oncall-pager": "pager",
    "devops": "ops",
    "database-team": "dba",
    "security-team": "secops",
    "watchdog": "heartbeat",
}
DOMAIN = "nba-stat-projections.com"


def alertmanager(config: dict, variant: Variant) -> dict:
    """The platform's alertmanager.yml as the variant writes it (delivery still to the real
    addresses: the sandbox points it at its sink afterwards)."""
    config = copy.deepcopy(config)
    names = (
        PLAIN_RECEIVERS if variant["receiver_names"] == "plain" else {k: k for k in PLAIN_RECEIVERS}
    )
    if variant["watchdog"] == "off":
        config["receivers"] = [r for r in config["receivers"] if r["name"] != "watchdog"]
        config["route"]["routes"] = [
            r for r in config["route"]["routes"] if r.get("receiver") != "watchdog"
        ]
    if variant["delivery"] == "email-only":
        for receiver in config["receivers"]:
            if receiver.get("webhook_configs"):
                who = "oncall" if receiver["name"] == "oncall-pager" else receiver["name"]
                resolved = any(h.get("send_resolved") for h in receiver["webhook_configs"])
                receiver["email_configs"] = [{"to": f"{who}@{DOMAIN}", "send_resolved": resolved}]
                del receiver["webhook_configs"]
    if variant["inhibition"] == "off":
        config.pop("inhibit_rules", None)
    if variant["route_shape"] == "nested":
        config["route"]["routes"] = _nested(config["route"]["routes"])
    config["receivers"] = [
        {**r, "name": names.get(r["name"], r["name"])} for r in config["receivers"]
    ]
    _rename_routes(config["route"], names)
    config["route"].update(
        group_wait=variant["group_wait"], group_interval=variant["group_interval"]
    )
    return config


def _rename_routes(route: dict, names: dict[str, str]) -> None:
    if route.get("receiver"):
        route["receiver"] = names.get(route["receiver"], route["receiver"])
    for child in route.get("routes", []) or []:
        _rename_routes(child, names)


def _nested(routes: list[dict]) -> list[dict]:
    """The same escalation as the shipped flat routes with `continue`, written as a tree: critical
    alerts page and then descend to the teams and DevOps; warnings go to their team by the team
    label, or DevOps by default.
    """
    watchdog = [r for r in routes if r.get("receiver") == "watchdog"]
    return [
        *watchdog,
        {"receiver": "oncall-pager", "matchers": ['severity="critical"'], "continue": True},
        {
            "receiver": "devops",
            "matchers": ['severity="critical"'],
            "routes": [
                {"receiver": "database-team", "matchers": ['team="database"'], "continue": True},
                {"receiver": "security-team", "matchers": ['team="security"'], "continue": True},
                {"receiver": "devops"},
            ],
        },
        {"receiver": "database-team", "matchers": ['team="database"']},
        {"receiver": "security-team", "matchers": ['team="security"']},
    ]


# -- alert rules, their tests, recording rules, scrape jobs ----------------------------------------
RENAMED_RULES = ("platform-alerts.yml", "platform")  # file, group
RECORDING = {
    "groups": [
        {
            "name": "nba-stats-recording",
            "rules": [
                {
                    "record": "job:http_requests:rate5m",
                    "expr": "sum by (job) (rate(http_requests_total[5m]))",
                },
                {
                    "record": "job:http_request_duration_seconds:p95_5m",
                    "expr": (
                        "histogram_quantile(0.95, sum by (job, le)"
                        " (rate(http_request_duration_seconds_bucket[5m])))"
                    ),
                },
            ],
        }
    ]
}


def rule_files(files: dict[str, dict], variant: Variant) -> dict[str, dict]:
    """The platform's rule files (name -> YAML document) as the variant ships them."""
    shaped = {}
    for name, doc in files.items():
        doc = copy.deepcopy(doc)
        for group in doc.get("groups", []):
            if variant["watchdog"] == "off":
                group["rules"] = [r for r in group["rules"] if r.get("alert") != "Watchdog"]
            if variant["rule_names"] == "renamed":
                group["name"] = RENAMED_RULES[1]
        shaped[RENAMED_RULES[0] if variant["rule_names"] == "renamed" else name] = doc
    if variant["recording_rules"] == "some":
        shaped["platform-recording.yml"] = copy.deepcopy(RECORDING)
    return shaped


def rule_tests(doc: dict, variant: Variant) -> dict:
    """The platform's promtool tests as the variant ships them (its rule file's name, no Watchdog
    without one)."""
    doc = copy.deepcopy(doc)
    if variant["rule_names"] == "renamed":
        doc["rule_files"] = [
            re.sub(r"[^/]+\.yml$", RENAMED_RULES[0], f) for f in doc.get("rule_files", [])
        ]
    if variant["watchdog"] == "off":
        doc["tests"] = [
            t
            for t in doc.get("tests", [])
            if not any(case.get("alertname") == "Watchdog" for case in t.get("alert_rule_test", []))
        ]
    return doc


KUBE_STYLE_JOBS = {
    "nba-api": "nba-stats/api",
    "prometheus": "monitoring/prometheus",
    "node": "node-exporter",
    "postgres": "postgres-exporter",
    "nba-api-pods": "nba-stats/api-pods",
}


def job_name(job: str, variant: Variant) -> str:
    return KUBE_STYLE_JOBS.get(job, job) if variant["job_names"] == "kube-style" else job


# -- Kubernetes manifests --------------------------------------------------------------------------
LABEL_PLACES = ("labels", "matchLabels")
WEB_NAMESPACE = "nba-web"


def manifests(objects: list[dict], variant: Variant) -> list[dict]:
    """The platform's manifests as the variant writes them: its label key, its NetworkPolicy style,
    its batch workloads, its namespaces."""
    objects = copy.deepcopy(objects)
    key = variant["labels"]
    if variant["network_policies"] == "default-deny":
        objects = [
            o
            for o in objects
            if not (
                o["kind"] == "NetworkPolicy"
                and o["metadata"].get("namespace", "nba-stats") == "nba-stats"
            )
        ] + default_deny()
    if variant["batch_workloads"] == "all":
        objects += batch_workloads()
    if variant["namespaces"] == "split":
        objects = _split(objects)
    if key != "app":
        for obj in objects:
            _relabel(obj, key)
    return objects


def _relabel(node, key: str, parent: str = "") -> None:
    """The label key `app` renamed wherever labels are set or selected (metadata, selectors, policy
    peers)."""
    if isinstance(node, dict):
        selector_like = parent in LABEL_PLACES or (
            parent == "selector" and "matchLabels" not in node and "matchExpressions" not in node
        )
        if selector_like and "app" in node:
            node[key] = node.pop("app")
        if parent in ("podSelector", "selector") and isinstance(node.get("matchExpressions"), list):
            for expression in node["matchExpressions"]:
                if isinstance(expression, dict) and expression.get("key") == "app":
                    expression["key"] = key
        for name, value in list(node.items()):
            _relabel(value, key, name)
    elif isinstance(node, list):
        for value in node:
            _relabel(value, key, parent)


def _split(objects: list[dict]) -> list[dict]:
    """The frontend and the batch workloads in a namespace of their own; the api admits the frontend
    from there."""
    moved = {
        "frontend",
        "frontend-network-policy",
        "nightly-report",
        "season-backfill",
        "stats-debug",
        "projection-cache",
        "batch-deny-ingress",
        "allow-ingress-to-frontend",
    }
    for obj in objects:
        meta = obj["metadata"]
        if meta.get("name") in moved and meta.get("namespace", "nba-stats") == "nba-stats":
            meta["namespace"] = WEB_NAMESPACE
        if obj["kind"] == "NetworkPolicy" and meta.get("namespace", "nba-stats") == "nba-stats":
            for rule in obj["spec"].get("ingress", []) or []:
                for peer in rule.get("from", []) or []:
                    if (peer.get("podSelector") or {}).get("matchLabels", {}).get(
                        "app"
                    ) == "frontend":
                        peer["namespaceSelector"] = {
                            "matchLabels": {"kubernetes.io/metadata.name": WEB_NAMESPACE}
                        }
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": WEB_NAMESPACE,
                "labels": {"app.kubernetes.io/part-of": "nba-stats"},
            },
        },
        *objects,
    ]


RESOURCES = {
    "limits": {"cpu": "200m", "memory": "128Mi"},
    "requests": {"cpu": "100m", "memory": "64Mi"},
}


def _container(name: str, image: str, port: int | None = None) -> dict:
    container: dict = {"name": name, "image": image, "resources": copy.deepcopy(RESOURCES)}
    if port:
        probe = {"tcpSocket": {"port": port}}
        container.update(
            ports=[{"containerPort": port}],
            readinessProbe=probe,
            livenessProbe=copy.deepcopy(probe),
        )
    return container


def batch_workloads() -> list[dict]:
    """A StatefulSet (a projection cache), a CronJob (a nightly report), a Job (a season backfill)
    and a bare Pod (a debug pod someone left), each pinned, limited, probed where it serves, and
    isolated."""
    labels = {"app": "batch"}
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "projection-cache", "namespace": "nba-stats"},
            "spec": {
                "clusterIP": "None",
                "selector": {"app": "projection-cache"},
                "ports": [{"port": 6379}],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "projection-cache", "namespace": "nba-stats"},
            "spec": {
                "serviceName": "projection-cache",
                "replicas": 2,
                "selector": {"matchLabels": {"app": "projection-cache"}},
                "template": {
                    "metadata": {"labels": {"app": "projection-cache"}},
                    "spec": {
                        "containers": [
                            _container("cache", "registry.example.com/nba-stats/cache:7.2.4", 6379)
                        ]
                    },
                },
            },
        },
        {
            "apiVersion": "batch/v1",
            "kind": "CronJob",
            "metadata": {"name": "nightly-report", "namespace": "nba-stats"},
            "spec": {
                "schedule": "0 4 * * *",
                "jobTemplate": {
                    "spec": {
                        "template": {
                            "metadata": {"labels": dict(labels)},
                            "spec": {
                                "restartPolicy": "OnFailure",
                                "containers": [
                                    _container(
                                        "report", "registry.example.com/nba-stats/report:1.2.0"
                                    )
                                ],
                            },
                        }
                    }
                },
            },
        },
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "season-backfill", "namespace": "nba-stats"},
            "spec": {
                "template": {
                    "metadata": {"labels": dict(labels)},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            _container("backfill", "registry.example.com/nba-stats/backfill:3.1.0")
                        ],
                    },
                }
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "stats-debug", "namespace": "nba-stats", "labels": dict(labels)},
            "spec": {
                "containers": [
                    _container("debug", "registry.example.com/nba-stats/debug:0.4.1", 8080)
                ]
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "batch-deny-ingress", "namespace": "nba-stats"},
            "spec": {
                "podSelector": {
                    "matchExpressions": [
                        {"key": "app", "operator": "In", "values": ["batch", "projection-cache"]}
                    ]
                },
                "policyTypes": ["Ingress"],
            },
        },
    ]


def default_deny() -> list[dict]:
    """Default-deny ingress in the namespace, then one allow rule per path the platform needs, under
    their names."""

    def policy(name: str, spec: dict) -> dict:
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "nba-stats"},
            "spec": spec,
        }

    return [
        policy("default-deny-ingress", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        policy(
            "allow-frontend-to-api",
            {
                "podSelector": {
                    "matchExpressions": [{"key": "app", "operator": "In", "values": ["api"]}]
                },
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}],
                        "ports": [{"port": 3000, "protocol": "TCP"}],
                    }
                ],
            },
        ),
        policy(
            "allow-ingress-to-frontend",
            {
                "podSelector": {"matchLabels": {"app": "frontend"}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                                }
                            }
                        ],
                        "ports": [{"port": 8080, "protocol": "TCP"}],
                    }
                ],
            },
        ),
    ]
