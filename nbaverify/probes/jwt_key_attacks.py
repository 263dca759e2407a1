"""The key-pair attack pack: tokens a platform that signs with RS256, PS256 or ES256 must refuse.

Sources: RFC 8725 sections 2.1 and 3.1 (algorithm confusion), jsonwebtoken's CVE-2022-23541 (an RSA
public key taken as an HMAC secret), PortSwigger's JWT labs and jwt_tool's modes (an embedded `jwk`,
a `jku` or `x5u` naming the attacker's own keys). Each builder returns a token; the attacker's keys
are made fresh for the run and never sent anywhere but in the token and from the suite's own key
server.
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from nbaverify.clients.api import ApiClient
from nbaverify.probes.jwt_attacks import claims, hs256

ATTACKER_KID = "nbaverify-attacker"
# the same key signs every algorithm of its family: a secret HS256/384/512, an RSA key RS* and PS*;
# an EC key only the one its curve fixes (ES256: P-256), so it has no sibling. For RSA a longer hash
# and the other padding stand for the six (a request each, on the run's budget): an unpinned
# verifier takes both
SIBLINGS = {
    "RS": ("RS256", "RS512", "PS256"),
    "PS": ("PS256", "RS256", "RS512"),
    "HS": ("HS256", "HS384", "HS512"),
}
CURVES: dict[str, ec.EllipticCurve] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
}


def siblings(algorithm: str) -> tuple[str, ...]:
    """The algorithms the platform's own key can sign besides `algorithm` (what pinning must
    refuse)."""
    return tuple(a for a in SIBLINGS.get(algorithm[:2], ()) if a != algorithm)


def public_pems(api: ApiClient) -> dict[str, bytes]:
    """The platform's public key as a server may hold it, by form: the PEM a key tool writes
    (SubjectPublicKeyInfo, with its final newline and without), and for RSA the PKCS#1 PEM too."""
    key = api.public_key()
    spki = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forms = {"public key PEM": spki, "public key PEM without its final newline": spki.rstrip(b"\n")}
    if isinstance(key, rsa.RSAPublicKey):
        forms["PKCS#1 public key PEM"] = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        )
    return forms


def confused(api: ApiClient, pem: bytes) -> str:
    """Key confusion: an HS256 token whose HMAC key is the platform's public key (which anyone may
    have)."""
    return f"Bearer {hs256({'alg': 'HS256', 'typ': 'JWT'}, {**api.claims, **claims()}, pem)}"


def attacker_key(algorithm: str):
    """A fresh private key of the family `algorithm` needs (the attacker's: nobody else holds
    it)."""
    if algorithm.startswith("ES"):
        return ec.generate_private_key(CURVES[algorithm])
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(private_key, algorithm: str) -> dict:
    """The JWK (RFC 7517) of the key's public half, named by the attacker's kid."""
    family = (
        jwt.algorithms.ECAlgorithm if algorithm.startswith("ES") else jwt.algorithms.RSAAlgorithm
    )
    jwk = family.to_jwk(private_key.public_key(), as_dict=True)
    return {**jwk, "kid": ATTACKER_KID, "alg": algorithm, "use": "sig"}


def _signed(api: ApiClient, private_key, header: dict) -> str:
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return api.sign(
        claims(), key=pem, algorithm=api.algorithm, headers={"kid": ATTACKER_KID, **header}
    )


def embedded_jwk(api: ApiClient) -> str:
    """A token signed with the attacker's key, that key's JWK in its header (a verifier that trusts
    it verifies)."""
    key = attacker_key(api.algorithm)
    return f"Bearer {_signed(api, key, {'jwk': public_jwk(key, api.algorithm)})}"


def self_signed(private_key) -> bytes:
    """A certificate for the attacker's key, signed by itself (what an `x5u` URL serves)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nbaverify attacker")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(private_key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


@dataclass
class KeyServer:
    """The attacker's key set, served over plain HTTP while the attack runs: /jwks.json (a JWK Set)
    and /cert.pem (for x5u). `fetched` lists the paths the API asked for, so the evidence says
    whether it went to fetch them.
    """

    base_url: str
    private_key: object
    fetched: list[str] = field(default_factory=list)

    def url(self, header: str) -> str:
        return f"{self.base_url}/{'jwks.json' if header == 'jku' else 'cert.pem'}"

    def token(self, api: ApiClient, header: str) -> str:
        """A token signed with the attacker's key whose `jku` or `x5u` header names this server's
        keys."""
        return f"Bearer {_signed(api, self.private_key, {header: self.url(header)})}"


@contextmanager
def key_server(bind: str, algorithm: str, timeout_s: float) -> Iterator[KeyServer]:
    """A KeyServer on `bind` (a port the kernel picks) for the duration of the block."""
    key = attacker_key(algorithm)
    bodies = {
        "/jwks.json": (
            json.dumps({"keys": [public_jwk(key, algorithm)]}).encode(),
            "application/json",
        ),
        "/cert.pem": (self_signed(key), "application/x-pem-file"),
    }
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        """Serves the attacker's key set and certificate, noting every path asked for."""

        timeout = timeout_s  # a client that connects and says nothing does not hold the thread

        def do_GET(self):
            seen.append(self.path)
            body, kind = bodies.get(self.path.split("?", 1)[0], (b"not found\n", "text/plain"))
            self.send_response(200 if self.path.split("?", 1)[0] in bodies else 404)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer((bind, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="nbaverify-key-server", daemon=True)
    thread.start()
    try:
        host = f"[{bind}]" if ":" in bind else bind
        yield KeyServer(f"http://{host}:{server.server_address[1]}", key, seen)
    finally:
        server.shutdown()
        server.server_close()
