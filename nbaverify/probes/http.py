"""HTTP responses as on-call reads them: leaked internals, security headers, TLS, rate-limit
headers."""

from __future__ import annotations

import datetime as dt
import re
import ssl

# what a body must never show, most telling first (the first kind found is reported)
INTERNALS = [
    (
        "a Python traceback",
        re.compile(r'Traceback \(most recent call last\)|File "[^"]+", line \d+'),
    ),
    # a V8 frame, raw or JSON-escaped: "\n    at fn (/app/x.js:1:2)" or "\\n    at /app/x.js:1:2"
    ("a JavaScript stack trace", re.compile(r"(?:\n|\\n)\s+at (?:[^\s()]+ \()?[^\s()]+:\d+:\d+")),
    ("a node_modules path", re.compile(r"node_modules")),
    (
        "an SQL error",
        re.compile(
            r"syntax error at or near|SQLSTATE|unterminated quoted string|invalid input syntax for"
            r" type",
            re.IGNORECASE,
        ),
    ),
    (
        "database driver internals",
        re.compile(r"psycopg|pg_catalog|ProgrammingError", re.IGNORECASE),
    ),
]


def leaked_internals(body: str) -> str | None:
    """What the body gives away ("a Python traceback: 'Traceback (most…'"), or None."""
    found = [(label, m.group(0)) for label, pattern in INTERNALS if (m := pattern.search(body))]
    if not found:
        return None
    label, fragment = found[0]
    fragment = " ".join(fragment.replace("\\n", " ").split())
    # a frame's path, shortened
    fragment = re.sub(r"(?:/[^\s/():]+)+/([^\s/():]+/[^\s/():]+:\d+:\d+)", r"…/\1", fragment)
    return f"{label}: {fragment[:80]!r}"


# helmet()'s protections (Security Best Practices / Data Sanitization: app.use(helmet())), one
# finding each, so a waiver or a known gap names exactly one: a function of (headers, https) -> what
# is wrong, or None
YEAR_S = 31536000
# the policies that send no more than the origin to another site, and nothing over plain HTTP
PRIVATE_REFERRERS = (
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
)


def _hsts(headers, https: bool) -> str | None:
    if not https:
        return None
    hsts = headers.get("strict-transport-security", "")
    age = re.search(r"max-age=(\d+)", hsts)
    if age and int(age.group(1)) >= YEAR_S and "includesubdomains" in hsts.lower():
        return None
    return (
        f"Strict-Transport-Security is {hsts or 'missing'!r} (want helmet's default: a max-age of a"
        f" year, {YEAR_S}, or more, with includeSubDomains)"
    )


def _referrer_policy(headers, https: bool) -> str | None:
    value = headers.get("referrer-policy", "")
    # a list names fallbacks: the browser applies the last policy it knows
    known = [p.strip().lower() for p in value.split(",") if p.strip()]
    if known and known[-1] in PRIVATE_REFERRERS:
        return None
    return (
        f"Referrer-Policy is {value or 'missing'!r} (want no-referrer, helmet's default, or another"
        " that never sends a page's full URL to other sites)"
    )


def _nosniff(headers, https: bool) -> str | None:
    value = headers.get("x-content-type-options", "")
    return (
        None
        if value.lower() == "nosniff"
        else f"X-Content-Type-Options is {value or 'missing'!r} (want nosniff)"
    )


def _frame_protection(headers, https: bool) -> str | None:
    if headers.get("x-frame-options", "").upper() in ("DENY", "SAMEORIGIN"):
        return None
    if "frame-ancestors" in headers.get("content-security-policy", ""):
        return None
    return "no frame protection (neither X-Frame-Options nor CSP frame-ancestors)"


def _csp(headers, https: bool) -> str | None:
    return None if headers.get("content-security-policy") else "Content-Security-Policy is missing"


HELMET_FINDINGS = {
    "hsts": _hsts,
    "nosniff": _nosniff,
    "frame-protection": _frame_protection,
    "csp": _csp,
    "referrer-policy": _referrer_policy,
}


def missing_protections(headers, https: bool) -> list[str]:
    """Every helmet() finding of one response (an error reply should carry them all, as any
    other)."""
    return [problem for finding in HELMET_FINDINGS.values() if (problem := finding(headers, https))]


PROXIES = {
    "nginx": "set server_tokens off in nginx",
    "apache": "set ServerTokens Prod in Apache",
    "envoy": "set server_header_transformation in Envoy",
    "openresty": "set server_tokens off in OpenResty",
}


def _powered_by(headers) -> str | None:
    value = headers.get("x-powered-by")
    if value is None:
        return None
    return (
        f"X-Powered-By leaks {value!r}; helmet() removes it (app.use(helmet()) before the routes)"
    )


def _server_version(headers) -> str | None:
    server = headers.get("server", "")
    if not re.search(r"\d", server):
        return None
    product = re.split(r"[/ ]", server.strip(), maxsplit=1)[0].lower()
    if product in PROXIES:
        # a proxy in front of the API answers: it is fixed there, not by helmet()
        advice = (
            f"{PROXIES[product]} (it answers in front of the API, where helmet() does not reach)"
        )
    else:
        advice = (
            "turn the version off in the component that sets it (helmet() does not touch Server)"
        )
    return f"Server header leaks a version ({server!r}): {advice}"


LEAK_FINDINGS = {"x-powered-by": _powered_by, "server-version": _server_version}


def cors_problem(headers, origin: str, allowed: list[str]) -> str | None:
    """What a response's CORS headers grant an origin the platform does not list, or None. `origin`
    is one nobody lists; `allowed` the origins the expectations let in ('*' among them lets in every
    one)."""
    granted = headers.get("access-control-allow-origin")
    credentials = headers.get("access-control-allow-credentials", "").lower() == "true"
    with_credentials = " with Access-Control-Allow-Credentials: true" if credentials else ""
    if granted == origin:
        return (
            f"reflects the untrusted Origin {origin} as allowed{with_credentials}: any web page can"
            " read it"
        )
    if granted == "*" and (credentials or "*" not in allowed):
        return f"allows every origin (Access-Control-Allow-Origin: *){with_credentials}"
    return None


def expires_at(certificate: dict) -> dt.datetime:
    return dt.datetime.fromtimestamp(ssl.cert_time_to_seconds(certificate["notAfter"]), dt.UTC)
