"""The sandbox: the embedded default target, brought up, broken on purpose, and put down.

`up(faults)` converges: whatever ran or was broken before, afterwards every component runs and
exactly the named faults are on. It first reverts the faults recorded as active, heals every
component (start what is stopped, resume replay, wait for the replica to catch up), then applies
the new faults and writes them to the control file the API reads.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import string
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import httpx

from nbaverify import extras, procs, shipped
from nbaverify.errors import ConfigError, SandboxError
from nbaverify.sandbox import alertmanager as am_mod
from nbaverify.sandbox import apis, control, tls, variants
from nbaverify.sandbox import prometheus as prom_mod
from nbaverify.sandbox import proxy as proxy_mod
from nbaverify.sandbox.api_logs import ApiLogFiles
from nbaverify.sandbox.faults import CATALOGUE, Fault
from nbaverify.sandbox.faults.model import Reach, Step
from nbaverify.sandbox.kubernetes.control_plane import ControlPlane
from nbaverify.sandbox.kubernetes.service import Kubernetes
from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.postgres import Cluster, scalar
from nbaverify.sandbox.proxy import PublicIngress, TlsProxy
from nbaverify.sandbox.secrets import (
    JWT_ENV,
    PREVIOUS_JWT_ENV,
    PREVIOUS_PRIVATE_KEY_ENV,
    PRIVATE_KEY_ENV,
    TOKEN_AUDIENCE,
    TOKEN_ISSUER,
    SandboxSecrets,
)
from nbaverify.sandbox.ssh_host import SshHost

# a daily schedule's worth, so the backup-age check holds on a long-lived sandbox
BACKUP_EVERY_H = 20.0
PROFILE_TEMPLATE = shipped.SANDBOX_PROFILE_TEMPLATE


def _quiet(message: str) -> None:
    pass


SANDBOX_USER = "127.0.0.3"  # the sandbox's own user of the API: a client of its own
# the users that keep reading (run as a module: it imports PyJWT, heavy)
USERS_MODULE = "nbaverify.sandbox.users"


class Sandbox:
    """The built-in target on this machine: brought up, broken on purpose, and put down, its state
    where `layout` says.

    It owns every part: the PostgreSQL primary and replica (`cluster`), the reference API (python or
    node), Prometheus and its exporters, the Alertmanager and its notification sink, Kubernetes
    (`kube`), the SSH host, the TLS proxy of a variant that has one, and the generated secrets.
    `up(faults)` converges on exactly those faults (reverting the recorded ones and healing every
    part first) and writes the profile the checks run with (target.toml); `down` stops it, `status`
    says what runs, `ready_for_a_run` starts it when needed. It is the faults' `Reach`: their steps
    act on the sandbox through it."""

    def __init__(self, layout: Layout | None = None, say: Callable[[str], None] = _quiet):
        self.layout = layout or Layout.from_env()
        self.say = say
        self._secrets: SandboxSecrets | None = None
        self._cluster: Cluster | None = None
        self.prometheus = prom_mod.Prometheus(self.layout)
        self.alertmanager = am_mod.Alertmanager(self.layout)
        self.kube = Kubernetes(self.layout)
        self.ssh_host = SshHost(self.layout)
        self.proxy = TlsProxy(self.layout)
        self.ingress = PublicIngress(self.layout)
        self._variant: variants.Variant | None = None

    # -- parts ----------------------------------------------------------------------------------
    @property
    def secrets(self) -> SandboxSecrets:
        if self._secrets is None:
            self._secrets = SandboxSecrets.load_or_create(self.layout)
        return self._secrets

    @property
    def cluster(self) -> Cluster:
        if self._cluster is None:
            self._cluster = Cluster(self.layout, self.secrets.passwords)
        return self._cluster

    @property
    def api_url(self) -> str:
        return f"https://127.0.0.1:{self.layout.api_port}"

    def environ(self) -> dict[str, str]:
        return self.secrets.environ(self.layout, self.variant["jwt_alg"])

    # -- the verbs ------------------------------------------------------------------------------
    def up(
        self,
        faults: Iterable[str] = (),
        api: str | None = None,
        scale: int | None = None,
        variant: str | None = None,
    ) -> list[str]:
        """Converge on exactly `faults`, with the `api` implementation (python or node; default: as
        last time). scale: the data and cluster N times the base sandbox's (set when it is first
        seeded; default 1). variant: a healthy variant (nbaverify.sandbox.variants) by name or seed;
        default: as last time.
        """
        extras.require("sandbox")
        wanted = validate_faults(faults)
        implementation = apis.choose(api, self._state().get("api"))
        previous = self.variant
        self.variant = variants.resolve(variant) if variant is not None else previous
        for name in wanted:
            if (needed := CATALOGUE[name].variant) and not self.variant.has(
                variants.VARIANTS[needed]
            ):
                raise ConfigError(
                    "--fault",
                    name,
                    "can be made only where the sandbox "
                    f"{variants.VARIANTS[needed].describe()} (add --variant {needed})",
                )
            if CATALOGUE[name].apis and implementation.name not in CATALOGUE[name].apis:
                raise ConfigError(
                    "--fault",
                    name,
                    f"can be made only on the {' or '.join(CATALOGUE[name].apis)} API "
                    f"(add --api {CATALOGUE[name].apis[0]})",
                )
        started = time.monotonic()
        self.layout.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.layout.root, 0o755)  # the postgres account must reach its data below
        for path in (self.layout.run_dir, self.layout.log_dir):
            path.mkdir(parents=True, exist_ok=True)
        procs.service_user()  # fail early, in one line, when PostgreSQL cannot run here
        self._check_ports()
        tls.ensure_certificates(self.layout)
        if not self.cluster.initialised:
            self.cluster.initialise(self.say, scale or 1)
        elif scale and scale != self.cluster.scale:
            raise ConfigError(
                "--scale",
                str(scale),
                f"the sandbox in {self.layout.root} holds scale {self.cluster.scale} data;"
                f" `nbaverify sandbox down --purge` first, then up --scale {scale}",
            )
        # Kubernetes gets as many tenants
        procs.write_atomic(self.layout.scale_file, f"{self.cluster.scale}\n")
        self.cluster.start(self.say)  # reverts act on running servers
        healed = self._recorded_faults()
        self._revert(healed)
        changed = self.variant.choices != previous.choices
        if changed:
            self.say(f"variant: {self.variant.name} ({self.variant.describe()})")
        # a capacity limit is lifted as a fault is healed: the backlog a search built up there (p95
        # in seconds) must not outlive it either
        limited = self.capacity_limit() is not None
        self._heal(implementation, fresh_history=bool(healed) or changed or limited)
        self._first_user()  # before any fault: its request is the healthy platform's, not a fault's
        # before applying: a crash mid-apply is still reverted
        self._record(wanted, up=True, api=implementation.name)
        flags = set(wanted).union(*(CATALOGUE[name].api_flags for name in wanted))
        # API behaviour first: other steps may need it
        control.write(self.layout.control_file, flags, settings={})
        for name in wanted:
            self.say(f"fault on: {name} ({CATALOGUE[name].breaks})")
            before = self._deployed_manifests()
            self._act(name, "on", CATALOGUE[name].apply)
            if self._deployed_manifests() != before and self.kube.unavailable() is None:
                # deployed, as a team would
                self._act(name, "on", self._redeploy)
        self.write_profile()
        self.say(
            f"sandbox up in {time.monotonic() - started:.1f}s: {self.api_url}"
            f" ({implementation.name} API)"
            + (f" with fault(s) {', '.join(wanted)}" if wanted else ", healthy")
        )
        return wanted

    def down(self, purge: bool = False) -> None:
        if self.layout.state_file.exists():
            # the next up reverts them
            self._record(self._recorded_faults(), up=False, api=self._state().get("api"))
        self.stop_users()
        self._stop_api()
        self.ingress.stop()
        self.proxy.stop()
        self.kube.stop()
        self.ssh_host.stop()
        self.prometheus.stop()  # and its exporters
        self.alertmanager.stop()
        if self.layout.primary_data.exists():
            self.cluster.stop()
        if purge and self.layout.root.exists():
            shutil.rmtree(self.layout.root)
            self.say(f"sandbox removed: {self.layout.root}")
        else:
            self.say(
                f"sandbox stopped (data kept in {self.layout.root}; `down --purge` removes it)"
            )

    def status(self) -> dict:
        layout = self.layout
        initialised = layout.secrets_file.exists() and self.cluster.initialised
        services = {
            "postgres-primary": {
                "running": initialised and self.cluster.primary.running(),
                "address": f"127.0.0.1:{layout.primary_port}",
            },
            "postgres-replica": {
                "running": initialised and self.cluster.replica.running(),
                "address": f"127.0.0.1:{layout.replica_port}",
            },
            "api": {
                "running": self._api_pid() is not None,
                "address": self.api_url,
                "implementation": self.api_implementation(),
            },
            "kubernetes-api": {
                "running": self.kube.running(),
                "address": self.kube.url,
                "installed": self.kube.unavailable() is None,
            },
            "prometheus": {
                "running": self.prometheus.pid() is not None,
                "address": self.prometheus.url,
                "installed": prom_mod.binary() is not None,
            },
            "alertmanager": {
                "running": self.alertmanager.pid() is not None,
                "address": self.alertmanager.url,
                "installed": am_mod.binary() is not None,
            },
            "alertmanager-peer": {
                "running": self.alertmanager.peer_pid() is not None,
                "address": f"{self.alertmanager.peer_url} (its cluster peer)",
                "installed": am_mod.binary() is not None,
            },
            "users": {
                "running": procs.read_pid(self.layout.pid_file("users"), USERS_MODULE) is not None,
                "address": f"{self.api_url} (reading, one request every 2 s)",
            },
            "ssh-host": {
                "running": self.ssh_host.pid() is not None,
                "address": f"127.0.0.1:{self.ssh_host.port}",
                "installed": self.ssh_host.unavailable() is None,
            },
        }
        return {
            "state_dir": str(layout.root),
            "initialised": initialised,
            "services": services,
            "faults": self._recorded_faults(),
            "capacity_limited": self.capacity_limit(),
            "variant": f"{self.variant.name} ({self.variant.describe()})",
            "scale": self.cluster.scale if initialised else 1,
            "profile": str(layout.target_file),
        }

    def ready_for_a_run(self) -> Sandbox:
        """What a check or load run against the sandbox needs: started when it is not up; when it
        is, left as the user set it (faults and all, said in one line), with a fresh rate-limit
        window for this run.
        """
        if self.is_up():
            # the suite's requests count against the API's 100 per 15 minutes: give each run its own
            # window
            self.fresh_rate_window()
            faults = self.status()["faults"]
            if faults:
                self.say(
                    f"running with fault(s) on: {', '.join(faults)} (`nbaverify sandbox up` clears"
                    " them)"
                )
            return self
        self.say("not running; starting it (nbaverify sandbox up)")
        self.up()
        return self

    def running(self) -> bool:
        """Every component runs (a fault may have stopped one on purpose: see is_up)."""
        status = self.status()
        required = ["postgres-primary", "postgres-replica", "api"]
        if self.kube.unavailable() is None:
            required.append("kubernetes-api")
        if prom_mod.binary():
            required.append("prometheus")
        if am_mod.binary():
            required += ["alertmanager"] + (
                ["alertmanager-peer"] if self.variant["alertmanager"] == "cluster" else []
            )
        if self.ssh_host.unavailable() is None:
            required.append("ssh-host")
        return all(status["services"][name]["running"] for name in required)

    def is_up(self) -> bool:
        """`up` ran and `down` has not since, and the API (which no fault stops) answers."""
        kubernetes = self.kube.unavailable() is not None or self.kube.running()
        return self._state().get("up", False) and self._api_pid() is not None and kubernetes

    # -- internals ------------------------------------------------------------------------------
    def _state(self) -> dict:
        try:
            return json.loads(self.layout.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _recorded_faults(self) -> list[str]:
        return list(self._state().get("faults", []))

    def api_implementation(self) -> str:
        """Which reference API the sandbox runs (or last ran): python or node."""
        return self._state().get("api") or apis.DEFAULT

    @property
    def variant(self) -> variants.Variant:
        """The healthy variant the sandbox runs (the default sandbox unless `up --variant` chose
        another)."""
        if self._variant is None:
            self._variant = variants.recorded(self.layout.state_file)
        return self._variant

    @variant.setter
    def variant(self, value: variants.Variant) -> None:
        self._variant = value

    def _record(self, faults: list[str], up: bool, api: str | None) -> None:
        state = {
            "faults": faults,
            "up": up,
            "api": api or apis.DEFAULT,
            "variant": {"name": self.variant.name, "choices": self.variant.choices},
        }
        procs.write_atomic(self.layout.state_file, json.dumps(state, indent=2) + "\n")

    def _revert(self, faults: list[str]) -> None:
        for name in reversed(faults):
            if name in CATALOGUE:
                self.say(f"fault off: {name}")
                self._act(name, "off", CATALOGUE[name].revert)

    def _redeploy(self, sandbox: Reach) -> None:
        self.kube.redeploy(self.say, self.cluster.scale)

    def _deployed_manifests(self) -> dict[str, bytes]:
        folder = self.layout.k8s_manifests
        return (
            {p.name: p.read_bytes() for p in sorted(folder.glob("*.y*ml"))}
            if folder.is_dir()
            else {}
        )

    def _act(self, name: str, switch: str, action: Step) -> None:
        try:
            action(self)
        except SandboxError:
            raise
        except Exception as exc:  # noqa: BLE001 - one line for the user, whatever the step raised
            detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SandboxError(
                f"switching fault {name} {switch} failed: {type(exc).__name__}: {detail}; "
                "`nbaverify sandbox down` then `up` starts clean"
            ) from None

    def _heal(self, implementation: apis.ApiImplementation, fresh_history: bool) -> None:
        if am_mod.binary():  # before Prometheus, which sends to it
            if fresh_history:
                # notifications a fault made fail must not count against the healed sandbox:
                # (its client connections closed first, so no TIME_WAIT holds the port)
                self.prometheus.stop_server()
                # a fresh cluster counts from zero, and keeps no silence or notification log of
                # the faults'; Prometheus restarts below
                self.alertmanager.discard()
            self.alertmanager.sync(self.say, self.variant)
        if prom_mod.binary():
            # started first; its first scrape (~5 s after a start) is the checks' to await
            self.prometheus.sync(
                self.secrets.dsn("nbaverify_monitor", self.layout.primary_port),
                self.say,
                self.variant,
            )
            if fresh_history:
                # what the faults left in the metrics (5xx rates, slow requests, pending alerts)
                # must not outlive them: a healed sandbox reads healthy at once, windowed checks
                # included
                self.say(
                    "starting a fresh metrics history: the healed faults' samples go with them"
                )
                self.prometheus.reset()
        self.cluster.start(self.say)
        if self.cluster.replay_paused():
            with self.cluster.replica.admin() as conn:
                conn.execute("SELECT pg_wal_replay_resume()")
        self.cluster.wait_caught_up()
        age = self.cluster.newest_backup_age_h()
        if age is None or age > BACKUP_EVERY_H:
            self.say(
                "taking a base backup (the newest is older than a day)"
                if age
                else "taking a base backup"
            )
            self.cluster.base_backup()
        # every fault is judged on what happens after it: counters start from zero at each up
        self.cluster.fresh_statistics()
        # after the reset: a bulk load's inserts are what autovacuum sees
        self.cluster.shape(self.variant, self.say)
        control.write(self.layout.control_file, set(), settings={})
        # the deployed manifests, before any fault edits them
        self.kube.platform.pristine(self.variant)
        apis.deploy_lockfile(self.layout)
        if self.kube.unavailable() is None:
            self.kube.sync(self.say, self.cluster.scale)
        else:
            self.say(f"no Kubernetes: {self.kube.unavailable()}")
        # a healed fault's throttled periods go with it
        self.ssh_host.sync(self.say, fresh=fresh_history)
        if self.variant["tls_proxy"] == "none":
            self.proxy.stop()  # the API takes its own address back
        # a healed API's log starts afresh, as a rollout's
        self._start_api(implementation, new_log=fresh_history)
        if self.variant["tls_proxy"] == "nginx":
            self.proxy.start(self.say)
        procs.wait_until(
            self._api_healthy,
            30,
            f"the API's /health/detailed to say ok (see {self.layout.log_file('api')})",
        )
        # where users reach the API, its internal endpoints refused; restarted, not just started:
        # nginx reads the certificate at start, and a certificate fault's revert has just written a
        # new one
        self.ingress.restart(self.say)
        self.start_users()
        if not prom_mod.binary() and not self.prometheus.pid():
            self.say(
                "Prometheus is not installed (apt-get install prometheus): monitoring checks will"
                " skip"
            )

    # -- misbehaving clients, for the session faults --------------------------------------------
    def hold(self, fault: str, mode: str, *args: str, role: str = "nba_app") -> None:
        # run as `python -m nbaverify.sandbox.holder` (below): imported with this package, that run
        # would find it loaded already (runpy's RuntimeWarning: two copies of the module)
        from nbaverify.sandbox.holder import APPLICATION

        env = {
            **os.environ,
            "NBAVERIFY_HOLDER_DSN": self.secrets.dsn(role, self.layout.primary_port),
        }
        procs.spawn(
            [sys.executable, "-m", "nbaverify.sandbox.holder", mode, *args],
            self.layout.log_file("holder"),
            self.layout.pid_file(f"holder-{fault}"),
            env=env,
        )
        with self.cluster.primary.admin() as conn:
            procs.wait_until(
                lambda: (
                    scalar(
                        conn,
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                        (APPLICATION,),
                    )
                    > 0
                ),
                10,
                f"the {mode} client of fault {fault} to connect (see"
                f" {self.layout.log_file('holder')})",
            )

    def release(self, fault: str) -> None:
        from nbaverify.sandbox.holder import APPLICATION  # run with `python -m`: as in hold()

        pid = procs.read_pid(self.layout.pid_file(f"holder-{fault}"), "nbaverify.sandbox.holder")
        if pid:
            procs.stop_pid(pid)
        if self.cluster.primary.running():
            # a backend in pg_sleep does not notice its client is gone
            with self.cluster.primary.admin() as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name"
                    " = %s",
                    (APPLICATION,),
                )

    def _check_ports(self) -> None:
        """Before any slow step: every port a stopped component will need must be free."""
        layout = self.layout
        api_stopped = self._api_pid() is None and self.proxy.pid() is None
        wanted = [
            (layout.api_port, "sandbox API", api_stopped),
            (layout.api_http_port, "sandbox API (its plain-HTTP redirect)", api_stopped),
        ]
        if self.kube.unavailable() is None:
            wanted += [(port, service, True) for port, service in self.kube.free_ports()]
        if prom_mod.binary():
            wanted.append(
                (layout.prometheus_port, "sandbox Prometheus", self.prometheus.pid() is None)
            )
        if am_mod.binary():
            wanted.append(
                (layout.alertmanager_port, "sandbox Alertmanager", self.alertmanager.pid() is None)
            )
            wanted.append(
                (
                    layout.alertmanager_gossip_port,
                    "sandbox Alertmanager (gossip)",
                    self.alertmanager.pid() is None,
                )
            )
            for port in (layout.alertmanager_peer_port, layout.alertmanager_peer_gossip_port):
                wanted.append(
                    (
                        port,
                        "sandbox Alertmanager's cluster peer",
                        self.alertmanager.peer_pid() is None,
                    )
                )
        if self.ssh_host.unavailable() is None:
            wanted.append((layout.ssh_host_port, "sandbox SSH host", self.ssh_host.pid() is None))
        if proxy_mod.binary():
            wanted.append(
                (
                    layout.api_public_port,
                    "sandbox public ingress (nginx)",
                    self.ingress.pid() is None,
                )
            )
        if layout.secrets_file.exists() and self.cluster.initialised:
            wanted += [
                (
                    layout.primary_port,
                    "sandbox PostgreSQL primary",
                    not self.cluster.primary.running(),
                ),
                (
                    layout.replica_port,
                    "sandbox PostgreSQL replica",
                    not self.cluster.replica.running(),
                ),
            ]
        else:
            wanted += [
                (layout.primary_port, "sandbox PostgreSQL primary", True),
                (layout.replica_port, "sandbox PostgreSQL replica", True),
            ]
        for port, service, stopped in wanted:
            if stopped:
                procs.ensure_port_free(port, service)

    def _api_pid(self) -> int | None:
        for implementation in apis.IMPLEMENTATIONS.values():
            pid = procs.read_pid(self.layout.pid_file("api"), implementation.marker)
            if pid:
                return pid
        return None

    def _start_api(
        self, implementation: apis.ApiImplementation | None = None, new_log: bool = False
    ) -> None:
        """Running, with this code; a started API (a new container) or new_log starts a new log."""
        implementation = implementation or apis.IMPLEMENTATIONS[self.api_implementation()]
        # a missing node says so before anything stops
        argv, env = implementation.command(self.layout, self.variant)
        deployed = json.dumps(apis.deployment_env(self.layout, self.variant), sort_keys=True)
        # its runtime and deploy settings too
        fingerprint = f"{implementation.fingerprint()}:{argv[0]}:{deployed}"
        stamp = self.layout.run_dir / "api.code"
        running = stamp.read_text() if stamp.exists() else ""
        logs = ApiLogFiles.of(self.layout)
        if self._api_pid() and running == fingerprint:
            if new_log:
                self._roll_out_api(logs)
            return
        if self._api_pid():
            # switched implementation, or its code changed since it started (a developer's checkout)
            why = (
                "its code changed"
                if running.startswith(f"{implementation.name}:")
                else f"switching to {implementation.name}"
            )
            self.say(f"restarting the reference API: {why}")
            self._stop_api()
        stamp.write_text(fingerprint)
        port = (
            self.layout.api_upstream_port
            if self.variant["tls_proxy"] == "nginx"
            else self.layout.api_port
        )
        procs.ensure_port_free(port, "sandbox API")
        self.say(
            f"starting the {implementation.name} reference API on {self.api_url}"
            + (f" (behind nginx, on port {port})" if port != self.layout.api_port else "")
        )
        self._roll_out_api(logs)
        # run as a container runtime runs a container: its output kept as written and in the CRI
        # format KWOK serves
        shim = [
            sys.executable,
            "-m",
            "nbaverify.sandbox.kubernetes.container_log",
            str(logs.current_cri),
            "--",
        ]
        procs.spawn(
            [*shim, *argv], self.layout.log_file("api"), self.layout.pid_file("api"), env=env
        )

    def _roll_out_api(self, logs: ApiLogFiles) -> None:
        """A new log, and in the cluster a rollout: the api pods' containers start with it."""
        logs.roll()
        if self.kube.unavailable() is None and self.kube.running():
            self.kube.platform.roll_out_api()

    def _first_user(self) -> None:
        """A platform in use has users: the sandbox's own (subject "sandbox", a client of its own,
        so no check's rate window is touched) reads a player once the sandbox is up. Best effort:
        under a fault it may be refused.
        """
        transport = httpx.HTTPTransport(local_address=SANDBOX_USER, verify=self.tls_context())
        try:
            with httpx.Client(
                base_url=self.api_url,
                transport=transport,
                timeout=5,
                headers={
                    "Authorization": f"Bearer {self.mint_token()}",
                    "User-Agent": "nbaverify-sandbox-user",
                },
            ) as client:
                client.get("/api/players?limit=1")
        except httpx.HTTPError:
            pass

    def _api_healthy(self) -> bool:
        if not self._api_pid():
            raise SandboxError(f"the API exited at start; its log: {self.layout.log_file('api')}")
        reply = httpx.get(f"{self.api_url}/health/detailed", verify=self.tls_context(), timeout=3)
        return reply.status_code == 200 and reply.json()["status"] == "ok"

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.layout.ca_file))

    def mint_token(self, ttl_s: int = 300, subject: str = "sandbox") -> str:
        # heavy: PyJWT (~30 ms here: it loads cryptography); sandbox commands that mint no token
        # skip it
        import jwt

        now = int(time.time())
        algorithm = self.variant["jwt_alg"]
        return jwt.encode(
            {
                "sub": subject,
                "iat": now,
                "exp": now + ttl_s,
                "iss": TOKEN_ISSUER,
                "aud": TOKEN_AUDIENCE,
            },
            (
                self.secrets.signing_key(self.layout, algorithm)
                if algorithm != "HS256"
                else self.secrets.jwt_secret
            ),
            algorithm=algorithm,
        )

    def restart_api(self, wait_healthy: bool = True) -> None:
        """Restart the API; wait for it to say healthy (or, with a certificate we do not trust, to
        listen)."""
        self._stop_api()
        self._start_api()
        if wait_healthy:
            procs.wait_until(
                self._api_healthy, 30, f"the API to come back (see {self.layout.log_file('api')})"
            )
        else:
            procs.wait_until(
                lambda: procs.port_accepts(self.layout.api_port),
                30,
                f"the API to listen again (see {self.layout.log_file('api')})",
            )

    def restart_ingress(self, expose_internals: bool = False) -> None:
        """Restart the public ingress, refusing the internal endpoints or (the internals_public
        fault) not."""
        self.ingress.restart(self.say, expose_internals)

    def fresh_rate_window(self) -> None:
        """Start the API's rate-limit windows afresh, faults unchanged (each CLI run is a new client
        window)."""
        current = control.read(self.layout.control_file)
        control.write(self.layout.control_file, current.faults, current.allowlist, current.settings)

    def allowlist(self, addresses: list[str]) -> None:
        """Exempt these client addresses from the API's rate limit (the load generator), faults
        unchanged."""
        current = control.read(self.layout.control_file)
        control.write(
            self.layout.control_file, current.faults, frozenset(addresses), current.settings
        )

    def limit_capacity(self, slots: int, service_ms: float) -> float:
        """Give the API a known capacity (the capacity_limited setting), faults unchanged; returns
        it in req/s. The next `sandbox up` lifts it, as it heals faults."""
        current = control.read(self.layout.control_file)
        settings = {
            **current.settings,
            "capacity_limited": {"slots": slots, "service_ms": service_ms},
        }
        control.write(self.layout.control_file, current.faults, current.allowlist, settings)
        return slots / (service_ms / 1000)

    def capacity_limit(self) -> dict | None:
        return control.read(self.layout.control_file).settings.get("capacity_limited")

    def _stop_api(self) -> None:
        pid = self._api_pid()
        if pid:
            procs.stop_pid(pid)

    def start_users(self) -> None:
        """The platform's users (nbaverify.sandbox.users): a steady trickle of other clients' reads,
        when not running."""
        if not procs.read_pid(self.layout.pid_file("users"), USERS_MODULE):
            procs.spawn(
                [
                    sys.executable,
                    "-m",
                    USERS_MODULE,
                    "--state-dir",
                    str(self.layout.root),
                    "--port-base",
                    str(self.layout.port_base),
                ],
                self.layout.log_file("users"),
                self.layout.pid_file("users"),
            )

    def stop_users(self) -> None:
        """No users (a platform before they arrive); the next `up` brings them back."""
        pid = procs.read_pid(self.layout.pid_file("users"), USERS_MODULE)
        if pid:
            procs.stop_pid(pid)

    def host_ports(self) -> list[int]:
        """What the hosts checks expect listening here: the API, both servers, and the node
        exporter."""
        ports = [self.layout.api_port, self.layout.primary_port, self.layout.replica_port]
        return ports + ([self.layout.node_exporter_port] if prom_mod.exporters_installed() else [])

    def host_urls(self) -> list[str]:
        """The machine itself, and the sandbox's SSH host where this machine can run one; the SSH
        host alone where other sandboxes share the machine (its load is theirs too:
        NBAVERIFY_SANDBOX_SHARED_MACHINE).
        """
        ssh = [self.ssh_host.url] if self.ssh_host.unavailable() is None else []
        shared = os.environ.get("NBAVERIFY_SANDBOX_SHARED_MACHINE") == "1"
        return ssh if shared and ssh else ["local://", *ssh]

    def _api_keys(self) -> str:
        """The profile's signing keys: the secret (and the one its last rotation retired), or where
        the variant signs with a key pair, the private key alone."""
        if self.variant["jwt_alg"] == "HS256":
            return f'jwt_secret_env = "{JWT_ENV}"\nprevious_jwt_secret_env = "{PREVIOUS_JWT_ENV}"'
        return (
            f"# the platform signs with {self.variant['jwt_alg']}: the suite mints its tokens with"
            " the private key\njwt_private_key_env ="
            f' "{PRIVATE_KEY_ENV}"\nprevious_jwt_private_key_env = "{PREVIOUS_PRIVATE_KEY_ENV}"'
        )

    def write_profile(self) -> Path:
        prometheus = (
            f'[prometheus]\nurl = "{self.prometheus.url}"\n'
            if prom_mod.binary()
            else (
                "# [prometheus] left out: Prometheus is not installed here (apt-get install"
                " prometheus)\n"
            )
        )
        prometheus += (
            "\n[alertmanager]\n"
            f'url = "{self.alertmanager.url}"\nconfig_file = "{self.alertmanager.config_file}"\n'
            + (
                f'peers = ["{self.alertmanager.peer_url}"]\n'
                if self.variant["alertmanager"] == "cluster"
                else ""
            )
            + "# the notification sink's record of what each receiver got: the drill attributes"
            " deliveries there\n"
            f'deliveries = "http://127.0.0.1:{self.layout.alert_sink_port}/deliveries"\n'
            if am_mod.binary()
            else (
                "\n# [alertmanager] left out: Alertmanager is not installed here "
                "(apt-get install prometheus-alertmanager)\n"
            )
        )
        kubernetes = (
            "# the cluster source, through the official client, against the sandbox's real"
            " Kubernetes control plane,\n"
            "# as the verifier (the ServiceAccount fixtures/verifier grants: read-only, nothing"
            " more)\n"
            '[kubernetes]\nsource = "cluster"\ncontext = "nbaverify-sandbox"\nkubeconfig ='
            f' "{self.layout.kubeconfig_file}"\n\n'
            "# the api pods' logs through the API server, from KWOK's kubelet endpoint\n"
            '[logs]\nsource = "kubernetes"\ndeployment = "api"\n'
            if self.kube.unavailable() is None
            else f"# [kubernetes] and [logs] left out: {self.kube.unavailable()}\n"
        )
        text = string.Template(PROFILE_TEMPLATE.read_text()).substitute(
            api_port=self.layout.api_port,
            api_http_port=self.layout.api_http_port,
            ca_file=self.layout.ca_file,
            public_base_url=(
                f'public_base_url = "https://127.0.0.1:{self.layout.api_public_port}"'
                if proxy_mod.binary()
                else "# public_base_url left out: nginx (the public ingress) is not installed here"
            ),
            prometheus_section=prometheus,
            backups_dir=self.cluster.base_backups,
            rules_dir=self.prometheus.rules_dir,
            api_lockfile=self.layout.api_lockfile,
            dashboards_dir=self.prometheus.dashboards_dir,
            kubernetes_section=kubernetes,
            platform_rules_dir=self.prometheus.platform_rules_dir,
            platform_tests_dir=self.prometheus.platform_tests_dir,
            # where the platform runs is the profile's to say: a variant that splits it names its
            # namespaces
            kubernetes_expectations=(
                '[expectations.kubernetes]\nnamespaces = ["nba-stats", "nba-web", "monitoring"]\n'
                if self.variant["namespaces"] == "split"
                else ""
            ),
            api_keys=self._api_keys(),
            auth_algorithms=(
                f'algorithms = ["{self.variant["jwt_alg"]}"]'
                if self.variant["jwt_alg"] != "HS256"
                else ""
            ),
            host_ports=", ".join(str(p) for p in self.host_ports()),
            player_plan_ms=f"{25.0 * self.cluster.scale:.1f}",
            host_urls=", ".join(f'"{url}"' for url in self.host_urls()),
            host_note=(
                ""
                if self.ssh_host.unavailable() is None
                else f"# the SSH host is left out here: {self.ssh_host.unavailable()}\n"
            ),
            host_mounts=f'"/", "{self.ssh_host.data_dir}"',
            # by command line: another sandbox's exporter on this host must not stand in for this
            # one's
            host_processes='"postgres"'
            + (
                f', "--web.listen-address=127.0.0.1:{self.layout.node_exporter_port}"'
                if prom_mod.exporters_installed()
                else ""
            ),
        )
        self.layout.target_file.write_text(text)
        env = "".join(f"export {key}='{value}'\n" for key, value in self.environ().items())
        procs.write_private(
            self.layout.env_file, "# source this to run pytest against the sandbox by hand\n" + env
        )
        return self.layout.target_file


