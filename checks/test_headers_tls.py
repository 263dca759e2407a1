"""Headers and transport: helmet's security headers, no version leaks, a valid certificate, TLS >=
1.2 with strong suites and TLS 1.3 offered.

Guide: Security Best Practices / Data Protection (Encryption: https.createServer; Data
Sanitization: app.use(helmet())).
"""

import datetime as dt
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from nbaverify.clients.tls import CannotOffer
from nbaverify.probes import certificates, http

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
    """The response of one path carries one of `helmet()`'s protections: hsts, nosniff, frames, csp,
    referrer policy.

    One case per finding and path (`api.health_path` and the data endpoint `api.auth.probe_path`):
    one finding a check, so a waiver names exactly one; the data endpoint is asked without a token,
    so its case judges a 401. `hsts`: `Strict-Transport-Security` as helmet's default sets it, a
    `max-age` of a year or more with `includeSubDomains` (judged over HTTPS only); `nosniff`:
    `X-Content-Type-Options: nosniff`; `frame-protection`: `X-Frame-Options` `DENY` or `SAMEORIGIN`,
    or a CSP with `frame-ancestors`; `csp`: a `Content-Security-Policy` header; `referrer-policy`: a
    `Referrer-Policy` that never sends a page's full URL to another site (`no-referrer`, helmet's
    default, `same-origin`, `strict-origin` or `strict-origin-when-cross-origin`; of a list, the
    last). The guide sets them with `app.use(helmet())`, installed before the routes.

    When it fails: Run `curl -sI URL` on the path named and check that `app.use(helmet())` comes
    before the routes; a header the API sets but the URL lacks is stripped by a proxy or ingress in
    front. Each finding is its own case, so a waiver names exactly one
    (`check_security_header[hsts-api.health_path]`, say).
    """
    problem = http.HELMET_FINDINGS[finding](
        replies[path_key].headers, api.base_url.startswith("https://")
    )
    assert problem is None, (
        f"GET {api.url(expect[path_key])}: {problem}; is helmet() installed before the routes?"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("Security Best Practices / Data Protection / Data Sanitization")
def check_security_headers_on_errors(api, expect, evidence):
    """A 404 carries every one of `helmet()`'s protections, as every other reply does.

    One GET, with a valid token, of `api.not_found_path`, a path under the data prefix that no route
    serves; each finding of `check_security_header` is judged on its reply (that check judges a 401
    already). An error handler that rebuilds the reply drops the headers set before the error: Koa's
    default one removes them all, helmet's among them.

    When it fails: Keep `app.use(helmet())` ahead of the routes and let the error-handling
    middleware set the status and body only (`ctx.status`, `ctx.body`), never clear the headers;
    confirm with `curl -si` on the path named.
    """
    path = expect["api.not_found_path"]
    reply = api.get(path, token=api.token())
    evidence.update(status=reply.status_code, headers=dict(reply.headers))
    assert reply.status_code >= 400, (
        f"GET {api.url(path)} answered {reply.status_code}, not an error: set "
        "api.not_found_path to a path no route serves"
    )
    missing = http.missing_protections(reply.headers, api.base_url.startswith("https://"))
    assert not missing, (
        f"GET {api.url(path)} answered {reply.status_code} without helmet()'s protections: "
        f"{'; '.join(missing)}; an error reply must keep the headers set before the error"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Security Best Practices / Data Protection / Data Sanitization")
@pytest.mark.parametrize("path_key", PATHS)
@pytest.mark.parametrize("finding", list(http.LEAK_FINDINGS))
def check_no_version_leak(api, expect, replies, path_key, finding):
    """No response names the software behind it: no `X-Powered-By` header, and no `Server` header
    with a version.

    One case per finding (`x-powered-by`, `server-version`) and path (`api.health_path`,
    `api.auth.probe_path`). `helmet()` removes `X-Powered-By`. A `Server` header with a digit in it
    is a leak, and the advice names who answers: a proxy's (`Server: nginx/1.22.1`) is fixed in the
    proxy, where `helmet()` does not reach (`server_tokens off` in nginx or OpenResty, `ServerTokens
    Prod` in Apache, `server_header_transformation` in Envoy); otherwise in the component that sets
    it.

    A warning: the versions help an attacker pick an exploit.

    When it fails: Follow the message: it names who answers. A proxy's `Server` header is fixed in
    the proxy (`server_tokens off` in nginx), `X-Powered-By` by `app.use(helmet())` in the API.
    Confirm with `curl -sI URL` after the change.
    """
    problem = http.LEAK_FINDINGS[finding](replies[path_key].headers)
    assert problem is None, f"GET {api.url(expect[path_key])}: {problem}"


@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook(
    "Security Best Practices / Authentication & Authorization / API Security",
    "Maintenance Schedule / Quarterly Tasks / Security audit",
)
def check_cors_not_open(api, expect, evidence):
    """A data endpoint grants no cross-origin read to an origin the platform does not list: no
    Origin reflected, no `*`.

    Two requests to `api.auth.probe_path` carry `Origin: api.cors.probe_origin` (an origin nobody
    lists), as a browser's would: the GET itself, with a valid token, and the preflight (`OPTIONS`
    with `Access-Control-Request- Method: GET` and `Access-Control-Request-Headers: authorization`).
    `Access-Control-Allow-Origin` naming that origin back (a reflecting CORS middleware, `cors({
    origin: true })`) fails, and so does `*` unless `api.cors.allowed_origins` lists `*`; `*` with
    `Access-Control-Allow-Credentials: true` always fails. The guide's API sets no CORS headers:
    browsers then refuse every cross-origin read, which passes.

    When it fails: Give the CORS middleware the list of the platform's own origins (`cors({ origin:
    ['https://...'] })`) instead of reflecting the request's, and list them in
    `api.cors.allowed_origins`; never combine `*` with credentials. Confirm with `curl -si -H
    'Origin: https://example.org' URL | grep -i access-control`.
    """
    path, origin = expect["api.auth.probe_path"], expect["api.cors.probe_origin"]
    allowed = list(expect["api.cors.allowed_origins"])
    replies = {
        "GET": api.get(path, token=api.token(), headers={"origin": origin}),
        "OPTIONS (preflight)": api.request(
            "OPTIONS",
            path,
            headers={
                "origin": origin,
                "access-control-request-method": "GET",
                "access-control-request-headers": "authorization",
            },
        ),
    }
    evidence.update(
        {
            what: (
                {k: v for k, v in reply.headers.items() if k.startswith("access-control-")}
                | {"status": reply.status_code}
            )
            for what, reply in replies.items()
        }
    )
    problems = [
        f"{what} {problem}"
        for what, reply in replies.items()
        if (problem := http.cors_problem(reply.headers, origin, allowed))
    ]
    assert not problems, (
        f"{api.url(path)}: {'; '.join(problems)}; allow only the platform's own origins "
        "(api.cors.allowed_origins) in the CORS middleware"
    )


@pytest.fixture(scope="module")
def handshake(api, expect):
    """One TLS handshake for both certificate checks: the verified certificate, or why it is not
    trusted."""
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
    """The API's TLS certificate verifies for its host against the profile's CA (`api.ca_file`, else
    the system's CAs).

    One handshake, shared with `check_certificate_not_expiring`; the expiry date and the issuer go
    into the evidence. A certificate that does not verify is reported here, once, as what it is; the
    API's other checks then end `untrusted:
    ... could not run`. Skipped when `api.base_url` is not HTTPS.

    When it fails: Run `openssl s_client -connect HOST:443 -servername HOST -showcerts` to see the
    chain, names and dates served, and fix an expired certificate, a missing intermediate or a wrong
    name where TLS ends (server or ingress). A private CA is named in the profile's `api.ca_file`.
    """
    certificate, untrusted = handshake
    trusted = f"the CA in api.ca_file ({api.ca_file})" if api.ca_file else "the system's CAs"
    assert certificate is not None, (
        f"the certificate of {api.base_url} is not trusted by {trusted}: {untrusted}; "
        "serve a certificate that chain signs for this name, or name its CA in the profile"
    )
    evidence.update(
        not_after=http.expires_at(certificate).isoformat(),
        issuer=dict(x[0] for x in certificate.get("issuer", ())),
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Security Best Practices / Data Protection / Encryption")
def check_certificate_not_expiring(api, expect, handshake, evidence):
    """The API's certificate has at least `api.tls.min_days_left` (30) days left before it expires.

    A warning with the date: weeks before expiry a renewal is a task, not an outage. The expiry and
    the days left go into the evidence. Skipped when `api.base_url` is not HTTPS, or when the
    certificate is not trusted (`check_certificate_valid` reports that).

    When it fails: Renew the certificate before the date in the message: check why its automation
    has not (where cert-manager issues it, `kubectl describe certificate -n NAMESPACE`), or order
    one. Confirm with `openssl s_client -connect HOST:443 | openssl x509 -noout -enddate`.
    """
    certificate, untrusted = handshake
    if certificate is None:
        pytest.skip(f"the certificate is not trusted ({untrusted}): see check_certificate_valid")
    expires = http.expires_at(certificate)
    days = (expires - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    evidence.update(not_after=expires.isoformat(), days_left=round(days, 1))
    window = expect["api.tls.min_days_left"]
    assert days >= window, (
        f"the certificate of {api.base_url} expires {expires:%Y-%m-%d} UTC, in {days:.0f} day(s) "
        f"(want {window} or more); renew it before clients start refusing the API"
    )


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook("Security Best Practices / Data Protection / Encryption")
def check_certificate_key_strong(api, expect, evidence):
    """The API's certificate key is strong enough: RSA of at least `api.tls.min_rsa_bits` (2048), EC
    of at least `api.tls.min_ec_bits` (256), never DSA.

    The certificate is read as the server sends it, whatever its key (the handshake verifies
    nothing, so a weak key is judged rather than refused); its key kind, size and issuer go into the
    evidence. A warning, beyond the guide: NIST SP 800-57 and the CA/Browser Forum set these
    minimums; a 1024-bit RSA key can be factored by a well-funded attacker. Skipped when
    `api.base_url` is not HTTPS.

    When it fails: Issue a new certificate with a 2048-bit (or larger) RSA key or an EC P-256 key
    (cert-manager: `privateKey: {algorithm: ECDSA, size: 256}`; `openssl req -newkey ec -pkeyopt
    ec_paramgen_curve:P-256`), and confirm with `openssl s_client -connect HOST:443 | openssl x509
    -noout -text | grep 'Public-Key'`.
    """
    https_only(api)
    facts = certificates.key_facts(api.served_chain(expect["api.timeout_s"])[0])
    evidence.update(key=facts.kind, bits=facts.bits, issuer=facts.issuer)
    weak = certificates.weakness(
        facts, expect["api.tls.min_rsa_bits"], expect["api.tls.min_ec_bits"]
    )
    assert weak is None, (
        f"the certificate of {api.base_url} has {weak}; issue one with an RSA 2048 or EC P-256 key"
    )


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook("Security Best Practices / Data Protection / Encryption")
def check_certificate_signature_strong(api, expect, evidence):
    """Every certificate the API sends is signed with SHA-256 or stronger, never SHA-1 or MD5.

    The chain is read as the server sends it (the leaf and each intermediate; the handshake verifies
    nothing, so a weak signature is judged rather than refused), and each certificate's signature
    algorithm goes into the evidence. A warning, beyond the guide: SHA-1 collisions are practical
    (SHAttered, 2017), the CA/Browser Forum stopped SHA-1 issuance in 2016 and browsers refuse such
    certificates. Skipped when `api.base_url` is not HTTPS.

    When it fails: Reissue the certificate named with a SHA-256 signature (cert-manager and Let's
    Encrypt do by default; `openssl x509 -req ... -sha256`) and deploy it with its chain; confirm
    with `openssl s_client -connect HOST:443 -showcerts | openssl x509 -noout -text | grep
    'Signature Algorithm'`.
    """
    https_only(api)
    chain = api.served_chain(expect["api.timeout_s"])
    weak = [found for der in chain if (found := certificates.signature_weakness(der))]
    evidence.update(
        certificates=len(chain), weak=[{"subject": s, "hash": h, "issuer": i} for s, h, i in weak]
    )
    assert not weak, "; ".join(
        f"the certificate of {api.base_url} for {subject} is signed with {digest} (by {issuer}):"
        f" {digest} collisions are practical and browsers refuse it; reissue it signed with SHA-256"
        for subject, digest, issuer in weak
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("warning")
@pytest.mark.runbook("Security Best Practices / Data Protection / Encryption")
def check_certificate_chain_complete(api, expect, evidence):
    """The API sends its certificate with the chain up to a root: a client that trusts only the root
    verifies it.

    One handshake trusting only the roots (self-signed certificates) of the profile's `api.ca_file`,
    else the system's roots: a browser that fetched or cached the intermediate hides a missing one,
    Python, Go, curl and Java clients do not. The host name is not checked here
    (`check_certificate_valid` does). A warning: where the profile's CA file holds the intermediate,
    `check_certificate_valid` passes while other clients fail. Skipped when `api.base_url` is not
    HTTPS.

    When it fails: Serve the full chain where TLS ends: the leaf first, then each intermediate
    (nginx `ssl_certificate` the `fullchain.pem`, Node `cert` the concatenated PEM, a Kubernetes TLS
    Secret's `tls.crt` the chain); confirm with `openssl s_client -connect HOST:443 -showcerts`
    (more than one certificate).
    """
    https_only(api)
    timeout = expect["api.timeout_s"]
    bundle = Path(api.ca_file).read_text() if api.ca_file else None
    trusted = certificates.roots(bundle) if bundle else None
    if bundle is not None and not trusted:
        pytest.skip(
            f"api.ca_file ({api.ca_file}) holds no root (self-signed) certificate to verify the"
            " chain against"
        )
    problem = api.chain_problem(timeout, trusted)
    chain = [certificates.key_facts(der) for der in api.served_chain(timeout)]
    evidence.update(served=[facts.issuer for facts in chain], verified=problem is None)
    roots_of = f"the roots in api.ca_file ({api.ca_file})" if api.ca_file else "the system's roots"
    assert problem is None, (
        f"{api.base_url} sends {len(chain)} certificate(s), the last issued by"
        f" {chain[-1].issuer if chain else '?'}: the chain does not reach {roots_of} ({problem});"
        " serve the full chain: the leaf, then each intermediate"
    )


@pytest.mark.gate
@pytest.mark.daily
@pytest.mark.severity("critical")
@pytest.mark.runbook("Security Best Practices / Data Protection / Encryption")
def check_cleartext_redirects_to_https(api, target, expect, evidence):
    """The API host's plain HTTP redirects to HTTPS (or nothing listens there); it never serves the
    API unencrypted.

    One GET of `api.health_path` at the profile's `api.cleartext_url`, else port 80 of an `https`
    base URL on 443, redirects not followed. A redirect to an `https://` address passes, as does no
    connection (refused, or none within 2 s: a firewall that drops the port); an answer from
    the API itself (2xx, or a 401/403 it refused) fails: clients that type `http://` send their
    tokens and get data in cleartext. Other answers (a 404 from a default server) pass and go into
    the evidence. Skipped when the base URL is plain HTTP, or HTTPS on another port and the profile
    names no `api.cleartext_url`.

    Critical: the guide serves the API over TLS (`https.createServer`); a listener beside it that
    serves the same API unencrypted undoes that.

    When it fails: Answer plain HTTP with a redirect where TLS ends (nginx: `return 308
    https://$host$request_uri;` in the port-80 server; an ingress: `ssl-redirect`), or close the
    port; never route it to the API.
    """
    https_only(api)
    parts = urlsplit(api.base_url)
    address = target.profile.api.cleartext_url or (
        f"http://{parts.hostname}" if parts.port in (None, 443) else None
    )
    if address is None:
        pytest.skip(
            f"not configured: api.cleartext_url (the base URL {api.base_url} is not on port 443)"
        )
    url = f"{address.rstrip('/')}{expect['api.health_path']}"
    reply = api.cleartext(url)
    if reply is None:
        evidence.update(
            url=url, answer="no connection (refused, or none within 2 s): nothing answers"
        )
        return
    location = reply.headers.get("location", "")
    evidence.update(url=url, status=reply.status_code, location=location)
    if 300 <= reply.status_code < 400:
        assert location.startswith("https://"), (
            f"GET {url} redirects ({reply.status_code}) to {location or 'nowhere'}, not to"
            " https://: plain HTTP must send clients to TLS"
        )
        return
    assert not (200 <= reply.status_code < 300 or reply.status_code in (401, 403)), (
        f"GET {url} answered {reply.status_code} over plain HTTP: the API answers unencrypted"
        f" beside {api.base_url}, so a client that uses http:// sends its token in cleartext;"
        " redirect plain HTTP to https (308) or close the port"
    )


@pytest.mark.daily
@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook(
    "Security Best Practices / Data Protection / Encryption",
    "Maintenance Schedule / Quarterly Tasks / Security audit",
)
def check_tls_1_2_or_newer_only(api, expect):
    """The API refuses TLS 1.0 and TLS 1.1 handshakes: it speaks TLS 1.2 or newer only.

    Each old version is offered alone (the certificate not verified, OpenSSL's security level
    lowered for the probe); one that completes a handshake is the finding. Skipped when
    `api.base_url` is not HTTPS.

    A warning, beyond the guide (its `https.createServer` keeps the defaults): TLS 1.0 and 1.1 are
    deprecated (RFC 8996), and their weaknesses let a network attacker read or alter traffic.

    When it fails: Confirm with `openssl s_client -connect HOST:443 -tls1_1 -cipher
    DEFAULT@SECLEVEL=0` and set the minimum protocol to TLS 1.2 where TLS ends (`minVersion:
    'TLSv1.2'` in `https.createServer`, `ssl_protocols` in nginx). A team with clients that cannot
    upgrade yet waives it with an owner and an expiry.
    """
    https_only(api)
    old = api.accepts_tls_below_1_2(expect["api.timeout_s"])
    assert old is None, (
        f"{api.base_url} accepts {old}; allow TLS 1.2 and 1.3 only (1.0 and 1.1 are deprecated, "
        "RFC 8996: their weaknesses let a network attacker read or alter traffic)"
    )


# each class of weak suite by OpenSSL's name for it, offered alone over TLS 1.2 (TLS 1.3 has none of
# them)
WEAK_SUITES = {
    "null": ("eNULL", "no encryption at all"),
    "export": ("EXP", "export-grade keys a laptop breaks"),
    "rc4": ("RC4", "RC4, which RFC 7465 forbids"),
    "3des": ("3DES", "64-bit blocks (Sweet32)"),
    "no-forward-secrecy": (
        "kRSA",
        "a static RSA key exchange: whoever gets the key later decrypts recorded traffic",
    ),
}
# what to configure instead: Mozilla's intermediate list (ECDHE, AES-GCM or ChaCha20)
STRONG = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:..."
)


@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook("Security Best Practices / Data Protection / Encryption")
@pytest.mark.parametrize("suite", list(WEAK_SUITES))
def check_weak_cipher_suites_refused(api, expect, suite, evidence):
    """The API's TLS agrees to no suite of one weak class: NULL, EXPORT, RC4, 3DES, or no forward
    secrecy.

    One case per class: a TLS 1.2 handshake offering only that class's suites (OpenSSL's `eNULL`,
    `EXP`, `RC4`, `3DES`, `kRSA`; the security level lowered for the probe, the certificate not
    verified) must fail. Where this machine's OpenSSL cannot offer a class at all, its case skips
    and says so: it is not a pass. A static RSA key exchange needs an RSA certificate, so a server
    with an ECDSA one refuses it whatever its list says. Skipped when `api.base_url` is not HTTPS.

    A warning, beyond the guide (its `https.createServer` keeps Node's default list, which has
    static-RSA suites).

    When it fails: Confirm with `openssl s_client -connect HOST:443 -tls1_2 -cipher
    'CLASS:@SECLEVEL=0'` and configure the ciphers where TLS ends to ECDHE with AES-GCM or ChaCha20
    (Mozilla's intermediate list: `ciphers` in `https.createServer`, `ssl_ciphers` in nginx).
    """
    https_only(api)
    names, why = WEAK_SUITES[suite]
    try:
        agreed = api.negotiated_suite(
            expect["api.timeout_s"], ciphers=names, maximum=ssl.TLSVersion.TLSv1_2
        )
    except CannotOffer:
        pytest.skip(
            f"cannot test here: this machine's {ssl.OPENSSL_VERSION} has no {suite} suite ({names})"
            f" to offer, so whether {api.base_url} accepts one is unknown"
        )
    evidence.update(offered=names, agreed=agreed)
    assert agreed is None, (
        f"{api.base_url} agreed to {agreed} when offered only {suite} suites over TLS 1.2: {why}; "
        f"allow ECDHE with AES-GCM or ChaCha20 only ({STRONG})"
    )


@pytest.mark.quarterly
@pytest.mark.severity("warning")
@pytest.mark.runbook("Security Best Practices / Data Protection / Encryption")
def check_tls_1_3_offered(api, expect, evidence):
    """The API completes a TLS 1.3 handshake.

    A handshake offering TLS 1.3 alone (the certificate not verified: the certificate checks do
    that). A warning, beyond the guide: TLS 1.3 has only forward-secret AEAD suites and a shorter
    handshake; Node and nginx offer it by default, so a server without it was configured down
    (`maxVersion: 'TLSv1.2'`, `ssl_protocols TLSv1.2`). Skipped when `api.base_url` is not HTTPS.

    When it fails: Confirm with `openssl s_client -connect HOST:443 -tls1_3` and allow TLS 1.3 where
    TLS ends (remove `maxVersion` in `https.createServer`; `ssl_protocols TLSv1.2 TLSv1.3` in
    nginx).
    """
    https_only(api)
    try:
        agreed = api.negotiated_suite(expect["api.timeout_s"], minimum=ssl.TLSVersion.TLSv1_3)
    except CannotOffer:
        pytest.skip(f"cannot test here: this machine's {ssl.OPENSSL_VERSION} cannot offer TLS 1.3")
    evidence.update(agreed=agreed)
    assert agreed is not None, (
        f"{api.base_url} refused a TLS 1.3 handshake: it speaks TLS 1.2 at most; allow TLS 1.3 "
        "where TLS ends (no maxVersion 'TLSv1.2')"
    )
