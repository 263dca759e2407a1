"""API faults: switched in the running reference API through control.json (no restart), except
the certificate, which the API reads at start."""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
from collections.abc import Callable

from nbaverify import shipped
from nbaverify.errors import SandboxError
from nbaverify.probes import releases
from nbaverify.probes.http import HELMET_FINDINGS
from nbaverify.sandbox import control, tls
from nbaverify.sandbox.apis import OUTDATED_RUNTIME, node_binary
from nbaverify.sandbox.faults.model import Fault, Reach, Step, steps
from nbaverify.sandbox.secrets import new_private_pem

HEALTH = "checks/test_health.py"
JWT = "checks/test_jwt.py"
JWT_KEYS = "checks/test_jwt_keys.py"
RATE = "checks/test_rate_limit.py"
HEADERS = "checks/test_headers_tls.py"
METHODS = "checks/test_http_methods.py"
PUBLIC = "checks/test_public_surface.py"
INPUT = "checks/test_api_input.py"
WEAK_SECRET = "secret"  # the first entry of every JWT cracking word list
SHORT_SECRET = "q7Rv2XmP9sLw"  # random, in no list: only its 12 bytes give it away


def _api_setting(key: str, value: Callable[[], str]) -> Step:
    """A fault step that sets one of the API's settings (api_flags.json): another JWT secret,
    `jwt_secret` (the profile's variable follows it) or `platform_jwt_secret` (the platform's
    alone), another private key `jwt_private_key` (the profile's follows), the Python API's
    `tls_ciphers`, or the sandbox users' `users_only_route`.
    """

    def step(sb: Reach) -> None:
        current = control.read(sb.layout.control_file)
        control.write(sb.layout.control_file, current.faults, current.allowlist, {key: value()})

    return step


def _vulnerable_lockfile(sb: Reach) -> None:
    """The deployed build's lockfile pins jsonwebtoken 8.5.1 and the jws it brings (a rollback to an
    old build)."""
    path = sb.layout.api_lockfile
    lock = json.loads(path.read_text())
    for name, version in (("jsonwebtoken", "8.5.1"), ("jws", "3.2.2")):
        entry = lock["packages"][f"node_modules/{name}"]
        entry.update(
            version=version, resolved=f"https://registry.npmjs.org/{name}/-/{name}-{version}.tgz"
        )
        entry.pop("integrity", None)
    path.write_text(json.dumps(lock, indent=2) + "\n")


def _certificate(
    days: int,
    stranger: bool = False,
    rsa: bool = False,
    weak_key: bool = False,
    leaf_only: bool = False,
    sha1: bool = False,
) -> Step:
    def step(sb: Reach) -> None:
        tls.ensure_certificates(
            sb.layout,
            valid_days=days,
            force=True,
            stranger=stranger,
            rsa=rsa,
            weak_key=weak_key,
            leaf_only=leaf_only,
            sha1=sha1,
        )
        # the sandbox's own client refuses these
        sb.restart_api(wait_healthy=not (stranger or leaf_only or weak_key or sha1))

    return step


def _restart_api(sb: Reach) -> None:
    sb.restart_api()


def _restart_without_faults(sb: Reach) -> None:
    """Undo a fault the API reads at start: off in control.json, then a restart."""
    control.write(sb.layout.control_file, set(), settings={})
    sb.restart_api()


def _outdated_runtime(sb: Reach) -> None:
    """The Node API redeployed on the machine's own node, which must be past its end of life for the
    fault to be one."""
    version = subprocess.run(
        [node_binary(), "--version"], capture_output=True, text=True, timeout=10
    ).stdout.strip()
    cycle = releases.load(shipped.RELEASES).cycle_of("nodejs", version)
    if cycle is None or not cycle.ended(dt.datetime.now(dt.UTC).date()):
        raise SandboxError(
            f"fault runtime_outdated runs the API on the machine's node, {version}, which is not"
            " past its end of life: there is no outdated runtime here to make it with"
        )
    (sb.layout.run_dir / OUTDATED_RUNTIME).write_text(version + "\n")
    sb.restart_api()


def _supported_runtime(sb: Reach) -> None:
    # the heal restarts the API on its pinned runtime
    (sb.layout.run_dir / OUTDATED_RUNTIME).unlink(missing_ok=True)


PATCHES = "checks/test_patch_currency.py"
PERF = "checks/test_api_performance.py"
METRICS = "checks/test_metrics_exposure.py"
WS = "checks/test_websocket.py"


# -- load-test faults: proven by `nbaverify load` (tests/sandbox/test_load.py), not by the checks
LOAD = "nbaverify load --profile smoke"


