"""The TLS probes against a real server on loopback: the chain it sends, and whether roots alone
verify it."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import trustme
from cryptography import x509

from nbaverify.clients.tls import chain_problem, for_url, served_chain, verifying


@contextmanager
def serving(cert_chain: bytes, key: bytes, tmp_path) -> Iterator[int]:
    """A TLS server on a free loopback port that completes handshakes with this chain, until the
    block ends."""
    (tmp_path / "chain.pem").write_bytes(cert_chain)
    (tmp_path / "key.pem").write_bytes(key)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "chain.pem", tmp_path / "key.pem")
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(raw, server_side=True):
                    pass
            except (ssl.SSLError, OSError):  # the client refused the chain: that is its finding
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()


def _issued():
    root = trustme.CA()
    intermediate = root.create_child_ca()
    leaf = intermediate.issue_cert("localhost", "127.0.0.1")
    return root, intermediate, leaf


def _serving_full_chain(tmp_path, intermediate, leaf):
    return serving(
        leaf.cert_chain_pems[0].bytes() + intermediate.cert_pem.bytes(),
        leaf.private_key_pem.bytes(),
        tmp_path,
    )


def test_the_full_chain_verifies_against_the_root_alone(tmp_path):
    root, intermediate, leaf = _issued()
    with _serving_full_chain(tmp_path, intermediate, leaf) as port:
        assert chain_problem("127.0.0.1", port, 5, root.cert_pem.bytes().decode()) is None
        assert len(served_chain("127.0.0.1", port, 5)) == 2


def test_a_leaf_sent_alone_is_missing_its_issuer(tmp_path):
    root, intermediate, leaf = _issued()
    with serving(leaf.cert_chain_pems[0].bytes(), leaf.private_key_pem.bytes(), tmp_path) as port:
        problem = chain_problem("127.0.0.1", port, 5, root.cert_pem.bytes().decode())
        chain = served_chain("127.0.0.1", port, 5)
    assert problem == "unable to get local issuer certificate"
    assert len(chain) == 1
    issuer = x509.load_der_x509_certificate(chain[0]).issuer
    assert issuer == x509.load_pem_x509_certificate(intermediate.cert_pem.bytes()).subject


def test_an_expired_leaf_is_not_called_a_missing_chain(tmp_path):
    root = trustme.CA()
    intermediate = root.create_child_ca()
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    leaf = intermediate.issue_cert(
        "localhost", not_before=past - dt.timedelta(days=1), not_after=past
    )
    with serving(
        leaf.cert_chain_pems[0].bytes() + intermediate.cert_pem.bytes(),
        leaf.private_key_pem.bytes(),
        tmp_path,
    ) as port:
        # the dates are another check's
        assert chain_problem("127.0.0.1", port, 5, root.cert_pem.bytes().decode()) is None


def test_a_plain_http_client_trusts_no_root_and_refuses_any_certificate(tmp_path):
    # its context is never meant to handshake; should it, it must refuse, never accept unverified
    plain = for_url("http://127.0.0.1:9093")
    assert plain.cert_store_stats()["x509_ca"] == 0
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
    _root, intermediate, leaf = _issued()
    with _serving_full_chain(tmp_path, intermediate, leaf) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            try:
                plain.wrap_socket(raw, server_hostname="localhost").close()
            except ssl.SSLCertVerificationError as exc:
                assert exc.verify_code in (2, 20)  # no issuer to be found
            else:
                raise AssertionError("a context that trusts no root accepted a certificate")


def test_an_https_client_verifies_with_the_roots_or_the_profiles_ca(tmp_path):
    assert for_url("https://alertmanager.example:9093") is verifying(None)
    assert for_url("HTTPS://api.example") is verifying(None)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    own = for_url("https://api.example", str(tmp_path / "ca.pem"))
    assert own is verifying(str(tmp_path / "ca.pem"))
    assert own.cert_store_stats()["x509_ca"] == 1
