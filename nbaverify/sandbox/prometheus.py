"""Prometheus from the system package, scraping the sandbox API and loading the platform's rules."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import yaml

from nbaverify import procs
from nbaverify.sandbox.layout import Layout

RULES_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "monitoring" / "rules"
# Short intervals keep the fault matrix fast; the rules themselves stay as the guide writes them.
SCRAPE_INTERVAL = "2s"
EVALUATION_INTERVAL = "2s"


def binary() -> str | None:
    return shutil.which("prometheus")


class Prometheus:
    def __init__(self, layout: Layout):
        self.layout = layout
        self.url = f"http://127.0.0.1:{layout.prometheus_port}"
        self.pid_file = layout.pid_file("prometheus")

    def pid(self) -> int | None:
        return procs.read_pid(self.pid_file, "prometheus")

    def write_config(self) -> Path:
        rules = self.layout.prometheus_dir / "rules"
        rules.mkdir(parents=True, exist_ok=True)
        for old in rules.glob("*.yml"):
            old.unlink()
        for source in sorted(RULES_DIR.glob("*.yml")):  # a copy, so a fault can edit it and reload
            shutil.copy(source, rules / source.name)
        config = {
            "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": EVALUATION_INTERVAL},
            "rule_files": [str(rules / "*.yml")],
            "scrape_configs": [
                {"job_name": "nba-api", "scheme": "https", "metrics_path": "/metrics",
                 "tls_config": {"ca_file": str(self.layout.ca_file)},
                 "static_configs": [{"targets": [f"127.0.0.1:{self.layout.api_port}"]}]},
                {"job_name": "prometheus",
                 "static_configs": [{"targets": [f"127.0.0.1:{self.layout.prometheus_port}"]}]},
            ],
        }
        path = self.layout.prometheus_dir / "prometheus.yml"
        path.write_text("# written by nbaverify sandbox\n" + yaml.safe_dump(config, sort_keys=False))
        return path

    def start(self) -> None:
        if self.pid():
            return
        procs.ensure_port_free(self.layout.prometheus_port, "sandbox Prometheus")
        config = self.write_config()
        procs.spawn(
            [binary() or "prometheus", f"--config.file={config}",
             f"--storage.tsdb.path={self.layout.prometheus_dir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.layout.prometheus_port}",
             "--web.enable-lifecycle", "--storage.tsdb.retention.time=2d"],
            self.layout.log_file("prometheus"), self.pid_file,
        )
        procs.wait_until(self.ready, 20, f"Prometheus to be ready (see {self.layout.log_file('prometheus')})")

    def ready(self) -> bool:
        return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200

    def reload(self) -> None:
        self.write_config()
        httpx.post(f"{self.url}/-/reload", timeout=5).raise_for_status()

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            procs.stop_pid(pid)
