"""What a server certificate is made of: its key's kind and size, its issuer; and which certificates
of a CA file are roots. Pure: the certificate's bytes in, facts out."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding


@dataclass(frozen=True)
class KeyFacts:
    """A certificate's public key: its kind (RSA, EC, Ed25519, ...) and size in bits, and who issued
    the certificate."""

    kind: str
    bits: int
    issuer: str


def key_facts(der: bytes) -> KeyFacts:
    """The public key of a certificate given as DER."""
    certificate = x509.load_der_x509_certificate(der)
    key = certificate.public_key()
    issuer = certificate.issuer.rfc4514_string()
    if isinstance(key, rsa.RSAPublicKey):
        return KeyFacts("RSA", key.key_size, issuer)
    if isinstance(key, ec.EllipticCurvePublicKey):
        return KeyFacts(f"EC ({key.curve.name})", key.curve.key_size, issuer)
    if isinstance(key, dsa.DSAPublicKey):
        return KeyFacts("DSA", key.key_size, issuer)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return KeyFacts("Ed25519", 256, issuer)
    if isinstance(key, ed448.Ed448PublicKey):
        return KeyFacts("Ed448", 456, issuer)
    return KeyFacts(type(key).__name__, 0, issuer)


# what a certificate's signature may not be hashed with: collisions are practical (MD5 since 2008,
# SHA-1 since SHAttered, 2017); browsers and the CA/Browser Forum refuse both
WEAK_SIGNATURE_HASHES = {"md5": "MD5", "sha1": "SHA-1"}


def signature_weakness(der: bytes) -> tuple[str, str, str] | None:
    """(subject, hash, issuer) when a certificate's signature is hashed with MD5 or SHA-1, else
    None."""
    certificate = x509.load_der_x509_certificate(der)
    try:
        algorithm = certificate.signature_hash_algorithm
    except UnsupportedAlgorithm:
        # one cryptography does not know (Ed25519 has none): not one of the weak two
        return None
    if algorithm is None or algorithm.name not in WEAK_SIGNATURE_HASHES:
        return None
    return (
        certificate.subject.rfc4514_string(),
        WEAK_SIGNATURE_HASHES[algorithm.name],
        certificate.issuer.rfc4514_string(),
    )


def weakness(facts: KeyFacts, min_rsa_bits: int, min_ec_bits: int) -> str | None:
    """Why the key is too weak, in a few words, or None. DSA is weak at any size: TLS 1.3 and
    browsers dropped it."""
    if facts.kind == "RSA" and facts.bits < min_rsa_bits:
        return f"a {facts.bits}-bit RSA key (want {min_rsa_bits} or more)"
    if facts.kind.startswith("EC") and facts.bits < min_ec_bits:
        return f"a {facts.bits}-bit {facts.kind} key (want {min_ec_bits} or more)"
    if facts.kind == "DSA":
        return f"a DSA key ({facts.bits} bits): no client of TLS 1.3 accepts DSA"
    return None


def roots(pem: str) -> str:
    """The self-signed certificates of a PEM bundle (the roots), as PEM: what a client that knows no
    intermediate trusts."""
    kept = [
        cert
        for cert in x509.load_pem_x509_certificates(pem.encode())
        if cert.issuer == cert.subject
    ]
    return "".join(cert.public_bytes(Encoding.PEM).decode() for cert in kept)
