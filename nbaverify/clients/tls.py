"""TLS for the clients: the contexts they verify servers with, and why a handshake refused the peer,
in the words a person on call reads (shared by the API's HTTP and WebSocket clients)."""

from __future__ import annotations

import functools
import socket
import ssl

import httpx


@functools.cache
def verifying(ca_file: str | None = None) -> ssl.SSLContext:
    """The context an HTTP client verifies its server with: the profile's CA, or httpx's own default
    (certifi's roots, or SSL_CERT_FILE / SSL_CERT_DIR). One per CA a run, shared by every client:
    each costs about 20 ms of parsing the root bundle, and a run opens a client per service."""
    return ssl.create_default_context(cafile=ca_file) if ca_file else httpx.create_ssl_context()


@functools.cache
def _trusting_nothing() -> ssl.SSLContext:
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def for_url(url: str, ca_file: str | None = None) -> ssl.SSLContext:
    """The context for a client of this base URL: `verifying` for https. A client of an http:// URL
    follows no redirect, so it never verifies a certificate; it gets a context that trusts no root
    (should a handshake ever happen, it is refused, never unverified) rather than one that parses
    the whole root bundle for nothing (about 60 ms a run where Prometheus and Alertmanager are
    plain HTTP)."""
    if url.lower().startswith("http://"):
        return _trusting_nothing()
    return verifying(ca_file)


class CannotOffer(Exception):
    """This machine's OpenSSL cannot offer what a probe asks for: the probe cannot tell either
    way."""


def negotiated(
    host: str,
    port: int,
    timeout_s: float,
    *,
    ciphers: str | None = None,
    minimum: ssl.TLSVersion | None = None,
    maximum: ssl.TLSVersion | None = None,
) -> str | None:
    """The suite a handshake offering only these ciphers and protocol versions agreed on, or None
    when the server refused it. The certificate is not verified (the certificate checks do that) and
    OpenSSL's security level is lowered, so a weak suite is offered when this machine has it at all;
    CannotOffer when it has not.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        if ciphers:
            context.set_ciphers(f"{ciphers}:@SECLEVEL=0")
        if minimum:
            context.minimum_version = minimum
        if maximum:
            context.maximum_version = maximum
    except (ValueError, ssl.SSLError) as exc:
        raise CannotOffer(
            f"{ssl.OPENSSL_VERSION} cannot offer {ciphers or ''} {minimum or ''}: {exc}".strip()
        ) from None
    with socket.create_connection((host, port), timeout=timeout_s) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                agreed = tls.cipher()
                return agreed[0] if agreed else None
        except (ssl.SSLError, ConnectionResetError):
            return None


def served_chain(host: str, port: int, timeout_s: float) -> list[bytes]:
    """The certificates the server sends (DER, its own first), whatever their keys or issuers: a
    handshake that verifies nothing and accepts any key size (OpenSSL's security level lowered), so
    a weak one is judged, not refused."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.set_ciphers("ALL:@SECLEVEL=0")
    with (
        socket.create_connection((host, port), timeout=timeout_s) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        if hasattr(tls, "get_unverified_chain"):  # Python 3.13 and later
            return list(tls.get_unverified_chain())
        # before 3.13 the same call exists on the socket's _ssl object only (CPython 3.10+),
        # returning Certificates
        chain = tls._sslobj.get_unverified_chain() or []  # type: ignore[attr-defined]
        return [cert.public_bytes(ssl._ssl.ENCODING_DER) for cert in chain]  # type: ignore[attr-defined]


# OpenSSL's verify codes for a chain that stops short of a trusted root: the issuer is nowhere to be
# found X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
MISSING_ISSUER = {2, 20}


def chain_problem(host: str, port: int, timeout_s: float, roots: str | None) -> str | None:
    """Why a handshake that trusts only these root certificates (PEM; None: the system's) finds no
    issuer for the chain the server sends, or None when it does. Other faults of the certificate
    (its name, dates, key size) are the certificate checks' to report: the host name is not checked
    and any key size is accepted."""
    context = ssl.create_default_context(cadata=roots) if roots else ssl.create_default_context()
    context.check_hostname = False
    context.set_ciphers("ALL:@SECLEVEL=0")
    with socket.create_connection((host, port), timeout=timeout_s) as raw:
        try:
            with context.wrap_socket(raw, server_hostname=host):
                return None
        except ssl.SSLCertVerificationError as exc:
            return (exc.verify_message or str(exc)) if exc.verify_code in MISSING_ISSUER else None


def certificate_problem(exc: BaseException) -> str | None:
    """Why TLS verification refused the peer ("certificate verify failed: self-signed certificate"),
    or None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return (
                f"certificate verify failed: {seen.verify_message}"
                if seen.verify_message
                else str(seen)
            )
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    return (
        text[text.index("certificate verify failed") :].split(" (_ssl")[0]
        if "certificate verify failed" in text
        else None
    )
