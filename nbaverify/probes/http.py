"""HTTP responses as on-call reads them: leaked internals, security headers, TLS, rate-limit headers."""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
import warnings
from urllib.parse import urlsplit

# what a body must never show, most telling first (the first kind found is reported)
INTERNALS = [
    ("a Python traceback", re.compile(r'Traceback \(most recent call last\)|File "[^"]+", line \d+')),
    # a V8 frame, raw or JSON-escaped: "\n    at fn (/app/x.js:1:2)" or "\\n    at /app/x.js:1:2"
    ("a JavaScript stack trace", re.compile(r"(?:\n|\\n)\s+at (?:[^\s()]+ \()?[^\s()]+:\d+:\d+")),
    ("a node_modules path", re.compile(r"node_modules")),
    ("an SQL error", re.compile(r"syntax error at or near|SQLSTATE|unterminated quoted string|invalid input syntax for type",
                                re.IGNORECASE)),
    ("database driver internals", re.compile(r"psycopg|pg_catalog|ProgrammingError", re.IGNORECASE)),
]


def leaked_internals(body: str) -> str | None:
    """What the body gives away ("a Python traceback: 'Traceback (most…'"), or None."""
    found = [(label, m.group(0)) for label, pattern in INTERNALS if (m := pattern.search(body))]
    if not found:
        return None
    label, fragment = found[0]
    fragment = " ".join(fragment.replace("\\n", " ").split())
    fragment = re.sub(r"(?:/[^\s/():]+)+/([^\s/():]+/[^\s/():]+:\d+:\d+)", r"…/\1", fragment)  # a frame's path, shortened
    return f"{label}: {fragment[:80]!r}"


# helmet()'s defaults (Security Best Practices / Data Sanitization: app.use(helmet()))
def header_problems(headers, https: bool) -> list[str]:
    problems = []
    if https:
        hsts = headers.get("strict-transport-security", "")
        age = re.search(r"max-age=(\d+)", hsts)
        if not age or int(age.group(1)) < 15552000:  # helmet's default is 180 days
            problems.append(f"Strict-Transport-Security is {hsts or 'missing'!r} (want max-age of 180 days or more)")
    if headers.get("x-content-type-options", "").lower() != "nosniff":
        problems.append(f"X-Content-Type-Options is {headers.get('x-content-type-options', 'missing')!r} (want nosniff)")
    frame = headers.get("x-frame-options", "").upper()
    csp = headers.get("content-security-policy", "")
    if frame not in ("DENY", "SAMEORIGIN") and "frame-ancestors" not in csp:
        problems.append("no frame protection (X-Frame-Options or CSP frame-ancestors)")
    if not csp:
        problems.append("Content-Security-Policy is missing")
    if "x-powered-by" in headers:
        problems.append(f"X-Powered-By leaks {headers['x-powered-by']!r}")
    server = headers.get("server", "")
    if re.search(r"\d", server):
        problems.append(f"Server header leaks a version: {server!r}")
    return problems


def peer_certificate(base_url: str, ca_file: str | None, timeout_s: float) -> dict:
    parts = urlsplit(base_url)
    context = ssl.create_default_context(cafile=ca_file)
    with socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout_s) as raw, \
            context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
        return tls.getpeercert()


def expires_at(certificate: dict) -> dt.datetime:
    return dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(certificate["notAfter"]), dt.UTC)


def accepts_tls_below_1_2(base_url: str, timeout_s: float) -> str | None:
    """The old protocol the server still accepts (TLS 1.0 / 1.1), or None."""
    parts = urlsplit(base_url)
    with warnings.catch_warnings():  # asking for TLS 1.0/1.1 on purpose: Python warns they are deprecated
        warnings.simplefilter("ignore", DeprecationWarning)
        return _first_accepted(parts, timeout_s)


def _first_accepted(parts, timeout_s: float) -> str | None:
    for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        try:  # our own OpenSSL may refuse old protocols at its security level: lower it for the probe
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
            context.minimum_version = context.maximum_version = version
        except (ValueError, ssl.SSLError):
            continue
        try:
            with socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout_s) as raw, \
                    context.wrap_socket(raw, server_hostname=parts.hostname):
                return version.name
        except (ssl.SSLError, OSError):
            continue
    return None
