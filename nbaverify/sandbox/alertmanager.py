"""Alertmanager from the system package (prometheus-alertmanager, which ships amtool), serving a
deployed copy of the platform's configuration with every delivery pointed at this machine.

As with the rules, a fault breaks the deployed copy (a bad deploy), never fixtures/monitoring/.
The copy keeps the platform's receivers, routes, addresses and inhibitions; only where a
notification would go changes: webhooks to 127.0.0.1:<sink port>/<receiver>, email to a
smarthost on 127.0.0.1.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import yaml

from nbaverify import procs, shipped
from nbaverify.sandbox.layout import Layout

PLATFORM_CONFIG = shipped.MONITORING / "alertmanager" / "alertmanager.yml"


def binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class Alertmanager:
    def __init__(self, layout: Layout):
        self.layout = layout
        self.url = f"http://127.0.0.1:{layout.alertmanager_port}"
        self.folder = layout.root / "alertmanager"
        self.config_file = self.folder / "alertmanager.yml"
        self.pid_file = layout.pid_file("alertmanager")

    def pid(self) -> int | None:
        return procs.read_pid(self.pid_file, "alertmanager")

    def deploy_config(self) -> Path:
        """The platform's configuration, delivering locally (what a deploy would ship, here)."""
        config = yaml.safe_load(PLATFORM_CONFIG.read_text())
        config["global"].update(smtp_smarthost=f"127.0.0.1:{self.layout.alert_sink_port}", smtp_require_tls=False)
        for receiver in config["receivers"]:
            for hook in receiver.get("webhook_configs", []):
                hook["url"] = f"http://127.0.0.1:{self.layout.alert_sink_port}/{receiver['name']}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text("# deployed by nbaverify sandbox from fixtures/monitoring/alertmanager\n"
                                    + yaml.safe_dump(config, sort_keys=False))
        return self.config_file

    def sync(self, say) -> None:
        """The pristine configuration, and Alertmanager running with it (started or reloaded)."""
        self.deploy_config()
        if self.pid():
            self.reload()
        else:
            say(f"starting Alertmanager on {self.url}")
            self.start()

    def start(self) -> None:
        if self.pid():
            return
        procs.ensure_port_free(self.layout.alertmanager_port, "sandbox Alertmanager")
        procs.spawn([binary() or "prometheus-alertmanager", f"--config.file={self.config_file}",
                     f"--storage.path={self.folder / 'data'}",
                     f"--web.listen-address=127.0.0.1:{self.layout.alertmanager_port}",
                     "--cluster.listen-address="],  # one instance: no gossip port to collide with
                    self.layout.log_file("alertmanager"), self.pid_file)
        procs.wait_until(self.ready, 20, f"Alertmanager to be ready (see {self.layout.log_file('alertmanager')})")

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def reload(self) -> None:
        httpx.post(f"{self.url}/-/reload", timeout=5).raise_for_status()

    def edit_config(self, change) -> None:
        """Change the deployed configuration (a bad deploy) and have Alertmanager load it."""
        config = yaml.safe_load(self.config_file.read_text())
        change(config)
        self.config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        self.reload()

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            procs.stop_pid(pid)
