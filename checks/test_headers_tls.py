"""Headers and transport: helmet's security headers, no version leaks, a valid certificate, TLS >= 1.2.

Guide: Security Best Practices / Data Protection (Encryption: https.createServer; Data
Sanitization: app.use(helmet())).
"""

import datetime as dt
import ssl

import pytest

from nbaverify.probes import http

pytestmark = [pytest.mark.area("security")]


def https_only(api):
    if not api.base_url.startswith("https://"):
        pytest.skip(f"not configured: api.base_url is not HTTPS ({api.base_url})")


PATHS = ["api.health_path", "api.auth.probe_path"]


@pytest.fixture(scope="module")
def replies(api, expect):
    """One response per path, shared by every header finding (each finding its own check)."""
    return {key: api.get(expect[key]) for key in PATHS}


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("Security Best Practices / Data Protection / Data Sanitization")
@pytest.mark.parametrize("path_key", PATHS)
@pytest.mark.parametrize("finding", list(http.HELMET_FINDINGS))
def check_security_header(api, expect, replies, path_key, finding):
    """One of the protections the guide's app.use(helmet()) sets, on one path."""
    problem = http.HELMET_FINDINGS[finding](replies[path_key].headers, api.base_url.startswith("https://"))
    assert problem is None, f"GET {api.url(expect[path_key])}: {problem}; is helmet() installed before the routes?"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Security Best Practices / Data Protection / Data Sanitization")
@pytest.mark.parametrize("path_key", PATHS)
@pytest.mark.parametrize("finding", list(http.LEAK_FINDINGS))
def check_no_version_leak(api, expect, replies, path_key, finding):
    """Headers that name the software and its version: a warning (they help an attacker pick an exploit)."""
    problem = http.LEAK_FINDINGS[finding](replies[path_key].headers)
    assert problem is None, f"GET {api.url(expect[path_key])}: {problem}"


@pytest.fixture(scope="module")
def handshake(api, expect):
    """One TLS handshake for both certificate checks: the verified certificate, or why it is not trusted."""
    https_only(api)
    try:
        return api.peer_certificate(expect["api.timeout_s"]), None  # verifies host and chain
    except ssl.SSLCertVerificationError as exc:
        return None, exc.verify_message or str(exc)


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("Security Best Practices / Data Protection / Encryption")
def check_certificate_valid(api, handshake, evidence):
    certificate, untrusted = handshake
    trusted = f"the CA in api.ca_file ({api.ca_file})" if api.ca_file else "the system's CAs"
    assert certificate is not None, (
        f"the certificate of {api.base_url} is not trusted by {trusted}: {untrusted}; "
        "serve a certificate that chain signs for this name, or name its CA in the profile")
    evidence.update(not_after=http.expires_at(certificate).isoformat(),
                    issuer=dict(x[0] for x in certificate.get("issuer", ())))


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Security Best Practices / Data Protection / Encryption")
def check_certificate_not_expiring(api, expect, handshake, evidence):
    """Weeks before expiry a renewal is a task, not an outage: a warning with the date."""
    certificate, untrusted = handshake
    if certificate is None:
        pytest.skip(f"the certificate is not trusted ({untrusted}): see check_certificate_valid")
    expires = http.expires_at(certificate)
    days = (expires - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    evidence.update(not_after=expires.isoformat(), days_left=round(days, 1))
    window = expect["api.tls.min_days_left"]
    assert days >= window, (
        f"the certificate of {api.base_url} expires {expires:%Y-%m-%d} UTC, in {days:.0f} day(s) "
        f"(want {window} or more); renew it before clients start refusing the API")


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook("Security Best Practices / Data Protection / Encryption")
def check_tls_1_2_or_newer_only(api, expect):
    """Beyond the guide (https.createServer with its defaults): TLS 1.0 and 1.1 have known weaknesses."""
    https_only(api)
    old = api.accepts_tls_below_1_2(expect["api.timeout_s"])
    assert old is None, (f"{api.base_url} accepts {old}; allow TLS 1.2 and 1.3 only (1.0 and 1.1 are deprecated, "
                         "RFC 8996: their weaknesses let a network attacker read or alter traffic)")