def validate_faults(names: Iterable[str]) -> list[str]:
    wanted: list[str] = []
    for name in names:
        if name not in CATALOGUE:
            raise ConfigError(
                "--fault", name, "unknown fault; `nbaverify sandbox faults` lists them"
            )
        fault: Fault = CATALOGUE[name]
        if fault.requires == "prometheus" and not prom_mod.binary():
            raise ConfigError(
                "--fault",
                name,
                "needs Prometheus, which is not installed (apt-get install prometheus)",
            )
        if fault.requires == "alertmanager" and not (am_mod.binary() and prom_mod.binary()):
            raise ConfigError(
                "--fault",
                name,
                "needs Prometheus and Alertmanager (apt-get install prometheus "
                "prometheus-alertmanager)",
            )
        if fault.requires == "kubernetes":
            reason = ControlPlane(Layout.from_env()).unavailable()
            if reason:
                raise ConfigError("--fault", name, f"needs the sandbox's Kubernetes: {reason}")
        if fault.requires == "nginx" and not proxy_mod.binary():
            raise ConfigError(
                "--fault",
                name,
                "needs nginx, the sandbox's public ingress (apt-get install nginx-light)",
            )
        if fault.requires == "ssh_host":
            reason = SshHost(Layout.from_env()).unavailable()
            if reason:
                raise ConfigError(
                    "--fault",
                    name,
                    f"needs the sandbox's SSH host, which cannot run here: {reason}",
                )
        if name not in wanted:
            wanted.append(name)
    return wanted
