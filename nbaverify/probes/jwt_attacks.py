"""The JWT attack catalogue: forged, stripped, expired and weak tokens a platform must refuse.

Each attack is a name (the check's id) and a function that builds the Authorization header value
from the API client (which signs with the target's secret when an attack needs a real signature).
Sources: the guide's jwt.verify middleware; RFC 8725 (JWT best current practices); the
alg=none and kid-injection classics.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable

from nbaverify.clients.api import ApiClient


def b64(data: bytes | dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode() if isinstance(data, dict) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(**extra) -> dict:
    now = int(time.time())
    return {"sub": "nbaverify", "iat": now, "exp": now + 300, **extra}


def unsigned(alg: str, trailing_dot: bool) -> str:
    token = f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims())}"
    return token + "." if trailing_dot else token


def _unsigned_attack(alg: str, trailing_dot: bool) -> Callable[[ApiClient], str | None]:
    return lambda api: f"Bearer {unsigned(alg, trailing_dot)}"


def hs256(header: dict, payload: dict, key: bytes) -> str:
    signing_input = f"{b64(header)}.{b64(payload)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def _stripped(api: ApiClient) -> str:
    header, payload, _ = api.sign(claims()).split(".")
    return f"Bearer {header}.{payload}."


def _tampered(api: ApiClient) -> str:
    header, _, signature = api.sign(claims()).split(".")
    return f"Bearer {header}.{b64(claims(sub='admin', role='admin'))}.{signature}"


def without_exp(api: ApiClient) -> str:
    """Valid but for its missing exp: jsonwebtoken's jwt.verify accepts it (it would never
    expire)."""
    payload = claims()
    del payload["exp"]
    return f"Bearer {api.sign(payload)}"


def issued_long_ago(api: ApiClient, age_s: int) -> str:
    """Valid but issued age_s ago, its exp still ahead: only a maxAge (a limit on iat) refuses
    it."""
    now = int(time.time())
    return f"Bearer {api.sign(claims(iat=now - age_s))}"


ATTACKS: dict[str, Callable[[ApiClient], str | None]] = {
    "no token": lambda api: None,
    "bare Bearer": lambda api: "Bearer",
    "Basic credentials": lambda api: "Basic " + base64.b64encode(b"admin:admin").decode(),
    "not a JWT": lambda api: "Bearer not-a-jwt",
    "three empty parts": lambda api: "Bearer ..",
    "wrong signing key": lambda api: (
        f"Bearer {hs256({'alg': 'HS256', 'typ': 'JWT'}, claims(), secrets.token_bytes(32))}"
    ),
    # a platform whose JWT_SECRET went missing may verify with an empty key (jsonwebtoken and PyJWT
    # refuse one; hand-written checks and older libraries do not)
    "empty signing key": lambda api: (
        f"Bearer {hs256({'alg': 'HS256', 'typ': 'JWT'}, claims(), b'')}"
    ),
    **{
        f"alg {alg}{' with trailing dot' if dot else ''}": _unsigned_attack(alg, dot)
        for alg in ("none", "None", "NONE", "nOnE")
        for dot in (True, False)
    },
    "signature stripped": _stripped,
    "payload tampered after signing": _tampered,
    "expired": lambda api: f"Bearer {api.sign(claims(exp=int(time.time()) - 120))}",
    "not valid before (nbf in the future)": lambda api: (
        f"Bearer {api.sign(claims(nbf=int(time.time()) + 3600))}"
    ),
    # kid pointing at /dev/null: a server that reads the key from that path verifies with an empty
    # key
    "kid path traversal": (
        lambda api: (
            "Bearer "
            + hs256(
                {"alg": "HS256", "typ": "JWT", "kid": "../../../../../../dev/null"}, claims(), b""
            )
        )
    ),
    "kid SQL injection": (
        lambda api: (
            "Bearer "
            + hs256(
                {"alg": "HS256", "typ": "JWT", "kid": "x' UNION SELECT 'nbaverify' -- "},
                claims(),
                b"nbaverify",
            )
        )
    ),
}


def wrong_claim(api: ApiClient, claim: str, value: str) -> str:
    return f"Bearer {api.sign(claims(**{claim: value}))}"


def signed_with(api: ApiClient, secret: str) -> str:
    """A token valid in every way but its key: one of the well-known weak secrets."""
    return f"Bearer {api.sign(claims(), key=secret)}"


def other_algorithm(api: ApiClient, algorithm: str) -> str:
    """Valid but for its algorithm: the platform's own key under another of its family (HS384 for an
    HS256 secret, RS512 or PS256 for an RS256 key)."""
    return f"Bearer {api.sign(claims(), algorithm=algorithm)}"


# validly signed tokens whose claims have the wrong type: jwt.verify refuses some, passes others on
# to the app
ODD_CLAIMS: dict[str, dict] = {  # a request each, on the run's budget
    "exp a string": {"exp": "x"},
    "sub an object": {"sub": {}},
    "sub a number": {"sub": 12345},
    "sub null": {"sub": None},
}


def odd_claims(api: ApiClient, case: str) -> str:
    return f"Bearer {api.sign(claims(**ODD_CLAIMS[case]))}"
