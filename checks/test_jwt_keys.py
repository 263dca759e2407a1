"""JWT with a key pair: a platform that signs with RS256, PS256 or ES256 refuses the attacks its
verifier invites.

Guide: Security Best Practices / Authentication & Authorization (jwt.verify). The guide signs with a
shared secret (HS256); these checks run only for a profile whose `expectations.api.auth.algorithms`
names a key-pair algorithm first, the day a team moves to one (RFC 8725 sections 2.1, 3.1;
jsonwebtoken CVE-2022-23541).
"""

import ipaddress
from urllib.parse import urlsplit

import pytest

from nbaverify.probes import jwt_key_attacks

pytestmark = [pytest.mark.area("security")]

API_SECURITY = "Security Best Practices / Authentication & Authorization / API Security"


def key_pair_only(api) -> None:
    if not api.key_pair:
        pytest.skip(
            f"not configured: expectations.api.auth.algorithms signs with {api.algorithm}, a shared"
            " secret (this pack is for a platform that signs with a key pair: RS256, PS256, ES256)"
        )


def answer(api, path, authorization):
    return api.get(path, headers={"authorization": authorization})


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY)
def check_key_confusion_refused(api, expect, evidence):
    """An HS256 token whose HMAC key is the platform's public key is refused with a 401 (key
    confusion).

    The public key is public: a verifier that takes the algorithm from the token and hands it the
    key it holds verifies an HMAC made with that key's PEM, as jsonwebtoken 8.5.1 did
    (CVE-2022-23541). The key is derived from the private key the profile's
    `api.jwt_private_key_env` names, in each form a server may hold it (the PEM with and without its
    final newline; for RSA the PKCS#1 PEM too), a token each, sent to `api.auth.probe_path`.

    When it fails: Pin the algorithm to the key's own (`jwt.verify(token, publicKey, { algorithms:
    ['RS256'] })`; PyJWT: `algorithms=["RS256"]`), and upgrade jsonwebtoken to 9 or later, which
    refuses a public key for HS256. Treat every token as forgeable until the fix is deployed: tell
    the security team.
    """
    key_pair_only(api)
    path = expect["api.auth.probe_path"]
    answers = {
        form: answer(api, path, jwt_key_attacks.confused(api, pem)).status_code
        for form, pem in jwt_key_attacks.public_pems(api).items()
    }
    evidence["answers"] = answers
    accepted = {form: status for form, status in answers.items() if status != 401}
    assert not accepted, (
        f"GET {api.url(path)} accepted HS256 tokens whose HMAC key is the platform's"
        f" {api.algorithm} public key"
        f" ({', '.join(f'{form}: {status}' for form, status in accepted.items())}), expected 401:"
        f" anyone with the public key forges tokens; pin {{ algorithms: ['{api.algorithm}'] }} in"
        " jwt.verify"
    )


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY)
def check_embedded_jwk_refused(api, expect):
    """A token signed with a key of the attacker's own, that key's public half in its `jwk` header,
    is refused with a 401.

    A verifier that takes the key from the token (RFC 7515's `jwk` header) verifies whatever anyone
    signs. The key is made fresh for the run, of the family the platform uses (RSA for RS/PS, the
    same curve for ES), and the token is otherwise valid (issuer, audience, `exp` five minutes
    ahead); sent to `api.auth.probe_path`.

    When it fails: Verify with the platform's own public key or key set only, never a key the token
    carries; if a key set is fetched, choose the key by `kid` from that set alone. Treat every token
    as forgeable until it is deployed.
    """
    key_pair_only(api)
    path = expect["api.auth.probe_path"]
    reply = answer(api, path, jwt_key_attacks.embedded_jwk(api))
    assert reply.status_code == 401, (
        f"GET {api.url(path)} accepted a token signed with a key the suite made, that key in its"
        f" jwk header ({reply.status_code}, expected 401): the verifier trusts the key the token"
        " brings, so anyone forges tokens; verify with the platform's own keys only"
    )


def _reachable(api, bind: str) -> str | None:
    """Why an API elsewhere cannot reach a key server bound to this machine's loopback, else
    None."""
    host = urlsplit(api.base_url).hostname or ""
    try:
        api_local = host == "localhost" or ipaddress.ip_address(host).is_loopback
        bind_local = ipaddress.ip_address(bind).is_loopback
    except ValueError:
        return None  # a name: the team chose an address the API reaches
    if bind_local and not api_local:
        return (
            f"cannot test here: the API at {host} cannot reach a key set served on this machine's"
            f" loopback ({bind}, expectations.api.auth.key_url_bind): set an address of this"
            " machine the API can reach"
        )
    return None


