"""The key-pair attack pack's tokens, offline: each is what its attack says, and verifies only where
a verifier errs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from nbaverify.clients.api import ApiClient
from nbaverify.config import load_expectations
from nbaverify.errors import ConfigError, NotConfigured
from nbaverify.probes import jwt_key_attacks


def pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def client(key: str | None, algorithm: str) -> ApiClient:
    return ApiClient(
        "https://api.example",
        jwt_secret=key,
        ca_file=None,
        timeout_s=1,
        algorithm=algorithm,
        claims={"iss": "https://auth.example", "aud": "api"},
    )


def parts(token: str) -> tuple[dict, dict, bytes]:
    raw = token.removeprefix("Bearer ").split(".")
    decode = lambda part: base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))  # noqa: E731
    return json.loads(decode(raw[0])), json.loads(decode(raw[1])), decode(raw[2])


def test_the_suite_signs_as_the_platform_does_with_its_private_key(rsa_key):
    api = client(pem(rsa_key), "RS256")
    token = api.token()
    claims = jwt.decode(token, rsa_key.public_key(), algorithms=["RS256"], audience="api")
    assert claims["iss"] == "https://auth.example" and api.key_pair
    assert jwt.get_unverified_header(api.sign({"sub": "x"}, algorithm="PS256"))["alg"] == "PS256"
    # an explicit key is an HMAC secret, HS256 unless told: the attacks on a shared secret still
    # work
    assert jwt.get_unverified_header(api.sign({"sub": "x"}, key="secret"))["alg"] == "HS256"


def test_without_its_key_a_key_pair_platform_says_which_setting_is_missing():
    with pytest.raises(
        NotConfigured,
        match=r"not configured: api.jwt_private_key_env \(expectations.api.auth."
        r"algorithms signs with ES256\)",
    ):
        client(None, "ES256").token()
    with pytest.raises(NotConfigured, match="holds no unencrypted PEM private key"):
        client("not a key", "RS256").public_key()
    with pytest.raises(NotConfigured, match=r"^not configured: api.jwt_secret_env$"):
        client(None, "HS256").token()


def test_the_algorithms_expectation_names_jws_algorithms_the_signing_one_first():
    assert load_expectations({"api": {"auth": {"algorithms": ["RS256"]}}})[
        "api.auth.algorithms"
    ] == ["RS256"]
    for wrong in ([], ["none"], ["RS256", "rs512"]):
        with pytest.raises(ConfigError, match=r"expectations\.api\.auth\.algorithms"):
            load_expectations({"api": {"auth": {"algorithms": wrong}}})


def test_pinning_tries_what_the_same_key_signs():
    assert jwt_key_attacks.siblings("HS256") == ("HS384", "HS512")
    assert jwt_key_attacks.siblings("RS256") == ("RS512", "PS256")
    assert jwt_key_attacks.siblings("ES256") == ()  # the curve fixes the algorithm


def test_key_confusion_is_an_hmac_over_the_public_key_in_each_form_a_server_holds(rsa_key):
    api = client(pem(rsa_key), "RS256")
    forms = jwt_key_attacks.public_pems(api)
    assert list(forms) == [
        "public key PEM",
        "public key PEM without its final newline",
        "PKCS#1 public key PEM",
    ]
    assert forms["public key PEM"].startswith(b"-----BEGIN PUBLIC KEY-----") and forms[
        "public key PEM"
    ].endswith(b"\n")
    assert forms["PKCS#1 public key PEM"].startswith(b"-----BEGIN RSA PUBLIC KEY-----")
    token = jwt_key_attacks.confused(api, forms["public key PEM"]).removeprefix("Bearer ")
    header, claims, signature = parts(token)
    signing_input = token.rsplit(".", 1)[0].encode()
    assert header["alg"] == "HS256" and claims["iss"] == "https://auth.example"
    assert signature == hmac.new(forms["public key PEM"], signing_input, hashlib.sha256).digest()
    with pytest.raises(jwt.InvalidAlgorithmError):  # a pinned verifier refuses it
        jwt.decode(token, rsa_key.public_key(), algorithms=["RS256"], audience="api")


@pytest.mark.parametrize("algorithm", ["RS256", "ES256"])
def test_an_embedded_jwk_verifies_only_with_the_key_it_carries(algorithm, rsa_key):
    own = rsa_key if algorithm == "RS256" else ec.generate_private_key(ec.SECP256R1())
    api = client(pem(own), algorithm)
    token = jwt_key_attacks.embedded_jwk(api).removeprefix("Bearer ")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == algorithm and header["kid"] == jwt_key_attacks.ATTACKER_KID
    # the attacker's key
    jwt.decode(token, jwt.PyJWK(header["jwk"]).key, algorithms=[algorithm], audience="api")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, own.public_key(), algorithms=[algorithm], audience="api")


def test_the_key_server_serves_the_attackers_keys_and_notes_who_fetched_them(rsa_key):
    api = client(pem(rsa_key), "RS256")
    with jwt_key_attacks.key_server("127.0.0.1", "RS256", 2) as server:
        token = server.token(api, "jku").removeprefix("Bearer ")
        assert jwt.get_unverified_header(token)["jku"] == server.url("jku")
        key = jwt.PyJWKClient(server.url("jku"), timeout=2).get_signing_key_from_jwt(token).key
        # a verifier that trusts jku accepts it
        jwt.decode(token, key, algorithms=["RS256"], audience="api")
        certificate = httpx.get(server.url("x5u"), timeout=2)
        assert certificate.text.startswith("-----BEGIN CERTIFICATE-----")
        assert httpx.get(f"{server.base_url}/other", timeout=2).status_code == 404
        assert server.fetched == ["/jwks.json", "/cert.pem", "/other"]
    with pytest.raises(httpx.ConnectError):  # gone with the block
        httpx.get(server.url("jku"), timeout=2)
