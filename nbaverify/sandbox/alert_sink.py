"""The sandbox's notification sink: where its Alertmanager delivers, so nothing leaves the machine.

    python -m nbaverify.sandbox.alert_sink --state-dir DIR --port-base N

A webhook receiver (HTTP POST /<receiver>, base+64) and a minimal SMTP server (base+65) that accept
every notification and append it to <state>/alertmanager/deliveries.jsonl. With the fault
`alert_not_delivered` on (control.json), both refuse: the webhook answers 503, SMTP 554.
"""

from __future__ import annotations

import json
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from nbaverify.sandbox import control
from nbaverify.sandbox.layout import Layout

REFUSING = "alert_not_delivered"


class Sink:
    def __init__(self, layout: Layout):
        self.layout = layout
        self.log = layout.root / "alertmanager" / "deliveries.jsonl"
        self._lock = threading.Lock()

    def refusing(self) -> bool:
        return REFUSING in control.read(self.layout.control_file).faults  # a fault of its own, not an API flag

    def record(self, kind: str, receiver: str, body: str) -> None:
        with self._lock, self.log.open("a") as out:
            out.write(json.dumps({"at": time.time(), "kind": kind, "receiver": receiver, "body": body[:20000]}) + "\n")


def webhook_handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode(errors="replace")
            if sink.refusing():
                self.send_response(503)
            else:
                sink.record("webhook", self.path.strip("/"), body)
                self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def smtp_handler(sink: Sink) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        """Just enough SMTP for Alertmanager's client: EHLO, MAIL, RCPT, DATA, QUIT; no TLS, no auth."""

        def reply(self, line: str) -> None:
            self.wfile.write(f"{line}\r\n".encode())

        def handle(self) -> None:
            self.reply("220 nbaverify-sink ESMTP")
            recipients: list[str] = []
            while line := self.rfile.readline().decode(errors="replace").strip():
                verb = line.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    self.reply("250 nbaverify-sink")
                elif verb == "MAIL":
                    self.reply("554 refusing every message" if sink.refusing() else "250 OK")
                elif verb == "RCPT":
                    recipients.append(line.split(":", 1)[-1].strip(" <>"))
                    self.reply("250 OK")
                elif verb == "DATA":
                    self.reply("354 end with <CRLF>.<CRLF>")
                    data = []
                    while (chunk := self.rfile.readline().decode(errors="replace")).rstrip("\r\n") != ".":
                        data.append(chunk)
                    sink.record("email", ",".join(recipients), "".join(data))
                    self.reply("250 OK")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("250 OK")

    return Handler


def main() -> None:
    layout = Layout.from_service_argv(__doc__)
    sink = Sink(layout)
    sink.log.parent.mkdir(parents=True, exist_ok=True)
    # SO_REUSEADDR, as HTTPServer sets it: the SMTP side closes first, and its TIME_WAIT ports must not
    # keep the next start from binding
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    smtp = socketserver.ThreadingTCPServer(("127.0.0.1", layout.alert_smtp_port), smtp_handler(sink))
    smtp.daemon_threads = True
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    ThreadingHTTPServer(("127.0.0.1", layout.alert_sink_port), webhook_handler(sink)).serve_forever()


def deliveries(log: Path) -> list[dict]:
    """What the sink has received, oldest first (for the sandbox and the self-tests)."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    main()
