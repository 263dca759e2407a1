"""Headers and transport: helmet's security headers, no version leaks, a valid certificate, TLS >= 1.2.

Guide: Security Best Practices / Data Protection (Encryption: https.createServer; Data
Sanitization: app.use(helmet())).
"""

import datetime as dt

import pytest

from nbaverify.probes import http

pytestmark = [pytest.mark.area("security")]


def https_only(api):
    if not api.base_url.startswith("https://"):
        pytest.skip(f"not configured: api.base_url is not HTTPS ({api.base_url})")


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("Security Best Practices / Data Protection / Data Sanitization")
@pytest.mark.parametrize("path_key", ["api.health_path", "api.auth.probe_path"])
def check_security_headers(api, expect, path_key):
    path = expect[path_key]
    reply = api.get(path)
    problems = http.header_problems(reply.headers, https=api.base_url.startswith("https://"))
    assert not problems, f"GET {api.url(path)}: {'; '.join(problems)}; is helmet() installed before the routes?"


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("Security Best Practices / Data Protection / Encryption")
def check_certificate_valid(api, expect, evidence):
    https_only(api)
    certificate = http.peer_certificate(api.base_url, api.ca_file, expect["api.timeout_s"])  # verifies host and chain
    expires = http.expires_at(certificate)
    days = (expires - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    evidence.update(not_after=expires.isoformat(), days_left=round(days, 1))
    window = expect["api.tls.min_days_left"]
    assert days >= window, (
        f"the certificate of {api.base_url} expires {expires:%Y-%m-%d} UTC, in {days:.0f} day(s) "
        f"(want {window} or more); renew it")


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook("Security Best Practices / Data Protection / Encryption")
def check_tls_1_2_or_newer_only(api, expect):
    https_only(api)
    old = http.accepts_tls_below_1_2(api.base_url, expect["api.timeout_s"])
    assert old is None, f"{api.base_url} accepts {old}; allow TLS 1.2 and 1.3 only"
