"""JWT: the platform refuses every forged, stripped, expired or weakly signed token, on every
endpoint.

Guide: Security Best Practices / Authentication & Authorization (jwt.verify with JWT_SECRET).
"""

import pytest

from nbaverify.checking import expectations_at_collection
from nbaverify.probes import fuzz, jwt_attacks, jwt_key_attacks, signing_secret
from nbaverify.probes.counters import duration_words

pytestmark = [pytest.mark.area("security")]

API_SECURITY = "Security Best Practices / Authentication & Authorization / API Security"


def pytest_generate_tests(metafunc):
    if "attack" in metafunc.fixturenames:
        metafunc.parametrize("attack", list(jwt_attacks.ATTACKS))
    if "endpoint" in metafunc.fixturenames:
        metafunc.parametrize(
            "endpoint", expectations_at_collection(metafunc.config)["api.auth.protected"]
        )


def refused(api, path, authorization):
    headers = {"authorization": authorization} if authorization is not None else {}
    return api.get(path, headers=headers)


def no_leak(reply) -> bool:
    body = reply.text.lower()
    return not any(marker in body for marker in ("traceback", "stack", " at ", "exception"))


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY, "Maintenance Schedule / Quarterly Tasks / Security audit")
def check_token_refused(api, expect, attack):
    """Every token that `jwt.verify(token, JWT_SECRET)` itself refuses gets a 401, never a 5xx.

    One case per attack of the catalogue (`nbaverify.probes.jwt_attacks`): no token; malformed
    `Authorization` headers (a bare `Bearer`, Basic credentials, not a JWT, three empty parts); a
    wrong signing key; `alg` none, None, NONE and nOnE, each with and without the trailing dot; the
    signature stripped; the payload tampered after signing; expired; `nbf` in the future; a `kid`
    path traversal (to `/dev/null`, signed with an empty key) and a `kid` SQL injection. Each is
    sent to `api.auth.probe_path` (`/api/players?limit=1`).

    A 5xx is reported as a crash; any other answer but 401 means the middleware does not verify
    tokens as the guide's `jwt.verify` does.

    When it fails: Check the middleware against the attack the case names
    (`nbaverify.probes.jwt_attacks` builds it): every route behind `jwt.verify(token, JWT_SECRET, {
    algorithms: ['HS256'] })`, never `jwt.decode` alone, errors answered 401. A 5xx is in `kubectl
    logs -f deployment/api`; an accepted token goes to the security team.
    """
    path = expect["api.auth.probe_path"]
    reply = refused(api, path, jwt_attacks.ATTACKS[attack](api))
    assert reply.status_code < 500, (
        f"token attack '{attack}' crashed GET {api.url(path)} with {reply.status_code};"
        " expected 401"
    )
    assert reply.status_code == 401, (
        f"token attack '{attack}' was accepted by GET {api.url(path)} ({reply.status_code},"
        " expected 401): jwt.verify(token, JWT_SECRET) refuses such a token, so the middleware"
        " does not verify it as the guide does"
    )


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook(API_SECURITY)
def check_token_without_exp_refused(api, expect):
    """A validly signed token without an `exp` claim is refused with a 401.

    A warning, beyond the guide: jsonwebtoken's `jwt.verify` accepts a token without `exp` by
    default, and such a token never expires, so a leaked one works forever. Require it
    (jsonwebtoken: check `decoded.exp` after `jwt.verify`). Sent to `api.auth.probe_path`; a 5xx is
    reported as a crash.

    When it fails: Make the middleware refuse a token whose `decoded.exp` is missing after
    `jwt.verify`, and make the issuer set `exp`. A team whose tokens knowingly carry no `exp` waives
    it with an owner and an expiry.
    """
    path = expect["api.auth.probe_path"]
    reply = refused(api, path, jwt_attacks.without_exp(api))
    assert reply.status_code < 500, (
        f"a token without exp crashed GET {api.url(path)} with {reply.status_code}"
    )
    assert reply.status_code == 401, (
        f"a validly signed token without exp was accepted by GET {api.url(path)}"
        f" ({reply.status_code}): tokens without exp never expire, so a leaked one works forever;"
        " require it (jsonwebtoken: check decoded.exp after jwt.verify)"
    )


