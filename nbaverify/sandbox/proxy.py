"""nginx (Debian's nginx-light) in front of the reference API, as a team's ingress is.

Two of them, each its own process: the TLS proxy a variant asks for (TLS ends at nginx on the API's
own address, the API behind it on plain HTTP and its live feed's WebSocket, the client's address
passed in X-Forwarded-For, no version named); and the public ingress, on an address of its own,
which is where users reach the API: it refuses the internal endpoints (/metrics, /health/detailed)
that Prometheus and the suite read on the internal address.
"""

from __future__ import annotations

import shutil

from nbaverify import procs
from nbaverify.errors import MissingBinary
from nbaverify.sandbox.layout import Layout

# what both of the sandbox's nginx configurations begin with: the process, its files under the state
# directory
PREAMBLE = """daemon off;
worker_processes 1;
user root root;
pid {run}/nginx.pid;
error_log {log} warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  server_tokens off;
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
"""

CONFIG = (
    "# written by nbaverify sandbox: TLS at nginx, the API behind it on plain HTTP\n"
    + PREAMBLE
    + """  server {{
    # the host's plain HTTP: every request redirected to HTTPS, as a team's ingress answers
    # on port 80
    listen 127.0.0.1:{http_port};
    return 308 https://$host:{port}$request_uri;
  }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    location / {{
      proxy_pass http://127.0.0.1:{upstream};
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_read_timeout 1h;
    }}
  }}
}}
"""
)


def binary() -> str | None:
    return shutil.which("nginx") or (shutil.which("nginx", path="/usr/sbin:/sbin"))


# the internal endpoints the public ingress refuses (expectations api.internal_paths say the same)
INTERNAL_PATHS = ("/metrics", "/health/detailed")

INGRESS_CONFIG = (
    "# written by nbaverify sandbox: the public ingress, where users reach the API\n"
    + PREAMBLE
    + """  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
{internal}    location / {{
      proxy_pass https://127.0.0.1:{upstream};
      proxy_ssl_verify off;
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_buffering off;
      proxy_read_timeout 1h;
    }}
  }}
}}
"""
)


class _Nginx:
    """One nginx of the sandbox's: its folder, pid file and log under the state directory, started
    and stopped."""

    name = "nginx"
    role = ""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.folder = layout.root / self.name
        self.pid_file = layout.pid_file(self.name)

    def pid(self) -> int | None:
        return procs.read_pid(self.pid_file, "nginx")

    def _spawn(self, config_text: str, port: int, say, said: str) -> None:
        found = binary()
        if found is None:
            raise MissingBinary("nginx", f"apt-get install nginx-light ({self.role})")
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.folder / "temp" / name).mkdir(parents=True, exist_ok=True)
        config = self.folder / "nginx.conf"
        config.write_text(config_text)
        procs.ensure_port_free(port, f"sandbox nginx ({self.role})")
        say(said)
        procs.spawn(
            [found, "-c", str(config), "-p", str(self.folder)],
            self.layout.log_file(self.name),
            self.pid_file,
        )
        procs.wait_until(
            lambda: procs.port_accepts(port),
            10,
            f"nginx to listen (see {self.layout.log_file(self.name)})",
        )

    def _settings(self) -> dict:
        layout = self.layout
        return {
            "run": self.folder,
            "log": layout.log_file(self.name),
            "temp": self.folder / "temp",
            "cert": layout.cert_file,
            "key": layout.key_file,
        }

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            procs.stop_pid(pid)


class TlsProxy(_Nginx):
    """nginx in front of the sandbox API, terminating TLS on the API's own port and proxying to it
    on plain HTTP (its WebSocket too); started only for a variant with tls_proxy = nginx."""

    role = "the proxied variant's TLS proxy"

    def start(self, say) -> None:
        if self.pid():
            return
        layout = self.layout
        self._spawn(
            CONFIG.format(
                **self._settings(),
                port=layout.api_port,
                upstream=layout.api_upstream_port,
                http_port=layout.api_http_port,
            ),
            layout.api_port,
            say,
            f"starting nginx on https://127.0.0.1:{layout.api_port}, terminating TLS for "
            f"the API on port {layout.api_upstream_port}",
        )


class PublicIngress(_Nginx):
    """The address users reach (the profile's api.public_base_url): nginx proxying to the API's own
    address, refusing its internal endpoints with 404 unless the internals_public fault says
    otherwise. Where nginx is not installed there is none, and the profile names no public
    address."""

    name = "ingress"
    role = "the public ingress"

    def start(self, say, expose_internals: bool = False) -> None:
        if self.pid() or binary() is None:
            return
        layout = self.layout
        internal = (
            ""
            if expose_internals
            else "".join(f"    location = {path} {{ return 404; }}\n" for path in INTERNAL_PATHS)
        )
        self._spawn(
            INGRESS_CONFIG.format(
                **self._settings(),
                port=layout.api_public_port,
                upstream=layout.api_port,
                internal=internal,
            ),
            layout.api_public_port,
            say,
            f"starting the public ingress on https://127.0.0.1:{layout.api_public_port}"
            + (" (internal endpoints exposed)" if expose_internals else ""),
        )

    def restart(self, say, expose_internals: bool = False) -> None:
        self.stop()
        procs.wait_until(
            lambda: not procs.port_accepts(self.layout.api_public_port),
            10,
            "the public ingress to stop",
        )
        self.start(say, expose_internals)
