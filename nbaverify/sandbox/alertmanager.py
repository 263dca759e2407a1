"""Alertmanager from the system package (prometheus-alertmanager, which ships amtool), serving a
deployed copy of the platform's configuration with every delivery pointed at this machine.

As with the rules, a fault breaks the deployed copy (a bad deploy), never fixtures/monitoring/.
The copy keeps the platform's receivers, routes, addresses and inhibitions; only where a
notification would go changes (webhooks to 127.0.0.1:<sink port>/<receiver>, email to the sink's
SMTP port: nbaverify.sandbox.alert_sink), and how long it waits (group_wait 1 s, group_interval
2 s, the watchdog repeated every 10 s), so the drill and the matrix run in seconds.

Two instances gossip as a cluster (an HA pair, as production runs it): Prometheus sends to the
first, whose silences and notification log the second shares; each has its own copy of the deployed
file, so a deploy that reached one instance can be made. Gossip settles within 3 s of a start here
(--cluster.settle-timeout), not Alertmanager's default minute, so notifications are not held up, and
an instance waits 2 s (--cluster.peer-timeout), not 15, to hear that the one before it in the
cluster's order notified.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import httpx
import yaml

from nbaverify import procs, shipped
from nbaverify.sandbox import local_http, variant_shapes
from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.variants import DEFAULT, Variant

PLATFORM_CONFIG = shipped.MONITORING / "alertmanager" / "alertmanager.yml"


def binary() -> str | None:
    return shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


class Alertmanager:
    """The sandbox's Alertmanager (the system package): an HA pair or, as the variant chooses, one
    instance, each serving a deployed copy of the platform's configuration that delivers to the
    notification sink, which it starts too. `sync` makes the copies pristine and starts or reloads
    the instances; faults edit the copies, silence, or split the pair."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.url = f"http://127.0.0.1:{layout.alertmanager_port}"
        self.folder = layout.root / "alertmanager"
        self.config_file = self.folder / "alertmanager.yml"
        self.pid_file = layout.pid_file("alertmanager")
        self.sink_pid_file = layout.pid_file("alert-sink")
        self.peer_url = f"http://127.0.0.1:{layout.alertmanager_peer_port}"
        # the second instance's copy of the deploy
        self.peer_config_file = self.folder / "alertmanager-peer.yml"
        self.peer_pid_file = layout.pid_file("alertmanager-peer")
        self.mode_file = self.folder / "mode"  # cluster or single, as last started

    def pid(self) -> int | None:
        return procs.read_pid(self.pid_file, "alertmanager")

    def peer_pid(self) -> int | None:
        return procs.read_pid(self.peer_pid_file, "alertmanager")

    def deploy_config(self, variant: Variant = DEFAULT) -> Path:
        """The platform's configuration as the variant writes it, delivering locally (what a deploy
        would ship, here): every webhook to the sink at /<receiver>, every mail to its SMTP port."""
        config = variant_shapes.alertmanager(yaml.safe_load(PLATFORM_CONFIG.read_text()), variant)
        config["global"].update(
            smtp_smarthost=f"127.0.0.1:{self.layout.alert_smtp_port}", smtp_require_tls=False
        )
        for route in config["route"].get("routes", []):
            if 'alertname="Watchdog"' in (route.get("matchers") or []):
                route.update(repeat_interval="10s")
        for receiver in config["receivers"]:
            for hook in receiver.get("webhook_configs", []):
                hook["url"] = f"http://127.0.0.1:{self.layout.alert_sink_port}/{receiver['name']}"
        self.folder.mkdir(parents=True, exist_ok=True)
        text = (
            "# deployed by nbaverify sandbox from fixtures/monitoring/alertmanager\n"
            + yaml.safe_dump(config, sort_keys=False)
        )
        for path in (self.config_file, self.peer_config_file):
            path.write_text(text)
        return self.config_file

    def sync(self, say, variant: Variant = DEFAULT) -> None:
        """The pristine configuration, and Alertmanager running with it (started or reloaded), no
        silence: an HA pair, or (the variant's choice) one instance without gossip."""
        self.deploy_config(variant)
        self._start_sink()
        single = variant["alertmanager"] == "single"
        if self.mode_file.exists() and self.mode_file.read_text() != variant["alertmanager"]:
            # from a pair to one, or back: the first instance's gossip flags change
            self.stop_server()
        self.mode_file.write_text(variant["alertmanager"])
        if single:
            self.stop_peer()
            if self.pid():
                self.reload((self.url,))
            else:
                say(f"starting Alertmanager on {self.url} (one instance)")
                self._spawn(
                    self.pid_file,
                    self.config_file,
                    "data",
                    self.layout.alertmanager_port,
                    None,
                    self.layout.alertmanager_gossip_port,
                    "alertmanager",
                )
                procs.wait_until(
                    self.ready,
                    20,
                    f"Alertmanager to be ready (see {self.layout.log_file('alertmanager')})",
                )
        elif self.pid() and self.peer_pid():
            self.reload()
        else:
            say(f"starting Alertmanager on {self.url}, its cluster peer on {self.peer_url}")
            self.start()
        self.expire_silences()

    def silence(
        self, matchers: list[dict], hours: float, created_by: str = "", comment: str = ""
    ) -> str:
        now = dt.datetime.now(dt.UTC)
        body = {
            "matchers": matchers,
            "startsAt": now.isoformat(),
            "endsAt": (now + dt.timedelta(hours=hours)).isoformat(),
            "createdBy": created_by,
            "comment": comment,
        }
        reply = local_http.client().post(f"{self.url}/api/v2/silences", json=body)
        reply.raise_for_status()
        return str(reply.json()["silenceID"])

    def expire_silences(self) -> None:
        for silence in local_http.client().get(f"{self.url}/api/v2/silences").json():
            if silence["status"]["state"] != "expired":
                local_http.client().delete(
                    f"{self.url}/api/v2/silence/{silence['id']}"
                ).raise_for_status()

    def _start_sink(self) -> None:
        if procs.read_pid(self.sink_pid_file, "alert_sink"):
            return
        for port, what in (
            (self.layout.alert_sink_port, "sandbox notification sink (webhooks)"),
            (self.layout.alert_smtp_port, "sandbox notification sink (SMTP)"),
        ):
            procs.ensure_port_free(port, what)
        procs.spawn(
            [
                sys.executable,
                "-m",
                "nbaverify.sandbox.alert_sink",
                "--state-dir",
                str(self.layout.root),
                "--port-base",
                str(self.layout.port_base),
            ],
            self.layout.log_file("alert-sink"),
            self.sink_pid_file,
        )
        procs.wait_until(
            lambda: procs.port_accepts(self.layout.alert_sink_port),
            10,
            "the notification sink to listen",
        )

    def deliveries(self) -> list[dict]:
        # run as `python -m nbaverify.sandbox.alert_sink`: imported with this package, that run
        # would find it loaded already (runpy's RuntimeWarning: two copies of the module)
        from nbaverify.sandbox.alert_sink import deliveries

        return deliveries(self.folder / "deliveries.jsonl")

    def start(self) -> None:
        """Both instances of the cluster, each started when it is not running."""
        if not self.pid():
            self._spawn(
                self.pid_file,
                self.config_file,
                "data",
                self.layout.alertmanager_port,
                self.layout.alertmanager_gossip_port,
                self.layout.alertmanager_peer_gossip_port,
                "alertmanager",
            )
        if not self.peer_pid():
            self.start_peer()
        procs.wait_until(
            self.ready, 20, f"Alertmanager to be ready (see {self.layout.log_file('alertmanager')})"
        )

    def start_peer(self, gossip: bool = True) -> None:
        """The second instance; without gossip it is a cluster of its own (a split)."""
        self._spawn(
            self.peer_pid_file,
            self.peer_config_file,
            "peer-data",
            self.layout.alertmanager_peer_port,
            self.layout.alertmanager_peer_gossip_port if gossip else None,
            self.layout.alertmanager_gossip_port,
            "alertmanager-peer",
        )
        procs.wait_until(
            lambda: self.ready(self.peer_url),
            20,
            "the second Alertmanager to be ready (see"
            f" {self.layout.log_file('alertmanager-peer')})",
        )

    def _spawn(
        self,
        pid_file: Path,
        config: Path,
        data: str,
        port: int,
        gossip: int | None,
        peer: int,
        log: str,
    ) -> None:
        procs.await_port_free(port, "sandbox Alertmanager")
        cluster = (
            [
                f"--cluster.listen-address=127.0.0.1:{gossip}",
                f"--cluster.peer=127.0.0.1:{peer}",
                "--cluster.settle-timeout=3s",
                "--cluster.peer-timeout=2s",
            ]
            if gossip
            else ["--cluster.listen-address="]
        )
        procs.spawn(
            [
                binary() or "prometheus-alertmanager",
                f"--config.file={config}",
                f"--storage.path={self.folder / data}",
                f"--web.listen-address=127.0.0.1:{port}",
                *cluster,
            ],
            self.layout.log_file(log),
            pid_file,
        )

    def ready(self, url: str | None = None) -> bool:
        try:
            reply = local_http.client().get(f"{url or self.url}/-/ready", timeout=1)
            return reply.status_code == 200
        except httpx.TransportError:
            return False

    def reload(self, urls: tuple[str, ...] | None = None) -> None:
        for url in urls or (self.url, self.peer_url):
            local_http.client().post(f"{url}/-/reload").raise_for_status()

    def edit_config(self, change, peer_only: bool = False) -> None:
        """Change the deployed configuration (a bad deploy: on both instances, or on the second
        only) and have the instances load it."""
        for path in (
            (self.peer_config_file,) if peer_only else (self.config_file, self.peer_config_file)
        ):
            config = yaml.safe_load(path.read_text())
            change(config)
            path.write_text(yaml.safe_dump(config, sort_keys=False))
        self.reload((self.peer_url,) if peer_only else None)

    def stop_peer(self) -> None:
        pid = self.peer_pid()
        if pid:
            procs.stop_pid(pid)

    def stop_server(self) -> None:
        self.stop_peer()
        pid = self.pid()
        if pid:
            procs.stop_pid(pid)

    def discard(self) -> None:
        """Both instances gone, and what they kept (notification log, silences) with them: the
        next start is a fresh cluster. Killed: a graceful stop first leaves the gossip cluster (0.8
        s here, at every heal) and then writes the state this throws away."""
        for pid in (self.peer_pid(), self.pid()):
            if pid:
                procs.stop_pid(pid, timeout=0)
        for data in ("data", "peer-data"):
            shutil.rmtree(self.folder / data, ignore_errors=True)

    def stop(self) -> None:
        self.stop_server()
        sink = procs.read_pid(self.sink_pid_file, "alert_sink")
        if sink:
            procs.stop_pid(sink)