@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY)
def check_retired_secret_refused(api, target, expect):
    """A token signed with the secret (or private key) the last rotation retired is refused with a
    401.

    A rotation that keeps the old secret as a fallback leaves every token it signed valid, the
    leaked ones among them, until they expire: the rotation protected nothing. The retired secret is
    the one `api.previous_jwt_secret_env` names; for a platform that signs with a key pair, the
    private key `api.previous_jwt_private_key_env` names (its public half must be gone from the
    API's keys). The token is otherwise valid (issuer, audience, `exp` five minutes ahead) and sent
    to `api.auth.probe_path`. Without the setting, skips.

    When it fails: Remove the old secret or public key from the API's configuration (a fallback key
    list, a second `jwt.verify`, a key set that still publishes it) and redeploy; keep a grace
    period, if any, shorter than the tokens' lifetime and end it by a dated change.
    """
    setting = "api.previous_jwt_private_key_env" if api.key_pair else "api.previous_jwt_secret_env"
    previous = target.secret(setting)
    if not previous:
        pytest.skip(
            f"not configured: {setting} (the variable holding the "
            f"{'private key' if api.key_pair else 'secret'} before the last rotation)"
        )
    what = "private key" if api.key_pair else "secret"
    path = expect["api.auth.probe_path"]
    signed = api.sign(
        jwt_attacks.claims(), key=previous, algorithm=api.algorithm if api.key_pair else None
    )
    reply = refused(api, path, f"Bearer {signed}")
    assert reply.status_code < 500, (
        f"a token signed with the retired {what} crashed GET {api.url(path)} with "
        f"{reply.status_code}"
    )
    assert reply.status_code == 401, (
        f"a token signed with the retired {what} (${getattr(target.api, setting.split('.')[1])})"
        f" got {reply.status_code} on GET {api.url(path)}, expected 401: the rotation kept the old"
        f" {'public key' if api.key_pair else 'secret'}, so every token it signed still works;"
        " remove it from the API's keys"
    )


