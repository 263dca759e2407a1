"""Why a TLS handshake refused the peer, in the words a person on call reads: shared by the API's HTTP and
WebSocket clients."""

from __future__ import annotations

import ssl


def certificate_problem(exc: BaseException) -> str | None:
    """Why TLS verification refused the peer ("certificate verify failed: self-signed certificate"), or None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {seen.verify_message}" if seen.verify_message else str(seen)
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    return text[text.index("certificate verify failed"):].split(" (_ssl")[0] if "certificate verify failed" in text else None
