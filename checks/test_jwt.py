"""JWT: the platform refuses every forged, stripped, expired or weakly signed token, on every endpoint.

Guide: Security Best Practices / Authentication & Authorization (jwt.verify with JWT_SECRET).
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbaverify.checking import expectations_at_collection
from nbaverify.probes import fuzz, jwt_attacks

pytestmark = [pytest.mark.area("security")]

AUTH = "Security Best Practices / Authentication & Authorization"


def pytest_generate_tests(metafunc):
    if "attack" in metafunc.fixturenames:
        metafunc.parametrize("attack", list(jwt_attacks.ATTACKS))
    if "endpoint" in metafunc.fixturenames:
        metafunc.parametrize("endpoint", expectations_at_collection(metafunc.config)["api.auth.protected"])


def refused(api, path, authorization):
    headers = {"authorization": authorization} if authorization is not None else {}
    return api.get(path, headers=headers)


def no_leak(reply) -> bool:
    body = reply.text.lower()
    return not any(marker in body for marker in ("traceback", "stack", " at ", "exception"))


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(AUTH)
def check_token_refused(api, expect, attack):
    path = expect["api.auth.probe_path"]
    reply = refused(api, path, jwt_attacks.ATTACKS[attack](api))
    assert reply.status_code < 500, (
        f"token attack '{attack}' crashed GET {api.url(path)} with {reply.status_code}; expected 401")
    assert reply.status_code == 401, (
        f"token attack '{attack}' was accepted by GET {api.url(path)} ({reply.status_code}, expected 401): "
        "jwt.verify(token, JWT_SECRET) refuses such a token, so the middleware does not verify it as the guide does")


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook(AUTH)
def check_token_without_exp_refused(api, expect):
    """Beyond the guide: jsonwebtoken's jwt.verify accepts a token with no exp; such a token never expires."""
    path = expect["api.auth.probe_path"]
    reply = refused(api, path, jwt_attacks.without_exp(api))
    assert reply.status_code < 500, f"a token without exp crashed GET {api.url(path)} with {reply.status_code}"
    assert reply.status_code == 401, (
        f"a validly signed token without exp was accepted by GET {api.url(path)} ({reply.status_code}): tokens without "
        "exp never expire, so a leaked one works forever; require it (jsonwebtoken: check decoded.exp after jwt.verify)")


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(AUTH)
@pytest.mark.parametrize("claim", ["iss", "aud"])
def check_wrong_issuer_or_audience_refused(api, expect, claim):
    wanted = expect["api.auth.issuer" if claim == "iss" else "api.auth.audience"]
    if not wanted:
        pytest.skip(f"not configured: expectations.api.auth.{'issuer' if claim == 'iss' else 'audience'}")
    path = expect["api.auth.probe_path"]
    reply = refused(api, path, jwt_attacks.wrong_claim(api, claim, "https://attacker.example"))
    assert reply.status_code == 401, (
        f"a token with {claim}=https://attacker.example was accepted by GET {api.url(path)} ({reply.status_code}); "
        f"expected 401 (expected {claim} {wanted!r})")


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(AUTH)
def check_no_weak_signing_secret(api, expect):
    path = expect["api.auth.probe_path"]
    accepted = [s for s in expect["api.auth.weak_secrets"]
                if refused(api, path, jwt_attacks.signed_with(api, s)).status_code != 401]
    assert not accepted, (
        f"GET {api.url(path)} accepts tokens signed with {len(accepted)} well-known weak secret(s): the platform's "
        "JWT_SECRET is guessable; rotate it now (Monthly Tasks: Rotate credentials)")


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(AUTH)
def check_valid_token_accepted(api, expect):
    path = expect["api.auth.probe_path"]
    reply = api.get(path, token=api.token())
    assert reply.status_code == 200, (
        f"a valid HS256 token minted from api.jwt_secret_env got {reply.status_code} on GET {api.url(path)}, "
        "expected 200: is the profile's secret the platform's JWT_SECRET?")


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(AUTH)
def check_auth_enforced(api, endpoint):
    reply = api.get(endpoint)
    assert reply.status_code == 401, (
        f"GET {api.url(endpoint)} without a token returned {reply.status_code}, expected 401: "
        "this endpoint is not behind the JWT middleware")


@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(AUTH)
def check_fuzzed_authorization_refused(api, expect):
    """Hypothesis: arbitrary Authorization values never get 2xx, never 5xx, never a stack trace."""
    path = expect["api.auth.probe_path"]
    seen = []

    @fuzz.within_budget(expect["api.auth.fuzz_examples"])
    @given(st.one_of(
        st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=300),
        st.builds(lambda t: f"Bearer {t}", st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                                                   min_size=1, max_size=300)),
    ))
    def probe(value):
        reply = refused(api, path, value)
        seen.append(reply.status_code)
        assert 400 <= reply.status_code < 500 and no_leak(reply), (
            f"Authorization {value[:40]!r} got {reply.status_code} on GET {api.url(path)}"
            + ("" if no_leak(reply) else " with a stack trace in the body") + "; expected a 4xx without internals")

    probe()
