"""A certificate's key judged by kind and size, and a CA bundle cut down to its roots."""

from __future__ import annotations

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from nbaverify.probes import certificates
from nbaverify.sandbox import tls
from nbaverify.sandbox.layout import Layout


def _leaf_der(layout: Layout) -> bytes:
    return x509.load_pem_x509_certificates(layout.cert_file.read_bytes())[0].public_bytes(
        Encoding.DER
    )


@pytest.mark.parametrize(
    ("options", "kind", "bits", "weak"),
    [
        ({}, "EC (secp256r1)", 256, False),
        ({"rsa": True}, "RSA", 2048, False),
        ({"weak_key": True}, "RSA", 1024, True),
    ],
)
def test_the_sandbox_certificates_key_is_judged_by_kind_and_size(
    tmp_path, options, kind, bits, weak
):
    layout = Layout(root=tmp_path)
    tls.ensure_certificates(layout, force=True, **options)
    facts = certificates.key_facts(_leaf_der(layout))
    assert (facts.kind, facts.bits) == (kind, bits)
    finding = certificates.weakness(facts, min_rsa_bits=2048, min_ec_bits=256)
    assert (finding is not None) == weak
    if weak:
        assert finding == "a 1024-bit RSA key (want 2048 or more)"


def test_the_sandbox_serves_its_intermediate_unless_told_not_to(tmp_path):
    layout = Layout(root=tmp_path)
    tls.ensure_certificates(layout, force=True)
    assert layout.cert_file.read_text().count("BEGIN CERTIFICATE") == 2
    tls.ensure_certificates(layout, force=True, leaf_only=True)
    assert layout.cert_file.read_text().count("BEGIN CERTIFICATE") == 1


def test_roots_keeps_only_the_self_signed_certificates_of_a_bundle():
    ca = trustme.CA()
    child = ca.create_child_ca()
    bundle = (ca.cert_pem.bytes() + child.cert_pem.bytes()).decode()
    kept = x509.load_pem_x509_certificates(certificates.roots(bundle).encode())
    assert [cert.subject for cert in kept] == [
        x509.load_pem_x509_certificate(ca.cert_pem.bytes()).subject
    ]
    assert certificates.roots(child.cert_pem.bytes().decode()) == ""


def test_a_sha1_signature_is_named_with_the_certificate_and_its_issuer(tmp_path):
    layout = Layout(root=tmp_path)
    tls.ensure_certificates(layout, force=True, sha1=True)
    chain = [
        c.public_bytes(Encoding.DER)
        for c in x509.load_pem_x509_certificates(layout.cert_file.read_bytes())
    ]
    subject, digest, issuer = certificates.signature_weakness(chain[0])
    assert (subject, digest) == ("CN=localhost", "SHA-1") and "Testing CA" in issuer
    # the intermediate, signed with SHA-256
    assert certificates.signature_weakness(chain[1]) is None
    tls.ensure_certificates(layout, force=True)
    assert certificates.signature_weakness(_leaf_der(layout)) is None
