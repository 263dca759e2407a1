"""nginx (Debian's nginx-light) terminating TLS in front of the reference API, when the variant says so: on the API's
own address, with the sandbox's certificate, proxying to the API on plain HTTP (and the live feed's WebSocket),
passing the client's address in X-Forwarded-For, naming no version (server_tokens off), as a team's ingress does."""

from __future__ import annotations

import shutil

from nbaverify import procs
from nbaverify.errors import MissingBinary
from nbaverify.sandbox.layout import Layout

CONFIG = """# written by nbaverify sandbox: TLS at nginx, the API behind it on plain HTTP
daemon off;
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


def binary() -> str | None:
    return shutil.which("nginx") or (shutil.which("nginx", path="/usr/sbin:/sbin"))


class TlsProxy:
    """nginx in front of the sandbox API, terminating TLS on the API's own port and proxying to it on plain HTTP (its
    WebSocket too); started only for a variant with tls_proxy = nginx."""

    def __init__(self, layout: Layout):
        self.layout = layout
        self.folder = layout.root / "nginx"
        self.pid_file = layout.pid_file("nginx")

    def pid(self) -> int | None:
        return procs.read_pid(self.pid_file, "nginx")

    def start(self, say) -> None:
        if self.pid():
            return
        found = binary()
        if found is None:
            raise MissingBinary("nginx", "apt-get install nginx-light (the proxied variant's TLS proxy)")
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.folder / "temp" / name).mkdir(parents=True, exist_ok=True)
        config = self.folder / "nginx.conf"
        layout = self.layout
        config.write_text(CONFIG.format(run=self.folder, log=layout.log_file("nginx"), temp=self.folder / "temp",
                                        port=layout.api_port, upstream=layout.api_upstream_port, cert=layout.cert_file,
                                        key=layout.key_file))
        procs.ensure_port_free(layout.api_port, "sandbox nginx (TLS in front of the API)")
        say(f"starting nginx on https://127.0.0.1:{layout.api_port}, terminating TLS for the API on port "
            f"{layout.api_upstream_port}")
        procs.spawn([found, "-c", str(config), "-p", str(self.folder)], layout.log_file("nginx"), self.pid_file)
        procs.wait_until(lambda: procs.port_accepts(layout.api_port), 10,
                         f"nginx to listen (see {layout.log_file('nginx')})")

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            procs.stop_pid(pid)