FAULTS: tuple[Fault, ...] = (
    Fault(
        name="no_response_time_header",
        area="api",
        breaks="responses lose the X-Response-Time header the guide's timing middleware sets",
        caught_by=(
            f"{HEALTH}::check_response_time_header",
            "checks/test_api_performance.py::check_response_time_header_truthful",
        ),
        expect=r"X-Response-Time",
    ),
    Fault(
        name="jwt_no_verify",
        area="security",
        breaks="the JWT middleware decodes tokens without verifying the signature or expiry",
        caught_by=tuple(
            f"{JWT}::check_token_refused[{attack}]"
            for attack in (
                "wrong signing key",
                "signature stripped",
                "payload tampered after signing",
                "expired",
            )
        ),
        expect=r"token attack '.+' was accepted",
    ),
    Fault(
        name="jwt_alg_none",
        area="security",
        breaks="tokens whose header says alg none (any casing) are accepted unsigned",
        caught_by=tuple(
            f"{JWT}::check_token_refused[alg {alg}{dot}]"
            for alg in ("none", "None", "NONE", "nOnE")
            for dot in ("", " with trailing dot")
        ),
        expect=r"token attack 'alg \w+( with trailing dot)?' was accepted",
    ),
    Fault(
        name="jwt_ignore_nbf",
        area="security",
        breaks=(
            "the JWT middleware skips the nbf check: a token not valid for another hour works now"
        ),
        caught_by=(f"{JWT}::check_token_refused[not valid before (nbf in the future)]",),
        expect=r"token attack 'not valid before \(nbf in the future\)' was accepted",
    ),
    Fault(
        name="jwt_kid_lookup",
        area="security",
        breaks=(
            "the key is looked up by the token's kid, unchecked: a kid of ../../dev/null verifies"
            " with an empty key, a kid with a UNION picks the key"
        ),
        caught_by=(
            f"{JWT}::check_token_refused[kid path traversal]",
            f"{JWT}::check_token_refused[kid SQL injection]",
        ),
        expect=r"token attack 'kid (path traversal|SQL injection)' was accepted",
    ),
    Fault(
        name="auth_anonymous_fallback",
        area="security",
        breaks=(
            "a request with no bearer JWT (none, a bare Bearer, Basic, garbage) is served as an"
            " anonymous reader"
        ),
        caught_by=(
            *(
                f"{JWT}::check_token_refused[{attack}]"
                for attack in ("no token", "bare Bearer", "Basic credentials", "not a JWT")
            ),
            f"{JWT}::check_auth_enforced",
        ),
        expect=(
            r"token attack '(no token|bare Bearer|Basic credentials|not a JWT)' was accepted"
            r"|without a token returned 200, expected 401"
        ),
    ),
    Fault(
        name="jwt_ignore_exp",
        area="security",
        breaks="the JWT middleware skips the exp check: expired tokens keep working",
        caught_by=(f"{JWT}::check_token_refused[expired]",),
        expect=r"token attack 'expired' was accepted",
    ),
    Fault(
        name="jwt_no_claim_checks",
        area="security",
        breaks=(
            "the JWT middleware stops checking iss and aud: tokens minted for another service work"
            " here"
        ),
        caught_by=(f"{JWT}::check_wrong_issuer_or_audience_refused",),
        expect=(
            r"a token with (iss|aud)=https://attacker\.example was accepted by GET .* \(200\);"
            r" expected 401"
        ),
    ),
    Fault(
        name="tls_legacy",
        area="security",
        breaks=(
            "the API's TLS also offers TLS 1.0 and 1.1 (a security level lowered to serve an old"
            " client)"
        ),
        caught_by=(f"{HEADERS}::check_tls_1_2_or_newer_only",),
        expect=r"https://127\.0\.0\.1:\d+ accepts TLSv1(_1)?; allow TLS 1\.2 and 1\.3 only",
        apply=_restart_api,
        revert=_restart_without_faults,
    ),
    Fault(
        name="tls_no_forward_secrecy",
        area="security",
        breaks=(
            "the API's certificate is RSA and its cipher list keeps static-RSA key exchange suites"
            " (Node's default, OpenSSL's DEFAULT): no forward secrecy for a client that picks one"
        ),
        caught_by=(f"{HEADERS}::check_weak_cipher_suites_refused[no-forward-secrecy]",),
        expect=(
            r"https://127\.0\.0\.1:\d+ agreed to (AES|CAMELLIA|ARIA)\S+ when offered only"
            r" no-forward-secrecy suites "
            r"over TLS 1\.2: a static RSA key exchange"
        ),
        # the Python API is given OpenSSL's DEFAULT list (Python's own leaves them out); Node's
        # default has them
        apply=steps(_api_setting("tls_ciphers", lambda: "DEFAULT"), _certificate(365, rsa=True)),
        revert=_certificate(365),
    ),
    Fault(
        name="tls_weak_key",
        area="security",
        breaks=(
            "the API's certificate has a 1024-bit RSA key (its TLS at OpenSSL's security level 1,"
            " so that it loads)"
        ),
        caught_by=(f"{HEADERS}::check_certificate_key_strong",),
        expect=(
            r"the certificate of https://127\.0\.0\.1:\d+ has a 1024-bit RSA key \(want 2048 or"
            r" more\)"
        ),
        apply=_certificate(365, weak_key=True),
        revert=_certificate(365),
    ),
    Fault(
        name="tls_sha1_signature",
        area="security",
        breaks=(
            "the API's certificate is signed with SHA-1 (its TLS at OpenSSL's security level 0, so"
            " that it loads): a signature whose collisions are practical, which browsers refuse"
        ),
        caught_by=(f"{HEADERS}::check_certificate_signature_strong",),
        expect=(
            r"the certificate of https://127\.0\.0\.1:\d+ for CN=localhost is signed with SHA-1"
            r" \(by .+\): "
            r"SHA-1 collisions are practical"
        ),
        apply=_certificate(365, sha1=True),
        revert=_certificate(365),
    ),
    Fault(
        name="tls_chain_incomplete",
        area="security",
        breaks=(
            "the API sends its certificate without the intermediate that issued it (a renewal that"
            " wrote the leaf alone): clients that trust only the root cannot verify it"
        ),
        caught_by=(f"{HEADERS}::check_certificate_chain_complete",),
        expect=(
            r"https://127\.0\.0\.1:\d+ sends 1 certificate\(s\), the last issued by .+: the chain"
            r" does not reach "
            r"the roots in api\.ca_file .*unable to get local issuer certificate"
        ),
        apply=_certificate(365, leaf_only=True),
        revert=_certificate(365),
    ),
    Fault(
        name="internals_public",
        area="security",
        requires="nginx",
        breaks=(
            "the public ingress routes every path to the API: /metrics and /health/detailed answer"
            " anyone"
        ),
        caught_by=(
            f"{PUBLIC}::check_internals_not_public[/metrics]",
            f"{PUBLIC}::check_internals_not_public[/health/detailed]",
        ),
        expect=(
            r"GET https://127\.0\.0\.1:\d+/(metrics|health/detailed) answered 200 on the public"
            r" address"
        ),
        apply=lambda sb: sb.restart_ingress(expose_internals=True),
        revert=lambda sb: sb.restart_ingress(),
    ),
    Fault(
        name="cleartext_port",
        area="security",
        breaks=(
            "the API host's plain-HTTP port serves the API itself instead of redirecting to HTTPS"
            " (a listener left from before TLS)"
        ),
        caught_by=(f"{HEADERS}::check_cleartext_redirects_to_https",),
        expect=(
            r"GET http://127\.0\.0\.1:\d+/health answered 200 over plain HTTP: the API answers"
            r" unencrypted"
        ),
    ),
    Fault(
        name="tls_null_cipher",
        area="security",
        breaks=(
            "the API's TLS also agrees to NULL suites (no encryption), a debugging setting left on"
        ),
        caught_by=(f"{HEADERS}::check_weak_cipher_suites_refused[null]",),
        expect=(
            r"https://127\.0\.0\.1:\d+ agreed to \S*NULL\S* when offered only null suites over TLS"
            r" 1\.2: no "
            r"encryption at all"
        ),
        apply=_restart_api,
        revert=_restart_without_faults,
    ),
    Fault(
        name="tls_no_1_3",
        area="security",
        breaks="the API's TLS is configured down to TLS 1.2 at most (maxVersion 'TLSv1.2')",
        caught_by=(f"{HEADERS}::check_tls_1_3_offered",),
        expect=r"https://127\.0\.0\.1:\d+ refused a TLS 1\.3 handshake: it speaks TLS 1\.2 at most",
        apply=_restart_api,
        revert=_restart_without_faults,
    ),
    Fault(
        name="liveness_fails",
        area="api",
        breaks=(
            'GET /health answers 503 {"status": "down"}: the liveness probe fails and Kubernetes'
            " restarts the pods"
        ),
        caught_by=(f"{HEALTH}::check_health_ok",),
        expect=(
            r"GET https://127\.0\.0\.1:\d+/health returned 503, expected 200; body: '\{\"status\":"
            r" ?\"down\"\}'"
        ),
    ),
    Fault(
        name="auth_parse_crash",
        area="security",
        breaks=(
            "the JWT middleware reads a token's header by hand before verifying it: a malformed"
            " token crashes it (500)"
        ),
        caught_by=(
            f"{JWT}::check_fuzzed_authorization_refused",
            f"{JWT}::check_token_refused[three empty parts]",
        ),
        expect=(
            r"Authorization '.*' got 500 on GET https://127\.0\.0\.1:\d+/api/players\?limit=1;"
            r" expected a 4xx"
            r"|token attack 'three empty parts' crashed GET \S+ with 500"
        ),
    ),
    Fault(
        name="runtime_outdated",
        area="security",
        apis=("node",),
        breaks=(
            "the Node API is redeployed on the machine's own node (20, past its end of life)"
            " instead of the pinned LTS"
        ),
        caught_by=(f"{PATCHES}::check_api_runtime_supported",),
        expect=(
            r"the API at https://127\.0\.0\.1:\d+/health/detailed runs nodejs \d+\.\d+\.\d+, whose"
            r" cycle \d+ reached "
            r"its end of life on \d{4}-\d\d-\d\d: no more security fixes"
        ),
        apply=_outdated_runtime,
        revert=_supported_runtime,
    ),
    Fault(
        name="jwt_weak_secret",
        area="security",
        breaks=(
            "the platform signs and verifies tokens with the secret 'secret' (the profile's"
            " variable carries it too)"
        ),
        caught_by=(f"{JWT}::check_no_weak_signing_secret", f"{JWT}::check_signing_secret_strong"),
        # the secret is the word 'secret': the redactor rightly hides it in every message, so the
        # regex skips it
        expect=r"well-known weak|is a well-known \S+ \(in nbaverify's list of \d+ known JWT ",
        apply=_api_setting("jwt_secret", lambda: WEAK_SECRET),
    ),
    Fault(
        name="jwt_short_secret",
        area="security",
        breaks=(
            "the platform signs and verifies tokens with a random 12-character secret that no list"
            " holds (the profile's variable carries it too)"
        ),
        caught_by=(f"{JWT}::check_signing_secret_strong",),
        expect=(
            r"signing secret in \$\S+ \(api\.jwt_secret_env\) is 12 bytes long, under the 32 bytes "
            r"\(256 bits\) an HS256 key needs \(RFC 7518 section 3\.2\); and guessable in about"
            r" 2\^40 tries"
        ),
        apply=_api_setting("jwt_secret", lambda: SHORT_SECRET),
    ),
    Fault(
        name="jwt_blank_secret",
        area="security",
        breaks=(
            "the platform's JWT_SECRET is empty and its middleware verifies with the empty key by"
            " hand: a token signed with an empty key is accepted"
        ),
        caught_by=(f"{JWT}::check_token_refused[empty signing key]",),
        expect=r"token attack 'empty signing key' was accepted",
    ),
    Fault(
        name="jwt_alg_unpinned",
        area="security",
        breaks=(
            "jwt.verify is called as the guide writes it, without algorithms: HS384 and HS512"
            " tokens are accepted"
        ),
        caught_by=(f"{JWT}::check_algorithm_pinned",),
        expect=(
            r"accepted tokens signed with the platform's secret under HS384 \(200\), HS512 \(200\),"
            r" expected 401 "
            r"where HS256 is pinned"
        ),
    ),
    # the key-pair pack: made where the platform signs with RS256 (the key-pair variant), proven on
    # both APIs
    Fault(
        name="jwt_key_confusion",
        area="security",
        variant="key-pair",
        breaks=(
            "the verifier takes the algorithm from the token and hands an HS256 token the RS256"
            " public key's PEM as its HMAC secret (jsonwebtoken 8.5.1 without algorithms,"
            " CVE-2022-23541): anyone can forge tokens"
        ),
        caught_by=(f"{JWT_KEYS}::check_key_confusion_refused",),
        expect=(
            r"accepted HS256 tokens whose HMAC key is the platform's RS256 public key \(public key"
            r" PEM: 200\), "
            r"expected 401"
        ),
    ),
    Fault(
        name="jwt_embedded_jwk",
        area="security",
        variant="key-pair",
        breaks=(
            "the verifier takes the key from the token's jwk header: a token anyone signs with a"
            " key of their own verifies"
        ),
        caught_by=(f"{JWT_KEYS}::check_embedded_jwk_refused",),
        expect=(
            r"accepted a token signed with a key the suite made, that key in its jwk header \(200,"
            r" expected 401\)"
        ),
    ),
    Fault(
        name="jwt_key_url_trusted",
        area="security",
        variant="key-pair",
        breaks=(
            "the verifier fetches the key from the URL in the token's jku (a key set) or x5u (a"
            " certificate), wherever it points: anyone's keys verify, and any token makes the API"
            " fetch any address"
        ),
        caught_by=(
            f"{JWT_KEYS}::check_key_url_header_ignored[jku]",
            f"{JWT_KEYS}::check_key_url_header_ignored[x5u]",
        ),
        expect=(
            r"accepted a token signed with a key the suite made, its (jku|x5u) naming"
            r" http://127\.0\.0\.1:\d+/"
            r"(jwks\.json|cert\.pem) \(200, expected 401; the API fetched /(jwks\.json|cert\.pem)\)"
        ),
    ),
    Fault(
        name="jwt_weak_signing_key",
        area="security",
        variant="key-pair",
        breaks=(
            "the platform signs and verifies tokens with a 1024-bit RSA key (the profile's variable"
            " carries it too)"
        ),
        caught_by=(f"{JWT_KEYS}::check_signing_key_strong",),
        expect=(
            r"signing key in \$\S+ \(api\.jwt_private_key_env\) is a 1024-bit RSA key, under the"
            r" 2048 bits RS256 "
            r"needs"
        ),
        apply=_api_setting("jwt_private_key", lambda: new_private_pem("RS256", rsa_bits=1024)),
    ),
    Fault(
        name="cors_reflect",
        area="security",
        breaks=(
            "a CORS middleware allows whatever Origin asks, with credentials: any web page may read"
            " the data"
        ),
        caught_by=(f"{HEADERS}::check_cors_not_open",),
        expect=(
            r"GET reflects the untrusted Origin https://nbaverify-untrusted\.example as allowed"
            r" with "
            r"Access-Control-Allow-Credentials: true: any web page can read it; OPTIONS"
            r" \(preflight\) reflects"
        ),
    ),
    Fault(
        name="vulnerable_dependency",
        area="security",
        breaks=(
            "the deployed build's lockfile pins jsonwebtoken 8.5.1 (CVE-2022-23539, -23540, -23541)"
            " and jws 3.2.2"
        ),
        caught_by=("checks/test_patch_currency.py::check_api_dependencies_free_of_advisories",),
        expect=(
            r"4 advisories cover the API's dependencies in \S+package-lock\.json: jws 3\.2\.2 at"
            r" node_modules/jws: "
            r"GHSA-869p-cjfg-cm3x \(CVE-2025-65945\), high, .*fixed in 3\.2\.3; jsonwebtoken"
            r" 8\.5\.1 at "
            r"node_modules/jsonwebtoken: GHSA-\S+ \(CVE-2022-235\d\d\), moderate, .*fixed in"
            r" 9\.0\.0"
        ),
        apply=_vulnerable_lockfile,
    ),
    Fault(
        name="jwt_old_secret_kept",
        area="security",
        breaks=(
            "the last rotation kept the retired JWT secret as a fallback: tokens it signs are still"
            " accepted"
        ),
        caught_by=(f"{JWT}::check_retired_secret_refused",),
        expect=(
            r"a token signed with the retired secret \(\$NBAVERIFY_SANDBOX_PREVIOUS_JWT_SECRET\)"
            r" got 200 on GET \S+, "
            r"expected 401: the rotation kept the old secret"
        ),
    ),
    Fault(
        name="jwt_old_key_kept",
        area="security",
        variant="key-pair",
        api_flags=("jwt_old_secret_kept",),
        breaks=(
            "the last rotation of the RS256 key pair kept the retired public key as a fallback:"
            " tokens its private key signs are still accepted"
        ),
        caught_by=(f"{JWT}::check_retired_secret_refused",),
        expect=(
            r"a token signed with the retired private key"
            r" \(\$NBAVERIFY_SANDBOX_PREVIOUS_JWT_PRIVATE_KEY\) got 200 on "
            r"GET \S+, expected 401: the rotation kept the old public key"
        ),
    ),
    Fault(
        name="jwt_no_max_age",
        area="security",
        breaks=(
            "jwt.verify without maxAge: a token issued any time ago is accepted while its exp is"
            " ahead"
        ),
        caught_by=(f"{JWT}::check_token_age_limited",),
        expect=(
            r"a validly signed token issued 24\.1h ago \(iat\), its exp still ahead, was accepted"
            r" by GET \S+ \(200\), "
            r"past the 24\.0h limit"
        ),
    ),
    Fault(
        name="auth_case_bypass",
        area="security",
        breaks=(
            "the data router matches /API/... as /api/... but its JWT middleware does not run for"
            " it (on Node, @koa/router's default case-insensitive routes): upper-case paths are"
            " served without a token"
        ),
        caught_by=(f"{JWT}::check_path_variants_need_auth",),
        expect=(
            r"without a token, /API/players\?limit=1 \(upper case\) answered 200: data served to a"
            r" spelling of "
            r"/api/players; apply the JWT middleware to what the router matched"
        ),
    ),
    Fault(
        name="jwt_claim_crash",
        area="security",
        breaks=(
            "the middleware lowercases the token's sub without checking its type: a sub that is not"
            " a string is a 500"
        ),
        caught_by=(f"{JWT}::check_odd_claims_never_crash",),
        expect=(
            r"validly signed tokens with claims of the wrong type crashed GET \S+: sub an object"
            r" \(500\), sub a "
            r"number \(500\), sub null \(500\); expected 401 or 200"
        ),
    ),
    Fault(
        name="auth_bypass_route",
        area="security",
        breaks="GET /api/games/{id}/stats skips the JWT middleware",
        caught_by=(f"{JWT}::check_auth_enforced[/api/games/1/stats]",),
        expect=r"/api/games/1/stats without a token returned 200",
    ),
    Fault(
        name="no_rate_limit",
        area="security",
        breaks="the rate limiter is off: no client is ever refused",
        caught_by=(f"{RATE}::check_rate_limit_enforced",),
        expect=r"no 429",
    ),
    Fault(
        name="rate_limit_no_retry_after",
        area="security",
        breaks="429 responses come without Retry-After",
        caught_by=(f"{RATE}::check_rate_limit_headers",),
        expect=r"Retry-After is None",
    ),
    Fault(
        name="trace_enabled",
        area="security",
        breaks=(
            "TRACE is answered 200 with the request echoed back (a debugging handler left on):"
            " Cross-Site Tracing"
        ),
        caught_by=(f"{METHODS}::check_trace_refused",),
        expect=(
            r"TRACE /health answered 200 echoing the request back \(Cross-Site Tracing\); TRACE"
            r" /api/players\?limit=1 "
            r"answered 200 echoing"
        ),
    ),
    Fault(
        name="health_any_method",
        area="security",
        breaks=(
            "/health is registered for every method (router.all): PUT, PATCH and DELETE are"
            " served 200"
        ),
        caught_by=(f"{METHODS}::check_unsafe_methods_refused",),
        expect=(
            r"PUT /health was served \(200\); PATCH /health was served \(200\); DELETE /health was"
            r" served \(200\)"
        ),
    ),
    Fault(
        name="rate_limit_trusts_xff",
        area="security",
        breaks=(
            "the limiter keys clients on the leftmost X-Forwarded-For, whoever wrote it: a forged"
            " address is a fresh window (Koa's app.proxy = true with nothing in front that"
            " overwrites the header)"
        ),
        caught_by=(f"{RATE}::check_rate_limit_ignores_forwarded_for",),
        expect=(
            r"with a forged X-Forwarded-For \(203\.0\.113\.\d+\) RateLimit-Remaining was 99, after"
            r" \d+ without it: "
            r"the limiter counts the forged address as a new client"
        ),
    ),
    Fault(
        name="rate_limit_after_auth",
        area="security",
        breaks=(
            "the limiter is registered after the JWT middleware: a request refused 401 is never"
            " counted"
        ),
        caught_by=(f"{RATE}::check_rate_limit_counts_refused_requests",),
        expect=(
            r"without a token was refused 401 and not counted: RateLimit-Remaining went from (\d+)"
            r" to \d+ across it"
        ),
    ),
    Fault(
        name="rate_limit_route_gap",
        area="security",
        breaks=(
            "GET /api/projections/{id} is mounted beside the limited router: the limiter never"
            " counts it"
        ),
        caught_by=(f"{RATE}::check_rate_limit_covers_every_route",),
        expect=(
            r"GET /api/projections/7 \(200\) carries no RateLimit-Remaining: the limiter does not"
            r" cover every "
            r"data route"
        ),
    ),
    Fault(
        name="rate_limit_short_window",
        area="security",
        breaks="the limiter's window is a minute, not 15: 100 requests a minute pass",
        caught_by=(f"{RATE}::check_rate_limit_window",),
        expect=(
            r"the rate-limit window lasts (59|60) s \(from this run's first request, which opened"
            r" it\), not 900 s"
        ),
    ),
    Fault(
        name="ws_query_token_only",
        area="security",
        breaks=(
            "WS /ws/live reads its token from the URL (?token=) only, never from the Authorization"
            " header: every client's token lands in access logs"
        ),
        caught_by=(f"{WS}::check_live_feed_accepts_header_token",),
        expect=(
            r"refused a valid token sent as Authorization: Bearer \((HTTP \d+|closed by the"
            r" server.*)\): it takes tokens "
            r"in the URL only"
        ),
    ),
    Fault(
        name="rate_limit_shared_bucket",
        area="security",
        breaks=(
            "the limiter counts every client under one key, as an API behind an ingress whose"
            " X-Forwarded-For it does not trust sees every user as the ingress: the sandbox's users"
            " and the suite share one window"
        ),
        caught_by=(f"{RATE}::check_rate_limit_counts_clients_apart",),
        expect=(
            r"RateLimit-Remaining went from \d+ to \d+ across one request of this client, while"
            r" other clients sent "
            r"\d+ to /api: \d+ request\(s\) this client did not send were counted in its window"
        ),
    ),
    Fault(
        name="rate_limit_per_process",
        area="security",
        breaks=(
            "two API instances serve the one address (Node's cluster, two Python processes), each"
            " counting clients in its own memory store: the limit is let through twice"
        ),
        caught_by=(f"{RATE}::check_rate_limit_one_count_per_client",),
        expect=(
            r"requests on new connections: RateLimit-Remaining did not fall \d+ times \(e\.g\. \d+"
            r" after \d+; .*"
            r"the replies carry more than one count for this client"
        ),
        apply=_restart_api,
        revert=_restart_without_faults,
    ),
    Fault(
        name="rate_limit_ws_gap",
        area="security",
        breaks=(
            "the WebSocket upgrade is handled beside the limiter (a server 'upgrade' handler, as"
            " Koa and Express leave it): a client past its limit still opens live feeds"
        ),
        caught_by=(f"{RATE}::check_rate_limit_covers_websocket",),
        expect=(
            r"with a valid token, while GET \S+ answered this client 429: accepted \(.*\), not"
            r" refused 429: the "
            r"rate limiter does not count the WebSocket upgrade"
        ),
    ),
    Fault(
        name="no_security_headers",
        area="security",
        breaks=(
            "helmet() is gone: no HSTS, nosniff, frame protection or CSP, and X-Powered-By: Express"
            " appears"
        ),
        caught_by=(
            f"{HEADERS}::check_security_header",  # every finding on every path
            f"{HEADERS}::check_security_headers_on_errors",
            f"{HEADERS}::check_no_version_leak[x-powered-by-api.health_path]",
            f"{HEADERS}::check_no_version_leak[x-powered-by-api.auth.probe_path]",
        ),
        expect=(
            r"Strict-Transport-Security is 'missing'|X-Content-Type-Options is 'missing'|no frame"
            r" protection"
            r"|Content-Security-Policy is missing|Referrer-Policy is 'missing'"
            r"|X-Powered-By leaks 'Express'; helmet\(\) removes it"
        ),
    ),
    Fault(
        name="error_headers_dropped",
        area="security",
        breaks=(
            "an error reply (401, 404, 429, 500) is rebuilt without the headers set before the"
            " error, as Koa's default error handler does: helmet's protections are gone from it"
        ),
        # a 404; the data endpoint without a token, a 401
        caught_by=(
            f"{HEADERS}::check_security_headers_on_errors",
            f"{RATE}::check_security_headers_on_429",
            *(
                f"{HEADERS}::check_security_header[{finding}-api.auth.probe_path]"
                for finding in HELMET_FINDINGS
            ),
        ),
        expect=(
            r"((answered 404|429 of \S+ came) without helmet\(\)'s protections:"
            r" )?(Strict-Transport-Security is 'missing'|"
            r"X-Content-Type-Options is 'missing'|no frame protection|Content-Security-Policy is"
            r" missing|"
            r"Referrer-Policy is 'missing')"
        ),
    ),
    Fault(
        name="hsts_short",
        area="security",
        breaks="helmet is configured with HSTS of 180 days and without includeSubDomains",
        caught_by=(
            f"{HEADERS}::check_security_header[hsts-api.health_path]",
            f"{HEADERS}::check_security_header[hsts-api.auth.probe_path]",
            f"{HEADERS}::check_security_headers_on_errors",
        ),
        expect=(
            r"Strict-Transport-Security is 'max-age=15552000' \(want helmet's default: a max-age of"
            r" a year"
        ),
    ),
    Fault(
        name="referrer_leak",
        area="security",
        breaks=(
            "helmet is configured with Referrer-Policy: unsafe-url: a page's full URL goes to every"
            " site it links to"
        ),
        caught_by=(
            f"{HEADERS}::check_security_header[referrer-policy-api.health_path]",
            f"{HEADERS}::check_security_header[referrer-policy-api.auth.probe_path]",
            f"{HEADERS}::check_security_headers_on_errors",
        ),
        expect=r"Referrer-Policy is 'unsafe-url' \(want no-referrer, helmet's default",
    ),
    Fault(
        name="server_version_leak",
        area="security",
        breaks="a proxy in front of the API adds Server: nginx/1.22.1 (server_tokens on)",
        caught_by=(
            f"{HEADERS}::check_no_version_leak[server-version-api.health_path]",
            f"{HEADERS}::check_no_version_leak[server-version-api.auth.probe_path]",
        ),
        expect=(
            r"Server header leaks a version \('nginx/1\.22\.1'\): set server_tokens off in nginx"
        ),
    ),
    Fault(
        name="jwt_exp_optional",
        area="security",
        breaks=(
            "tokens without exp are accepted, as jsonwebtoken's jwt.verify does by default: they"
            " never expire"
        ),
        caught_by=(f"{JWT}::check_token_without_exp_refused",),
        expect=r"a validly signed token without exp was accepted .*tokens without exp never expire",
    ),
    Fault(
        name="stack_trace_errors",
        area="security",
        breaks=(
            "bad input is not validated: the error handler answers 500 with the stack trace (Python"
            " or JavaScript)"
        ),
        caught_by=tuple(
            f"{INPUT}::check_bad_id_refused[{bad}]"
            for bad in ("abc", "1.5", "99999999999999999999")
        ),
        expect=(
            r"returned 500 showing internals \((a Python traceback: 'Traceback \(most recent call"
            r" last\)'"
            r"|a JavaScript stack trace: 'at [^']+:\d+:\d+')\)"
        ),
    ),
    Fault(
        name="sql_injection",
        area="security",
        breaks="GET /api/players/{id} pastes the id into its SQL",
        # every payload, the stacked DROP too: the injectable handler reads the replica, which
        # refuses any write
        caught_by=(f"{INPUT}::check_sql_injection_refused",),
        expect=r"SQL injection .*(expected a 4xx|internals|crashed with 500)",
    ),
    Fault(
        name="tls_cert_expiring",
        area="security",
        breaks="the API's certificate expires in 10 days",
        caught_by=(f"{HEADERS}::check_certificate_not_expiring",),
        expect=r"expires \d{4}-\d\d-\d\d UTC, in (9|10) day\(s\)",
        apply=_certificate(10),
        revert=_certificate(365),
    ),
    Fault(
        name="tls_cert_untrusted",
        area="security",
        breaks=(
            "the API serves a certificate from a CA the profile does not trust (a self-made one, as"
            " after a botched renewal)"
        ),
        caught_by=(f"{HEADERS}::check_certificate_valid",),
        expect=(
            r"the certificate of https://127\.0\.0\.1:\d+ is not trusted by the CA in api\.ca_file"
            r" .*: "
            r"unable to get local issuer"
        ),
        apply=_certificate(365, stranger=True),
        revert=_certificate(365),
    ),
    Fault(
        name="slow_api",
        area="api",
        breaks=(
            "every data request stalls 1.2 s before it is served: past the guide's 1000 ms slow"
            " line"
        ),
        caught_by=(f"{PERF}::check_p95_latency",),
        expect=r"p95 1\d{3}ms over \d+ requests \(limit 1000ms",
    ),
    Fault(
        name="error_burst",
        area="api",
        breaks="every data request answers 500",
        caught_by=(
            f"{PERF}::check_error_rate",
            f"{INPUT}::check_unknown_id_is_404",
            f"{INPUT}::check_oversized_input_refused",
            f"{INPUT}::check_fuzzed_query_parameters",
        ),
        expect=r"failed \(100%|returned 500|crashed with 500",
    ),
    Fault(
        name="no_metrics",
        area="api",
        breaks="GET /metrics answers 404: Prometheus scrapes nothing from the API",
        caught_by=(f"{METRICS}::check_metrics_exposed",),
        expect=r"/metrics returned 404",
    ),
    Fault(
        name="no_pool_gauges",
        area="api",
        breaks="the database pool gauges are gone from /metrics (the pool is not instrumented)",
        caught_by=(f"{METRICS}::check_pool_gauges_exposed",),
        expect=(
            r"/metrics has no database pool gauge \(looked for gauges named db_pool_\*, pg_pool_\*"
        ),
    ),
    Fault(
        name="cache_disabled",
        area="api",
        breaks="the response cache is off: every request reaches the database",
        caught_by=(f"{PERF}::check_cache_hit_ratio",),
        expect=r"cache hit ratio .* is 0%",
    ),
    Fault(
        name="cache_forbids_reuse",
        area="api",
        breaks="the stats endpoints, served from the API's cache, answer Cache-Control: no-store",
        caught_by=(f"{PERF}::check_cache_control",),
        expect=(
            r"/api/projections/7 says Cache-Control: 'no-store' \(no-store: nothing may be kept\)"
        ),
    ),
    Fault(
        name="ws_no_auth",
        area="security",
        breaks="/ws/live accepts connections without a valid token",
        caught_by=(
            f"{WS}::check_live_feed_refuses_without_valid_token[none]",
            f"{WS}::check_live_feed_refuses_without_valid_token[forged]",
        ),
        expect=r"accepted a connection with (no|a forged) token",
    ),
    Fault(
        name="jwt_secret_rotated",
        area="security",
        breaks=(
            "the platform rotated JWT_SECRET and the profile's variable still holds the old one:"
            " valid tokens get 401"
        ),
        caught_by=(f"{JWT}::check_valid_token_accepted",),
        expect=r"a valid HS256 token minted from api.jwt_secret_env got 401",
        apply=_api_setting("platform_jwt_secret", lambda: secrets.token_urlsafe(32)),
    ),
    Fault(
        name="live_feed_stalled",
        area="api",
        breaks="/ws/live accepts a valid token and then sends nothing",
        caught_by=(f"{WS}::check_live_feed_delivers",),
        expect=r"accepted the connection but sent nothing within",
    ),
    Fault(
        name="stall",
        area="load",
        breaks=(
            "the API process freezes for 1 s every 10 s (a GC pause, a blocking call): every"
            " connection waits"
        ),
        caught_by=(f"{LOAD} --model open: p99_ms<=800 [all]",),
        expect=r"threshold p99_ms<=\d+ \[all\]: p99 \d{3,}ms on all requests",
    ),
    Fault(
        name="traffic_shifted",
        area="load",
        breaks=(
            "the sandbox's users moved to one route (they read projections only): a load run"
            " planned on the old mix tests traffic nobody sends (the users read the flag, not the"
            " API)"
        ),
        caught_by=("checks/test_load_plan.py::check_load_test_resembles_production",),
        expect=(
            r"its mix \(.*\) differs from what users sent over \S+ \(projections (9\d|100)%.*\) by"
            r" \d+% of requests"
        ),
        apply=_api_setting("users_only_route", lambda: "/api/projections/{n}"),
    ),
    Fault(
        name="load_not_allowlisted",
        area="load",
        breaks=(
            "the rate limiter lost its allowlist entry for the load generator: past 100 requests it"
            " answers 429"
        ),
        caught_by=(f"{LOAD}: the run fails as rate limited, not as slow",),
        expect=r"the target rate-limited the load generator: \d+ requests answered 429",
        api_flags=("allowlist_lost",),
    ),
)
