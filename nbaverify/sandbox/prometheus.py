"""Prometheus from the system package, with the node and PostgreSQL exporters, scraping the
sandbox API and loading the platform's rules; and a deployed copy of the dashboards.

The rules and dashboards the sandbox serves are copies under the state directory: a fault breaks
the deployed copy (as a bad deploy would), never the platform's files in fixtures/.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import yaml

from nbaverify import procs, shipped
from nbaverify.sandbox import alertmanager, local_http, variant_shapes
from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.variants import DEFAULT, Variant

MONITORING = shipped.MONITORING
NODE_COLLECTORS = ("cpu", "meminfo", "filesystem", "netdev", "loadavg", "diskstats")


def binary() -> str | None:
    return shutil.which("prometheus")


def exporters_installed() -> bool:
    return bool(
        shutil.which("prometheus-node-exporter") and shutil.which("prometheus-postgres-exporter")
    )


class Prometheus:
    """The sandbox's Prometheus (the system package) and its exporters (node, PostgreSQL, and the
    synthetic per-pod one at --scale above 1), with the deployed copies of the rules and dashboards
    that faults break; `sync` makes them pristine and starts or reloads it, `reset` gives it a fresh
    TSDB. Not the suite's client (that is clients.prom).
    """

    def __init__(self, layout: Layout):
        self.layout = layout
        self.url = f"http://127.0.0.1:{layout.prometheus_port}"
        self.pid_file = layout.pid_file("prometheus")
        self.rules_dir = layout.prometheus_dir / "rules"
        self.dashboards_dir = layout.root / "grafana" / "dashboards"
        # the platform's monitoring as its team ships it (the variant's rules and their promtool
        # tests): what the deployed copy is held to (expected_rules_dir) and tested with
        # (rule_tests_dir)
        self.platform_rules_dir = layout.root / "platform" / "monitoring" / "rules"
        self.platform_tests_dir = layout.root / "platform" / "monitoring" / "tests"
        self.variant: Variant = DEFAULT

    @property
    def jobs(self) -> list[str]:
        return [
            variant_shapes.job_name(job, self.variant)
            for job in [
                "nba-api",
                "prometheus",
                *(["node", "postgres"] if exporters_installed() else []),
                *(["nba-api-pods"] if self.scale > 1 else []),
            ]
        ]

    @property
    def scale(self) -> int:
        """The --scale the sandbox was seeded at: above 1, the synthetic per-pod exporter adds the
        tenants' series."""
        found = self.layout.scale_file
        return int(found.read_text().strip() or 1) if found.exists() else 1

    def pid(self) -> int | None:
        return procs.read_pid(self.pid_file, "prometheus --config")

    def deploy_monitoring(self) -> None:
        """The platform's rules and tests as the variant ships them, and pristine deployed copies of
        the rules and dashboards (what a deploy would ship)."""
        shipped = {
            p.name: yaml.safe_load(p.read_text())
            for p in sorted((MONITORING / "rules").glob("*.yml"))
        }
        rules = variant_shapes.rule_files(shipped, self.variant)
        for folder in (self.platform_rules_dir, self.rules_dir, self.platform_tests_dir):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        for name, doc in rules.items():
            text = yaml.safe_dump(doc, sort_keys=False)
            (self.platform_rules_dir / name).write_text(text)
            (self.rules_dir / name).write_text(text)
        for path in sorted((MONITORING / "tests").glob("*.yml")):
            tests = variant_shapes.rule_tests(yaml.safe_load(path.read_text()), self.variant)
            (self.platform_tests_dir / path.name).write_text(yaml.safe_dump(tests, sort_keys=False))
        shutil.rmtree(self.dashboards_dir, ignore_errors=True)
        shutil.copytree(MONITORING / "dashboards", self.dashboards_dir)

    def write_config(self, api_target: str | None = None, alerting: str = "every") -> Path:
        """alerting: send to every instance of the sandbox's Alertmanager (when it is installed), to
        the "first" only, or to "none" (faults)."""
        layout = self.layout
        name = lambda job: variant_shapes.job_name(job, self.variant)  # noqa: E731
        jobs = [
            {
                "job_name": name("nba-api"),
                "scheme": "https",
                "metrics_path": "/metrics",
                "tls_config": {"ca_file": str(layout.ca_file)},
                "static_configs": [{"targets": [api_target or f"127.0.0.1:{layout.api_port}"]}],
            },
            {
                "job_name": name("prometheus"),
                "static_configs": [{"targets": [f"127.0.0.1:{layout.prometheus_port}"]}],
            },
        ]
        if exporters_installed():
            jobs += [
                {
                    "job_name": name("node"),
                    "static_configs": [{"targets": [f"127.0.0.1:{layout.node_exporter_port}"]}],
                },
                {
                    "job_name": name("postgres"),
                    "static_configs": [{"targets": [f"127.0.0.1:{layout.postgres_exporter_port}"]}],
                },
            ]
        if self.scale > 1:
            # the SYNTHETIC per-pod exporter (nbaverify.sandbox.pod_exporter): the tenants' series
            jobs.append(
                {
                    "job_name": name("nba-api-pods"),
                    "scrape_interval": "15s",
                    "static_configs": [{"targets": [f"127.0.0.1:{layout.pod_exporter_port}"]}],
                }
            )
        # the default sandbox's 2s keeps the fault matrix fast
        interval = self.variant["scrape_interval"]
        config = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "rule_files": [str(self.rules_dir / "*.yml")],
            "scrape_configs": jobs,
        }
        if alerting != "none" and alertmanager.binary():
            # as a platform's service discovery would: by addresses of its own (localhost, where the
            # profile says 127.0.0.1), with an endpoint that is not Alertmanager's API (the gossip
            # port) dropped by relabelling one instance: one to tell
            pair = alerting == "every" and self.variant["alertmanager"] == "cluster"
            told = [layout.alertmanager_port] + ([layout.alertmanager_peer_port] if pair else [])
            gossip = f"localhost:{layout.alertmanager_gossip_port}"
            config["alerting"] = {
                "alertmanagers": [
                    {
                        "static_configs": [
                            {"targets": [f"localhost:{port}" for port in told] + [gossip]}
                        ],
                        "relabel_configs": [
                            {"source_labels": ["__address__"], "regex": gossip, "action": "drop"}
                        ],
                    }
                ]
            }
        path = layout.prometheus_dir / "prometheus.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# written by nbaverify sandbox\n" + yaml.safe_dump(config, sort_keys=False)
        )
        return path

    def sync(self, monitor_dsn: str, say, variant: Variant = DEFAULT) -> None:
        """Pristine rules, dashboards and config; Prometheus and the exporters running (or
        reloaded).

        A restarted Prometheus syncs its targets on a 5 s ticker, so its first scrape lands a few
        seconds later: `up` does not wait for it; the `prom` fixture does (once a run), and
        wait_scraped() is there for the self-tests.
        """
        self.variant = variant
        self.deploy_monitoring()
        self.write_config()
        if exporters_installed():
            self._start_exporters(monitor_dsn)
        if self.scale > 1:
            self._start_pod_exporter()
        if self.pid():
            self.reload()
        else:
            say(f"starting Prometheus on {self.url}")
            self.start()

    def wait_scraped(self) -> None:
        """Until every job has been scraped up since now, and the PostgreSQL exporter has reached
        its database.

        Since now, not the targets' last health: a restarted Prometheus still answers from its old
        TSDB, and the exporter's first scrape after PostgreSQL restarted finds its pooled connection
        dead (pg_up 0, the pg_stat_activity and pg_replication_slots families left out) while its
        target still reads up.
        """
        jobs, since = set(self.jobs), time.time()

        def scraped() -> bool:
            fresh = {s["metric"]["job"] for s in self.query(f"timestamp(up == 1) > {since}")}
            return fresh >= jobs and (
                not exporters_installed() or bool(self.query(f"timestamp(pg_up == 1) > {since}"))
            )

        procs.wait_until(
            scraped,
            30,
            f"every scrape job ({', '.join(sorted(jobs))}) to be scraped, the PostgreSQL "
            f"exporter reaching its database (see {self.layout.log_file('prometheus')})",
            interval=0.25,
        )

    def _start_exporters(self, monitor_dsn: str) -> None:
        layout = self.layout
        node, pg = layout.pid_file("node-exporter"), layout.pid_file("postgres-exporter")
        if not procs.read_pid(node, "node-exporter"):
            procs.ensure_port_free(layout.node_exporter_port, "sandbox node exporter")
            procs.spawn(
                [
                    "prometheus-node-exporter",
                    f"--web.listen-address=127.0.0.1:{layout.node_exporter_port}",
                    "--collector.disable-defaults",
                    *(f"--collector.{c}" for c in NODE_COLLECTORS),
                ],
                layout.log_file("node-exporter"),
                node,
            )
        if not procs.read_pid(pg, "postgres-exporter"):
            procs.ensure_port_free(layout.postgres_exporter_port, "sandbox PostgreSQL exporter")
            procs.spawn(
                [
                    "prometheus-postgres-exporter",
                    f"--web.listen-address=127.0.0.1:{layout.postgres_exporter_port}",
                ],
                layout.log_file("postgres-exporter"),
                pg,
                env={"DATA_SOURCE_NAME": f"{monitor_dsn}?sslmode=disable", "PATH": "/usr/bin:/bin"},
            )

    def _start_pod_exporter(self) -> None:
        pid_file = self.layout.pid_file("pod-exporter")
        if procs.read_pid(pid_file, "pod_exporter"):
            return
        procs.ensure_port_free(self.layout.pod_exporter_port, "sandbox synthetic per-pod exporter")
        procs.spawn(
            [
                sys.executable,
                "-m",
                "nbaverify.sandbox.pod_exporter",
                "--state-dir",
                str(self.layout.root),
                "--port-base",
                str(self.layout.port_base),
            ],
            self.layout.log_file("pod-exporter"),
            pid_file,
        )

    def start(self) -> None:
        if self.pid():
            return
        procs.ensure_port_free(self.layout.prometheus_port, "sandbox Prometheus")
        config = self.write_config()
        procs.spawn(
            [
                binary() or "prometheus",
                f"--config.file={config}",
                f"--storage.tsdb.path={self.layout.prometheus_dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.layout.prometheus_port}",
                "--web.enable-lifecycle",
                "--storage.tsdb.retention.time=2d",
                # a restarted Alertmanager hears the firing alerts at once
                "--rules.alert.resend-delay=2s",
            ],
            self.layout.log_file("prometheus"),
            self.pid_file,
        )
        procs.wait_until(
            self.ready, 20, f"Prometheus to be ready (see {self.layout.log_file('prometheus')})"
        )

    def ready(self) -> bool:
        return local_http.client().get(f"{self.url}/-/ready", timeout=1).status_code == 200

    def reload(self) -> None:
        local_http.client().post(f"{self.url}/-/reload").raise_for_status()

    def query(self, expr: str) -> list:
        reply = local_http.client().get(f"{self.url}/api/v1/query", params={"query": expr})
        return reply.json()["data"]["result"]

    def wait_for(self, expr: str, what: str, timeout: float = 30) -> None:
        """Until the instant query returns something (a scrape or a rule evaluation has
        happened)."""
        procs.wait_until(lambda: bool(self.query(expr)), timeout, what, interval=0.25)

    def reset(self) -> None:
        """A fresh TSDB: what a fault left in the history (rates, pending alerts) is gone. Exporters
        keep running."""
        self.stop_server()
        shutil.rmtree(self.layout.prometheus_dir / "data", ignore_errors=True)
        self.start()

    def stop_server(self) -> None:
        pid = self.pid()
        if pid:
            procs.stop_pid(pid)

    def stop(self) -> None:
        for pid_file, marker in (
            (self.pid_file, "prometheus --config"),
            (self.layout.pid_file("node-exporter"), "node-exporter"),
            (self.layout.pid_file("postgres-exporter"), "postgres-exporter"),
            (self.layout.pid_file("pod-exporter"), "pod_exporter"),
        ):
            pid = procs.read_pid(pid_file, marker)
            if pid:
                procs.stop_pid(pid)