@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook(API_SECURITY)
def check_token_age_limited(api, expect):
    """A validly signed token issued longer ago than `api.auth.max_token_age_s` (a day) is refused,
    its exp ahead or not.

    A warning, beyond the guide: `jwt.verify(token, secret)` accepts a token for as long as its
    `exp` says, so a token minted with a far `exp` (or leaked from a log) works that long. The probe
    is a token whose `iat` is five minutes past the limit and whose `exp` is five minutes ahead,
    sent to `api.auth.probe_path`; jsonwebtoken's `maxAge` refuses it. `max_token_age_s = 0` turns
    the check off.

    When it fails: Verify with a maximum age (`jwt.verify(token, secret, { algorithms: ['HS256'],
    maxAge: '1d' })`) and make the issuer mint tokens that live no longer; set
    `api.auth.max_token_age_s` to the platform's own limit.
    """
    limit = expect["api.auth.max_token_age_s"]
    if not limit:
        pytest.skip("not configured: expectations.api.auth.max_token_age_s")
    path = expect["api.auth.probe_path"]
    reply = refused(api, path, jwt_attacks.issued_long_ago(api, limit + 300))
    assert reply.status_code < 500, (
        f"a token issued long ago crashed GET {api.url(path)} with {reply.status_code}"
    )
    assert reply.status_code == 401, (
        f"a validly signed token issued {duration_words(limit + 300)} ago (iat), its exp still"
        f" ahead, was accepted by GET {api.url(path)} ({reply.status_code}), past the"
        f" {duration_words(limit)} limit (api.auth.max_token_age_s): a token lives as long as its"
        f" exp says; verify with maxAge (jwt.verify(token, secret, {{ maxAge: {limit} }}))"
    )


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY)
@pytest.mark.parametrize("claim", ["iss", "aud"])
def check_wrong_issuer_or_audience_refused(api, expect, claim):
    """A token naming another issuer (`iss`) or audience (`aud`) is refused with a 401, where the
    expectations name them.

    One case per claim: a token signed with the profile's secret that carries
    `https://attacker.example` as its `iss` or `aud`, sent to `api.auth.probe_path`. Skipped as not
    configured unless `expectations.api.auth.issuer` (for `iss`) or `expectations.api.auth.audience`
    (for `aud`) is set; both are empty by default. Once they are set, every token the suite and the
    load generator sign carries them. The sandbox requires both.

    When it fails: Pass the expected values to `jwt.verify` (`{ issuer: ..., audience: ... }`) so it
    checks them; the message names the expected value (`api.auth.issuer` or `api.auth.audience`). If
    that value is wrong for the platform, fix it in the profile's `[expectations]`.
    """
    wanted = expect["api.auth.issuer" if claim == "iss" else "api.auth.audience"]
    if not wanted:
        pytest.skip(
            f"not configured: expectations.api.auth.{'issuer' if claim == 'iss' else 'audience'}"
        )
    path = expect["api.auth.probe_path"]
    reply = refused(api, path, jwt_attacks.wrong_claim(api, claim, "https://attacker.example"))
    assert reply.status_code == 401, (
        f"a token with {claim}=https://attacker.example was accepted by GET {api.url(path)}"
        f" ({reply.status_code}); expected 401 (expected {claim} {wanted!r})"
    )


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY, "Maintenance Schedule / Monthly Tasks / Rotate credentials")
def check_no_weak_signing_secret(api, expect):
    """Tokens signed with well-known weak secrets are refused: the platform's `JWT_SECRET` is not
    guessable.

    Each secret of `api.auth.weak_secrets` (`secret`, `password`, `changeme`, `your-256-bit-secret`,
    `nba-stats`) signs a token valid in every other way, sent to `api.auth.probe_path`; any answer
    but 401 means the platform's secret is guessable and must be rotated now. The profile's own
    secret is judged offline against thousands of known ones by `check_signing_secret_strong`. A
    platform that signs with a key pair holds no secret: the check says it does not apply
    (`check_key_confusion_refused` sends it HS256 tokens).

    When it fails: If `check_token_refused[wrong signing key]` fails too, the middleware verifies no
    signature at all: fix that first. Otherwise treat `JWT_SECRET` as compromised: tell the security
    team, who rotate it to a long random value (Monthly Tasks: Rotate credentials), then update the
    secret the profile's `api.jwt_secret_env` names.
    """
    if api.key_pair:
        # an HS256 token is refused for its algorithm, whatever its secret: key confusion's to test
        pytest.skip(
            f"does not apply: the platform signs with {api.algorithm}, a key pair, and holds no"
            " secret to guess (check_key_confusion_refused sends it HS256 tokens)"
        )
    path = expect["api.auth.probe_path"]
    accepted = [
        s
        for s in expect["api.auth.weak_secrets"]
        if refused(api, path, jwt_attacks.signed_with(api, s)).status_code != 401
    ]
    assert not accepted, (
        f"GET {api.url(path)} accepts tokens signed with {len(accepted)} well-known weak secret(s):"
        " the platform's JWT_SECRET is guessable; rotate it now (Monthly Tasks: Rotate"
        " credentials)"
    )


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.monthly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY, "Maintenance Schedule / Monthly Tasks / Rotate credentials")
def check_signing_secret_strong(target, expect, evidence):
    """The profile's JWT signing secret is long, not a well-known value and hard to guess, judged
    offline.

    At least `api.auth.min_secret_bytes` (32) bytes, in no list of known secrets, and at least
    `api.auth.min_secret_bits` (100) by zxcvbn's estimate; no request is sent. HS256 rests on the
    secret alone (RFC 7518 section 3.2: a key of at least 256 bits). The secret is the one the
    profile's `api.jwt_secret_env` names (the platform's `JWT_SECRET`: they must be the same for the
    token checks to mean anything). It is looked up in a shipped list of a few thousand known JWT
    secrets (framework defaults, documentation examples such as jwt.io's `your-256-bit-secret`, the
    shapes teams give a secret, the most common passwords; `scripts/jwt_secret_list` writes it, its
    date is in the evidence) and judged by zxcvbn, which finds dictionary words, repeats, sequences
    and dates; an unpatterned character counts as ten guesses, so a random 32-character secret
    estimates at about 2^106. Neither the secret nor any part of it is printed: the message names
    its length, the list and the kinds of pattern. `check_no_weak_signing_secret` tries a few weak
    secrets against the platform itself. A platform that signs with a key pair has no shared secret:
    the check says it does not apply, and `check_signing_key_strong` judges the key.

    When it fails: Rotate the secret (Monthly Tasks: Rotate credentials) to 32 or more random bytes,
    e.g. `openssl rand -base64 48`: set it as the platform's `JWT_SECRET` and in the variable the
    profile's `api.jwt_secret_env` names, together; every token signed with the old one stops
    working.
    """
    secret = target.secret("api.jwt_secret_env")
    algorithm = expect["api.auth.algorithms"][0]
    if not secret and not algorithm.startswith("HS"):
        pytest.skip(
            f"does not apply: the platform signs with {algorithm}, a key pair"
            " (expectations.api.auth.algorithms): check_signing_key_strong judges its key"
        )
    if not secret:
        pytest.skip("not configured: api.jwt_secret_env")
    variable = target.api.jwt_secret_env
    known = signing_secret.known_secrets()
    strength = signing_secret.judge(secret)
    evidence.update(
        length_bytes=strength.length_bytes,
        estimated_bits=round(strength.bits),
        patterns=sorted(set(strength.patterns)),
        well_known=strength.well_known,
        known_list=f"{len(known.secrets)} secrets, written {known.generated}",
    )
    findings = strength.findings(
        expect["api.auth.min_secret_bytes"], expect["api.auth.min_secret_bits"], len(known.secrets)
    )
    assert not findings, (
        f"the JWT signing secret in ${variable} (api.jwt_secret_env) is {'; and '.join(findings)}:"
        " rotate it to 32 or more random bytes (openssl rand -base64 48) in the platform's"
        " JWT_SECRET and the profile's variable together"
    )


