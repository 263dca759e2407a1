"""The sandbox's own certificate authority and the API's server certificate (trustme)."""

from __future__ import annotations

import datetime as dt

from nbaverify.sandbox.layout import Layout

SERVER_NAMES = ("localhost", "127.0.0.1")


def ensure_certificates(layout: Layout, valid_days: int = 365, force: bool = False, stranger: bool = False,
                        rsa: bool = False) -> None:
    """Create the CA and a server cert for localhost/127.0.0.1 unless they exist (profile names the CA).

    stranger: the server cert comes from another CA, and the profile's CA file is left alone
    (a certificate the profile does not trust: the tls_cert_untrusted fault). rsa: RSA keys instead of ECDSA, which a
    static-RSA key exchange needs (the tls_no_forward_secrecy fault).
    """
    if not force and all(p.exists() for p in (layout.ca_file, layout.cert_file, layout.key_file)):
        return
    import trustme  # optional: the sandbox extra

    layout.tls_dir.mkdir(parents=True, exist_ok=True)
    key_type = trustme.KeyType.RSA if rsa else trustme.KeyType.ECDSA
    ca = trustme.CA(organization_name="somebody else" if stranger else "nbaverify sandbox", key_type=key_type)
    now = dt.datetime.now(dt.UTC)
    cert = ca.issue_cert(*SERVER_NAMES, not_before=now - dt.timedelta(hours=1),
                         not_after=now + dt.timedelta(days=valid_days), key_type=key_type)
    if not stranger:
        ca.cert_pem.write_to_path(str(layout.ca_file))
    cert.private_key_pem.write_to_path(str(layout.key_file))
    layout.cert_file.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    layout.key_file.chmod(0o600)