@pytest.mark.quarterly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY)
@pytest.mark.parametrize("header", ["jku", "x5u"])
def check_key_url_header_ignored(api, expect, evidence, header):
    """A token whose `jku` (a key set URL) or `x5u` (a certificate URL) names keys the suite serves
    is refused with a 401, and the API never fetches that URL.

    The suite makes a key of its own, serves its JWK Set (`/jwks.json`) and a self-signed
    certificate (`/cert.pem`) over HTTP on `api.auth.key_url_bind` for the length of the check, and
    sends a token it signed, the header naming that URL, to `api.auth.probe_path`. A verifier that
    fetches keys from where the token says accepts it; one that fetches and then refuses still lets
    any token make the API request any address (a server-side request forgery). One case per header.
    On loopback it runs only against an API on this machine; elsewhere it skips, saying so.

    When it fails: Fetch keys only from the platform's own key set URL, fixed in configuration
    (jwks-rsa's `jwksUri`, PyJWT's `PyJWKClient(url)`), and ignore `jku`, `x5u` and `x5c` in tokens;
    treat every token as forgeable until the fix is deployed.
    """
    key_pair_only(api)
    bind = expect["api.auth.key_url_bind"]
    if why := _reachable(api, bind):
        pytest.skip(why)
    path = expect["api.auth.probe_path"]
    with jwt_key_attacks.key_server(bind, api.algorithm, api.timeout_s) as server:
        url = server.url(header)
        reply = answer(api, path, server.token(api, header))
        fetched = list(server.fetched)
    evidence.update(url=url, status=reply.status_code, fetched=fetched)
    assert reply.status_code == 401, (
        f"GET {api.url(path)} accepted a token signed with a key the suite made, its {header}"
        f" naming {url} ({reply.status_code}, expected"
        f" 401{'; the API fetched ' + ', '.join(fetched) if fetched else ''}): the verifier takes"
        " keys from where the token says, so anyone forges tokens; use the platform's own key set"
        " only"
    )
    assert not fetched, (
        f"the API fetched {url} ({', '.join(fetched)}), the {header} of a token sent to GET"
        f" {api.url(path)}, though it refused the token: any token makes the API request any"
        " address it names; ignore jku and x5u in tokens"
    )


@pytest.mark.gate
@pytest.mark.quarterly
@pytest.mark.monthly
@pytest.mark.severity("critical")
@pytest.mark.runbook(API_SECURITY, "Maintenance Schedule / Monthly Tasks / Rotate credentials")
def check_signing_key_strong(api, target, expect, evidence):
    """The platform's private signing key is strong enough for its algorithm, judged offline.

    RSA of at least `api.auth.min_rsa_bits` (2048) bits, an EC key on the curve its algorithm names.

    RFC 7518 section 3.3 requires RSA keys of 2048 bits or more for RS256 and PS256; ES256 is
    defined on P-256 only (section 3.4). The key is the one the profile's `api.jwt_private_key_env`
    names (the platform's own: the token checks mean nothing otherwise); no request is sent and
    nothing of the key is printed but its type and size.

    When it fails: Rotate to a new key pair (`openssl genpkey -algorithm RSA -pkeyopt
    rsa_keygen_bits:3072`, or `-algorithm EC -pkeyopt ec_paramgen_curve:P-256` for ES256): the
    platform signs with the new private key and verifies with its public half; update the variable
    the profile names at the same time.
    """
    key_pair_only(api)
    # heavy: cryptography, only on a platform that signs with a key pair
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = api.public_key()
    variable = f"${target.api.jwt_private_key_env} (api.jwt_private_key_env)"
    if isinstance(key, rsa.RSAPublicKey):
        evidence.update(type="RSA", bits=key.key_size)
        minimum = expect["api.auth.min_rsa_bits"]
        assert api.algorithm[:2] in ("RS", "PS"), (
            f"the JWT signing key in {variable} is an RSA key, but the platform signs with"
            f" {api.algorithm} (expectations.api.auth.algorithms): name the algorithm the key"
            " is for"
        )
        assert key.key_size >= minimum, (
            f"the JWT signing key in {variable} is a {key.key_size}-bit RSA key, under the"
            f" {minimum} bits {api.algorithm} needs (RFC 7518 section 3.3; api.auth.min_rsa_bits):"
            f" rotate to a key pair of {max(minimum, 3072)} bits in the platform and the profile's"
            " variable together"
        )
        return
    assert isinstance(key, ec.EllipticCurvePublicKey), (
        f"the JWT signing key in {variable} is a {type(key).__name__}, not an RSA or EC key: the"
        f" platform signs with {api.algorithm}"
    )
    wanted = jwt_key_attacks.CURVES.get(api.algorithm)
    evidence.update(type="EC", curve=key.curve.name)
    assert wanted is not None and key.curve.name == wanted.name, (
        f"the JWT signing key in {variable} is on the {key.curve.name} curve, but {api.algorithm}"
        f" (expectations.api.auth.algorithms) needs {wanted.name if wanted else 'an RSA key'} (RFC"
        " 7518 section 3.4): make a key pair on the algorithm's curve"
    )