@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook(API_SECURITY)
def check_algorithm_pinned(api, expect):
    """Tokens signed with the platform's own key under another algorithm of its family (HS384,
    HS512; RS512, PS256) are refused.

    The middleware pins `api.auth.algorithms`: beside HS256, HS384 and HS512; beside RS256, RS512
    and PS256.

    The guide's `jwt.verify(token, process.env.JWT_SECRET)` accepts HS256, HS384 and HS512 alike
    when no `algorithms` option is given, and with an RSA public key every RS and PS algorithm. Each
    algorithm the platform's key can sign that `api.auth.algorithms` does not list signs a token
    valid in every other way, sent to `api.auth.probe_path`; any answer but 401 means the algorithm
    is not pinned. A warning: the key is the same, but an unpinned verifier is the one that
    key-confusion attacks need the day keys change (RFC 8725 section 3.1). An EC key signs only the
    algorithm its curve fixes: nothing else to try, and the check says so.

    When it fails: Pass the algorithm list to the verifier: `jwt.verify(token, secret, { algorithms:
    ['HS256'] })` (PyJWT: `jwt.decode(..., algorithms=["HS256"])`). A team that signs with another
    algorithm lists it in `api.auth.algorithms`.
    """
    path = expect["api.auth.probe_path"]
    others = [
        a for a in jwt_key_attacks.siblings(api.algorithm) if a not in expect["api.auth.algorithms"]
    ]
    if not others:
        pytest.skip(
            f"does not apply: the platform's {api.algorithm} key signs no other algorithm that "
            "api.auth.algorithms leaves out"
        )
    answers = {
        alg: refused(api, path, jwt_attacks.other_algorithm(api, alg)).status_code for alg in others
    }
    accepted = {alg: status for alg, status in answers.items() if status != 401}
    assert not accepted, (
        f"GET {api.url(path)} accepted tokens signed with the platform's"
        f" {'key' if api.key_pair else 'secret'} under"
        f" {', '.join(f'{alg} ({status})' for alg, status in accepted.items())}, expected 401 where"
        f" {', '.join(expect['api.auth.algorithms'])} is pinned: pass {{ algorithms:"
        f" {list(expect['api.auth.algorithms'])} }} to jwt.verify"
    )


