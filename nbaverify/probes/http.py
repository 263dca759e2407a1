"""HTTP responses as on-call reads them: leaked internals, security headers, TLS, rate-limit headers."""

from __future__ import annotations

import datetime as dt
import re
import socket
import ssl
import warnings
from urllib.parse import urlsplit

INTERNALS = re.compile(
    r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+|\n\s+at \S+ \([^)]*:\d+:\d+\)|node_modules"
    r"|syntax error at or near|SQLSTATE|psycopg|pg_catalog|ProgrammingError|unterminated quoted string",
    re.IGNORECASE)


def leaked_internals(body: str) -> str | None:
    """The first stack-trace or SQL-error fragment in a body, or None."""
    match = INTERNALS.search(body)
    return match.group(0).strip()[:60] if match else None


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
