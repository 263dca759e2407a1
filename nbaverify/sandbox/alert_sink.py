"""The sandbox's notification sink: where its Alertmanager delivers, so nothing leaves the machine.

    python -m nbaverify.sandbox.alert_sink --state-dir DIR --port-base N

A webhook receiver (HTTP POST /<receiver>, base+64) and a minimal SMTP server (base+65) that accept
every notification and append it to <state>/alertmanager/deliveries.jsonl, one line a notification
with the receiver it was for and its status (a webhook's own payload says both; a mail's receiver is
the one whose email_configs name its recipients in the deployed configuration, its status the
subject's). `GET /deliveries` serves that record: the sandbox profile's `[alertmanager] deliveries`,
where the drill attributes each delivery.

With the fault `alert_not_delivered` on (control.json), both refuse: the webhook answers 503, SMTP
554. With `alert_swallowed`, the on-call pager's webhook answers 200 and records nothing, as an
endpoint that accepts and drops does: Alertmanager counts the notification sent.
"""

from __future__ import annotations

import email
import json
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

from nbaverify.sandbox import control
from nbaverify.sandbox.layout import Layout

REFUSING = "alert_not_delivered"
SWALLOWING = "alert_swallowed"
SWALLOWED_RECEIVER = "oncall-pager"
SERVED_BYTES = 2 * 1024 * 1024  # the newest notifications: the watchdog alone adds about 8 MB a day


class Sink:
    """The notification sink's record (<state>/alertmanager/deliveries.jsonl): appends each
    notification it receives, one line each under a lock (its HTTP and SMTP servers run threads),
    reads which of its own faults are on, and finds the receiver a mail was for in the deployed
    configuration. Where the sandbox delivers: nothing leaves the machine.
    """

    def __init__(self, layout: Layout):
        self.layout = layout
        self.log = layout.root / "alertmanager" / "deliveries.jsonl"
        self._lock = threading.Lock()

    def faulty(self, fault: str) -> bool:
        # faults of its own, not API flags
        return fault in control.read(self.layout.control_file).faults

    def record(self, entry: dict) -> None:
        with self._lock, self.log.open("a") as out:
            out.write(json.dumps({"at": time.time(), **entry}) + "\n")

    def receiver_of(self, recipients: list[str]) -> str | None:
        """The deployed configuration's receiver that mails these recipients."""
        deployed = (
            yaml.safe_load((self.layout.root / "alertmanager" / "alertmanager.yml").read_text())
            or {}
        )
        for receiver in deployed.get("receivers", []):
            if any(
                set(recipients) & {a.strip() for a in str(mail.get("to", "")).split(",")}
                for mail in receiver.get("email_configs", []) or []
            ):
                return str(receiver["name"])
        return None


def webhook_entry(path: str, body: str) -> dict:
    try:
        payload = json.loads(body)
    except json.JSONDecodeError:  # not Alertmanager's: kept as it came, for whoever looks
        return {
            "via": "webhook",
            "path": path,
            "receiver": None,
            "status": None,
            "body": body[:2000],
        }
    return {
        "via": "webhook",
        "path": path,
        "receiver": payload.get("receiver"),
        "status": payload.get("status"),
        "alerts": [
            {"status": a.get("status"), "labels": a.get("labels", {})}
            for a in payload.get("alerts", [])
        ],
    }


def mail_entry(sink: Sink, recipients: list[str], data: str) -> dict:
    message = email.message_from_string(data)
    subject = str(message.get("Subject", ""))
    # Alertmanager's default subject
    status = "resolved" if subject.upper().startswith("[RESOLVED") else "firing"
    parts = (
        part.get_payload(decode=True)
        for part in message.walk()
        if part.get_content_maintype() == "text"
    )
    text = "\n".join(part.decode(errors="replace") for part in parts if isinstance(part, bytes))
    return {
        "via": "email",
        "to": recipients,
        "receiver": sink.receiver_of(recipients),
        "status": status,
        "subject": subject,
        "text": text[:20000],
    }


def webhook_handler(sink: Sink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """The sink's webhook side: POST /<receiver> records the notification (503 under
        alert_not_delivered; the on-call pager's dropped under alert_swallowed), GET /deliveries
        serves the newest SERVED_BYTES of the record.
        """

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode(
                errors="replace"
            )
            path = self.path.strip("/")
            if sink.faulty(REFUSING):
                self.send_response(503)
            else:
                if not (sink.faulty(SWALLOWING) and path == SWALLOWED_RECEIVER):
                    sink.record(webhook_entry(path, body))
                self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/deliveries":
                self.send_error(404)
                return
            # a reader skips a cut line
            body = sink.log.read_bytes()[-SERVED_BYTES:] if sink.log.exists() else b""
            self.send_response(200)
            self.send_header("content-type", "application/x-ndjson")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def smtp_handler(sink: Sink) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        """Just enough SMTP for Alertmanager's client: EHLO, MAIL, RCPT, DATA, QUIT; no TLS, no
        auth."""

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
                    self.reply("554 refusing every message" if sink.faulty(REFUSING) else "250 OK")
                elif verb == "RCPT":
                    recipients.append(line.split(":", 1)[-1].strip(" <>"))
                    self.reply("250 OK")
                elif verb == "DATA":
                    self.reply("354 end with <CRLF>.<CRLF>")
                    data = []
                    while (chunk := self.rfile.readline().decode(errors="replace")).rstrip(
                        "\r\n"
                    ) != ".":
                        data.append(chunk)
                    sink.record(mail_entry(sink, recipients, "".join(data)))
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
    # SO_REUSEADDR, as HTTPServer sets it: the SMTP side closes first, and its TIME_WAIT ports must
    # not keep the next start from binding
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    smtp = socketserver.ThreadingTCPServer(
        ("127.0.0.1", layout.alert_smtp_port), smtp_handler(sink)
    )
    smtp.daemon_threads = True
    threading.Thread(target=smtp.serve_forever, daemon=True).start()
    ThreadingHTTPServer(
        ("127.0.0.1", layout.alert_sink_port), webhook_handler(sink)
    ).serve_forever()


def deliveries(log: Path) -> list[dict]:
    """What the sink has received, oldest first (for the sandbox and the self-tests)."""
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


if __name__ == "__main__":
    main()
