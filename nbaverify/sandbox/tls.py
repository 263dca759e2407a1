"""The sandbox's own certificate authority, an intermediate under it, and the API's server
certificate (trustme).

As a public CA's, the server certificate is issued by an intermediate: the server sends it beside
the leaf, and the profile's CA file holds the root alone, so a server that leaves the intermediate
out fails as it would for a team.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import subprocess
import tempfile
from pathlib import Path

from nbaverify.errors import MissingBinary
from nbaverify.sandbox.layout import Layout

SERVER_NAMES = ("localhost", "127.0.0.1")
# the tls_weak_key fault's key: below every current minimum (NIST SP 800-57, CA/B Forum 2048)
WEAK_RSA_BITS = 1024


def ensure_certificates(
    layout: Layout,
    valid_days: int = 365,
    force: bool = False,
    stranger: bool = False,
    rsa: bool = False,
    weak_key: bool = False,
    leaf_only: bool = False,
    sha1: bool = False,
) -> None:
    """Create the CA, its intermediate and a server cert for localhost/127.0.0.1 unless they exist
    (profile names the CA).

    stranger: the server cert comes from another CA, and the profile's CA file is left alone
    (a certificate the profile does not trust: the tls_cert_untrusted fault). rsa: RSA keys instead
    of ECDSA, which a static-RSA key exchange needs (the tls_no_forward_secrecy fault). weak_key: a
    1024-bit RSA server key (the tls_weak_key fault). leaf_only: the server sends its certificate
    without the intermediate (tls_chain_incomplete). sha1: the server certificate is signed with
    SHA-1 (tls_sha1_signature).
    """
    if not force and all(p.exists() for p in (layout.ca_file, layout.cert_file, layout.key_file)):
        return
    import trustme  # optional: the sandbox extra

    layout.tls_dir.mkdir(parents=True, exist_ok=True)
    key_type = trustme.KeyType.RSA if rsa else trustme.KeyType.ECDSA
    ca = trustme.CA(
        organization_name="somebody else" if stranger else "nbaverify sandbox", key_type=key_type
    )
    intermediate = ca.create_child_ca(key_type=key_type)
    now = dt.datetime.now(dt.UTC)
    not_before, not_after = now - dt.timedelta(hours=1), now + dt.timedelta(days=valid_days)
    if weak_key:
        leaf, key = _weak_leaf(intermediate, not_before, not_after)
    elif sha1:
        leaf, key = _sha1_leaf(intermediate, valid_days)
    else:
        cert = intermediate.issue_cert(
            *SERVER_NAMES, not_before=not_before, not_after=not_after, key_type=key_type
        )
        leaf, key = cert.cert_chain_pems[0].bytes(), cert.private_key_pem.bytes()
    if not stranger:
        ca.cert_pem.write_to_path(str(layout.ca_file))
    layout.key_file.write_bytes(key)
    layout.cert_file.write_bytes(leaf if leaf_only else leaf + intermediate.cert_pem.bytes())
    layout.key_file.chmod(0o600)


def _sha1_leaf(issuer, valid_days: int) -> tuple[bytes, bytes]:
    """A server certificate its CA signed with SHA-1, which cryptography will not sign and the
    openssl command will: (certificate PEM, key PEM)."""
    # heavy: cryptography, only for the fault that serves this certificate
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    openssl = shutil.which("openssl")
    if not openssl:
        raise MissingBinary(
            "openssl",
            "the SHA-1 certificate is signed with the openssl command (apt-get install openssl)",
        )
    key = ec.generate_private_key(ec.SECP256R1())
    request = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAMES[0])]))
        .sign(key, hashes.SHA256())
    )
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        (work / "leaf.csr").write_bytes(request.public_bytes(serialization.Encoding.PEM))
        (work / "ca.pem").write_bytes(issuer.cert_pem.bytes())
        (work / "ca.key").write_bytes(issuer.private_key_pem.bytes())
        (work / "ext.cnf").write_text(
            "subjectAltName = DNS:localhost, IP:127.0.0.1\nbasicConstraints = critical, CA:FALSE\n"
            "extendedKeyUsage = serverAuth\n"
        )
        subprocess.run(
            [
                openssl,
                "x509",
                "-req",
                "-in",
                str(work / "leaf.csr"),
                "-CA",
                str(work / "ca.pem"),
                "-CAkey",
                str(work / "ca.key"),
                "-CAcreateserial",
                "-days",
                str(valid_days),
                "-sha1",
                "-extfile",
                str(work / "ext.cnf"),
                "-out",
                str(work / "leaf.pem"),
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
        leaf = (work / "leaf.pem").read_bytes()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return leaf, pem


def _weak_leaf(issuer, not_before: dt.datetime, not_after: dt.datetime) -> tuple[bytes, bytes]:
    """A server certificate with a 1024-bit RSA key, which trustme will not make: (certificate PEM,
    key PEM)."""
    # heavy: cryptography, only for the fault that serves this certificate
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    issuer_key = serialization.load_pem_private_key(issuer.private_key_pem.bytes(), None)
    issuer_cert = x509.load_pem_x509_certificate(issuer.cert_pem.bytes())
    key = rsa.generate_private_key(public_exponent=65537, key_size=WEAK_RSA_BITS)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAMES[0])]))
        .issuer_name(issuer_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        # an EC or RSA CA key, both sign
        .sign(issuer_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), pem