@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY)
def check_odd_claims_never_crash(api, expect):
    """Validly signed tokens whose claims have the wrong type (`exp` a string, `sub` an object, a
    number or null) get a 401 or a 200, never a 5xx.

    `jwt.verify` refuses some of them (jsonwebtoken: a non-numeric `exp`) and hands others to the
    application as they are (a `sub` that is not a string): code that then uses `sub` as a string
    crashes. One token per case of `nbaverify.probes.jwt_attacks.ODD_CLAIMS`, signed with the
    profile's secret, sent to `api.auth.probe_path`.

    When it fails: Read the crash in the API log (`kubectl logs -f deployment/api`) for the cases
    the message names, and check the claims' types after `jwt.verify` before using them (`typeof
    decoded.sub === 'string'`), answering 401 otherwise.
    """
    path = expect["api.auth.probe_path"]
    answers = {
        case: refused(api, path, jwt_attacks.odd_claims(api, case)).status_code
        for case in jwt_attacks.ODD_CLAIMS
    }
    crashed = {case: status for case, status in answers.items() if status >= 500}
    assert not crashed, (
        f"validly signed tokens with claims of the wrong type crashed GET {api.url(path)}:"
        f" {', '.join(f'{case} ({status})' for case, status in crashed.items())}; expected 401 or"
        " 200, never a 5xx: check the claims' types after jwt.verify"
    )


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY)
def check_valid_token_accepted(api, expect):
    """A valid token signed as the platform signs, with the profile's secret or private key, gets a
    200.

    HS256 with the secret `api.jwt_secret_env` names, or the algorithm `api.auth.algorithms` names
    first with the private key of `api.jwt_private_key_env`.

    The token has subject `nbaverify`, expires in 300 s, and carries the expectations' `iss` and
    `aud` where they are set; it is sent to `api.auth.probe_path`. Another status suggests the
    profile's key is not the platform's (`JWT_SECRET`, or the private half of the public key it
    verifies with).

    When it fails: Compare the secret in the profile's `api.jwt_secret_env` with the platform's
    `JWT_SECRET` (the Secret the api Deployment reads; they drift after a rotation) and the
    `api.auth.issuer`/`audience` expectations. A 5xx is in `kubectl logs -f deployment/api`. Until
    it passes the other token checks prove little.
    """
    path = expect["api.auth.probe_path"]
    reply = api.get(path, token=api.token())
    assert reply.status_code == 200, (
        f"a valid {api.algorithm} token minted from"
        f" {'api.jwt_private_key_env' if api.key_pair else 'api.jwt_secret_env'} got"
        f" {reply.status_code} on GET {api.url(path)}, expected 200: "
        + (
            "is the profile's private key the half of the platform's public key?"
            if api.key_pair
            else "is the profile's secret the platform's JWT_SECRET?"
        )
    )


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY)
def check_auth_enforced(api, endpoint):
    """Every data endpoint of `expectations.api.auth.protected` refuses a request without a token
    with a 401.

    One case per endpoint; by default `/api/players?limit=1`, `/api/players/1`,
    `/api/players/1/stats?season=2024`, `/api/projections/1` and `/api/games/1/stats`. Another
    answer means that endpoint is not behind the JWT middleware.

    When it fails: Confirm with `curl -i URL` without a token, then find the route in the API and
    put it behind the JWT middleware (registered before the data routes). A data endpoint open to
    anyone goes to the security team too.
    """
    reply = api.get(endpoint)
    assert reply.status_code == 401, (
        f"GET {api.url(endpoint)} without a token returned {reply.status_code}, expected 401: "
        "this endpoint is not behind the JWT middleware"
    )


