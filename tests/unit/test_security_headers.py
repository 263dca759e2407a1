"""helmet()'s protections as the header checks judge them: HSTS as helmet's default sets it, a
private Referrer-Policy."""

from __future__ import annotations

import httpx
import pytest

from nbaverify.probes import http

HELMET_DEFAULTS = {
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "SAMEORIGIN",
    "content-security-policy": "default-src 'self'",
    "referrer-policy": "no-referrer",
}


def test_helmet_s_defaults_pass_every_finding():
    assert http.missing_protections(httpx.Headers(HELMET_DEFAULTS), https=True) == []


@pytest.mark.parametrize(
    "value, fine",
    [
        ("max-age=31536000; includeSubDomains", True),
        ("max-age=63072000; includeSubDomains; preload", True),
        ("max-age=15552000; includeSubDomains", False),  # 180 days
        ("max-age=31536000", False),
        ("", False),
    ],
)
def test_hsts_wants_a_year_with_subdomains(value, fine):
    problem = http.HELMET_FINDINGS["hsts"](
        httpx.Headers({"strict-transport-security": value} if value else {}), True
    )
    assert (problem is None) == fine, problem
    assert http.HELMET_FINDINGS["hsts"](httpx.Headers({}), False) is None  # judged over HTTPS only


@pytest.mark.parametrize(
    "value, fine",
    [
        ("no-referrer", True),
        ("strict-origin-when-cross-origin", True),
        # the last one known wins
        ("unsafe-url, strict-origin", True),
        ("no-referrer, unsafe-url", False),
        ("unsafe-url", False),
        ("no-referrer-when-downgrade", False),
        ("", False),
    ],
)
def test_a_referrer_policy_never_sends_the_full_url_elsewhere(value, fine):
    problem = http.HELMET_FINDINGS["referrer-policy"](
        httpx.Headers({"referrer-policy": value} if value else {}), True
    )
    assert (problem is None) == fine, problem


def test_an_error_reply_without_headers_names_each_missing_protection():
    missing = http.missing_protections(
        httpx.Headers({"content-type": "application/json"}), https=True
    )
    assert len(missing) == len(http.HELMET_FINDINGS)
    assert missing[0].startswith("Strict-Transport-Security is 'missing'")