# how a router may match a path that a prefix test in front of it does not (each keeps the query)
PATH_VARIANTS = {
    "upper case": lambda path: "/API/" + path[len("/api/") :],
    "trailing slash": lambda path: path + "/",
    "doubled slash": lambda path: "/api//" + path[len("/api/") :],
    "encoded slash": lambda path: "/api%2F" + path[len("/api/") :],
    "path parameter": lambda path: path + ";nbaverify=1",
}


@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY)
def check_path_variants_need_auth(api, expect, evidence):
    """No spelling of the data endpoint's path gets data without a token: upper case, a trailing or
    doubled slash, an encoded slash, a path parameter.

    Each variant of `api.auth.probe_path` (`/API/players`, `/api/players/`, `/api//players`,
    `/api%2Fplayers`, `/api/players;nbaverify=1`, the query kept) is sent without a token. A router
    that folds case or slashes may serve what an auth middleware applied by a path prefix let
    through: a 2xx fails. A 401, a 404, a 400 or a redirect pass; each answer, and whether it
    carried the limiter's `RateLimit-Remaining`, goes into the evidence.

    When it fails: Apply the JWT middleware to what the router matched (`router.use(requireJwt)` on
    the API router, or `app.use` before every route) instead of testing the path's prefix, or make
    the router as strict as the test (Koa router: `sensitive: true, strict: true`); confirm with
    `curl -i` on the variant named.
    """
    target = expect["api.auth.probe_path"]
    path, _, query = target.partition("?")
    if not path.startswith("/api/"):
        pytest.skip(f"not configured: api.auth.probe_path {target} is not under /api/")
    served = []
    for name, spell in PATH_VARIANTS.items():
        variant = spell(path) + (f"?{query}" if query else "")
        reply = api.get(variant)
        evidence[name] = {
            "path": variant,
            "status": reply.status_code,
            "ratelimit_remaining": reply.headers.get("ratelimit-remaining"),
        }
        if 200 <= reply.status_code < 300:
            served.append(f"{variant} ({name}) answered {reply.status_code}")
    assert not served, (
        f"without a token, {'; '.join(served)}: data served to a spelling of {path}; apply the JWT "
        "middleware to what the router matched, not to a path prefix"
    )


@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY)
def check_fuzzed_authorization_refused(api, expect):
    """Arbitrary `Authorization` values never get a 2xx or a 5xx, nor a stack trace in the body.

    Hypothesis generates `api.auth.fuzz_examples` (5) values, printable ASCII up to 300 characters,
    bare or after `Bearer `, sent to `api.auth.probe_path`. Each must get a 4xx whose body shows no
    internals (the words traceback, stack, exception, or ` at `). The examples are derandomized and
    never shrunk: each is a request against the suite's request budget.

    When it fails: Resend the `Authorization` value the message quotes (`curl -i -H 'Authorization:
    ...' URL`) and read the API log (`kubectl logs -f deployment/api`): the middleware must catch
    every `jwt.verify` error and answer 401. A 2xx is a forged token accepted: tell the security
    team.
    """
    # here, not at the top: a gate run never pays for importing Hypothesis
    from hypothesis import given
    from hypothesis import strategies as st

    path = expect["api.auth.probe_path"]
    seen = []

    @fuzz.within_budget(expect["api.auth.fuzz_examples"])
    @given(
        st.one_of(
            st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=300),
            st.builds(
                lambda t: f"Bearer {t}",
                st.text(
                    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E),
                    min_size=1,
                    max_size=300,
                ),
            ),
        )
    )
    def probe(value):
        reply = refused(api, path, value)
        seen.append(reply.status_code)
        assert 400 <= reply.status_code < 500 and no_leak(reply), (
            f"Authorization {value[:40]!r} got {reply.status_code} on GET {api.url(path)}"
            + ("" if no_leak(reply) else " with a stack trace in the body")
            + "; expected a 4xx without internals"
        )

    probe()
