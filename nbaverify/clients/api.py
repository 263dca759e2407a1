"""`api`: the platform's HTTP API as the suite sees it (httpx, the target's CA, a timeout on
everything)."""

from __future__ import annotations

import re
import socket
import ssl
import time
import warnings
from urllib.parse import unquote, urlsplit

import httpx
import jwt

from nbaverify.clients import live, tls
from nbaverify.clients.tls import (
    CannotOffer,
    certificate_problem,
    chain_problem,
    negotiated,
    served_chain,
)
from nbaverify.config import signing_key_setting
from nbaverify.errors import CheckError, NotConfigured, TargetUnreachable, TargetUntrusted
from nbaverify.io_stats import IO
from nbaverify.redact import Redactor

# how long the plain-HTTP probe waits for a connection before calling the port closed
CLEARTEXT_CONNECT_S = 2.0
LIMITED_PREFIX = "/api/"  # Contract 2: the data endpoints are rate limited; health is not
# sent again once when the server closed the connection without answering: a keep-alive connection
# it closed as the request went out (its idle timeout met ours: httpx does not resend, as urllib3
# and Go do); safe methods only (RFC 9110 9.2.1), which change nothing when they arrive twice
RESENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def rate_limited(path: str) -> bool:
    """Whether the target may count the request against the suite: /api/* however it is spelt
    (/API/, //api/, /api%2F), as a router that folds case or slashes would match it."""
    folded = re.sub(r"/+", "/", unquote(path.split("?", 1)[0]).lower())
    return folded.startswith(LIMITED_PREFIX)


class RateLimited(CheckError):
    """The target answered 429 to the suite itself: a verdict on the run's budget, not on the
    check."""


class BudgetSpent(CheckError):
    """The suite has spent its request budget for rate-limited endpoints in this run."""


class ApiClient:
    """GETs against the target's API, with JWTs minted from the profile's secret.

    A refused or timed-out connection becomes `TargetUnreachable`, and is remembered: once the
    API is found unreachable, later checks learn it at once instead of each waiting a timeout.
    """

    def __init__(
        self,
        base_url: str,
        *,
        jwt_secret: str | None,
        ca_file: str | None,
        timeout_s: float,
        ws_path: str = "/ws/live",
        redactor: Redactor | None = None,
        budget: int | None = None,
        claims: dict | None = None,
        algorithm: str = "HS256",
    ):
        self.base_url = base_url
        self.ws_path = ws_path
        # the platform's signing key: the HMAC secret, or for a key pair (RS256, ES256, PS256) the
        # PEM private key
        self._jwt_secret = jwt_secret
        self.algorithm = algorithm
        self._redactor = redactor or Redactor()
        self._http = httpx.Client(
            base_url=base_url,
            verify=tls.for_url(base_url, ca_file),
            timeout=timeout_s,
            headers={"user-agent": "nbaverify"},
        )
        self._unreachable: TargetUnreachable | TargetUntrusted | None = None
        self.ca_file = ca_file
        self.timeout_s = timeout_s
        self.budget = budget  # requests the run may send to rate-limited endpoints (None: no limit)
        # what every token the suite signs carries (the platform's iss/aud)
        self.claims = dict(claims or {})
        self.spent = 0
        # the run's first reply from a rate-limited endpoint, (time.time(), headers): where this
        # run's window began
        self.first_limited: tuple[float, httpx.Headers] | None = None

    @classmethod
    def unauthenticated(cls, target) -> ApiClient:
        """For the open paths (/health) only: no secret needed, none held."""
        section = target.api
        return cls(
            section.base_url,
            jwt_secret=None,
            ca_file=section.ca_file,
            timeout_s=target.expectations["api.timeout_s"],
        )

    def _answers_at_all(self) -> bool:
        """After a timeout: does the server answer anything (any status) on another path?"""
        try:
            with IO.timed("http"):
                self._http.get("/")
            return True
        except httpx.TimeoutException:
            return False
        except httpx.TransportError:
            # refused or reset: it answers, in its way, and get() will say so
            return True

    def unreachable(self) -> TargetUnreachable | TargetUntrusted | None:
        """What this client has learned: the API cannot be reached (or trusted), else None."""
        return self._unreachable

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def get(
        self,
        path: str,
        *,
        token: str | None = None,
        headers: dict | None = None,
        params: dict | None = None,
        expect_429: bool = False,
    ) -> httpx.Response:
        """GET path. A 429 raises RateLimited unless the caller is the rate-limit check
        (expect_429)."""
        return self.request(
            "GET", path, token=token, headers=headers, params=params, expect_429=expect_429
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        headers: dict | None = None,
        params: dict | None = None,
        expect_429: bool = False,
    ) -> httpx.Response:
        """One request (a CORS preflight's OPTIONS, say), counted and bounded as get() is."""
        if self._unreachable:
            raise self._unreachable
        limited = rate_limited(path)
        if limited:
            self._within_budget(path, expect_429)
        merged = dict(headers or {})
        if token:
            merged["authorization"] = f"Bearer {token}"
        try:
            with IO.timed("http"):
                try:
                    reply = self._http.request(method, path, headers=merged, params=params)
                except httpx.RemoteProtocolError:
                    if method.upper() not in RESENT:
                        raise
                    reply = self._http.request(method, path, headers=merged, params=params)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            untrusted = certificate_problem(exc)
            self._unreachable = (
                TargetUntrusted("API", self.base_url, untrusted)
                if untrusted
                else TargetUnreachable("API", self.base_url, _reason(exc))
            )
            raise self._unreachable from None
        except httpx.TimeoutException as exc:
            slow = TargetUnreachable(
                "API", self.url(path), f"no response within {self.timeout_s:g}s ({_reason(exc)})"
            )
            if not self._answers_at_all():  # not one slow route: the API has stopped answering
                self._unreachable = TargetUnreachable(
                    "API",
                    self.base_url,
                    f"stopped answering: {method} {path} and GET / got no response within "
                    f"{self.timeout_s:g}s each",
                )
                raise self._unreachable from None
            raise slow from None
        except httpx.LocalProtocolError as exc:
            # refused on our side before sending: not the target's fault
            raise CheckError(
                f"{method} {self.url(path)} could not be sent: {_reason(exc)}"
            ) from None
        except httpx.TransportError as exc:
            raise TargetUnreachable("API", self.url(path), _reason(exc)) from None
        if limited:
            self._spend()
            if self.first_limited is None:
                self.first_limited = (time.time(), reply.headers)
        if reply.status_code == 429 and not expect_429:
            raise self._limited(method, path, reply.headers.get("retry-after"))
        return reply

    def _within_budget(self, path: str, expect_429: bool) -> None:
        if not expect_429 and self.budget is not None and self.spent >= self.budget:
            raise BudgetSpent(
                f"the suite spent its budget of {self.budget} requests to {LIMITED_PREFIX}* and"
                f" {self.ws_path} in this run (expectations api.request_budget) before {path};"
                " lower the sample sizes or raise the budget"
            )

    def _spend(self) -> None:
        self.spent += 1
        # summary.json's io says how much of api.request_budget the run spent
        IO.count("api budget")

    def _limited(self, method: str, path: str, retry_after: str | None) -> RateLimited:
        return RateLimited(
            f"the target rate-limited the suite: 429 on {method} {self.url(path)} after"
            f" {self.spent} of its requests to {LIMITED_PREFIX}* and {self.ws_path} in this run"
            f" (Retry-After {retry_after or '?'}s); another client shares this address, or an"
            " earlier run used the window: wait or allowlist the suite"
        )

    def token(self, ttl_s: int = 300, **claims) -> str:
        """A valid token (Contract 2: `exp` required), signed as the platform signs; redacted from
        output."""
        now = int(time.time())
        return self.sign({"sub": "nbaverify", "iat": now, "exp": now + ttl_s, **claims})

    @property
    def key_pair(self) -> bool:
        """Does the platform sign with a key pair (RS*, PS*, ES*) rather than a shared secret?"""
        return not self.algorithm.startswith("HS")

    @property
    def _key_setting(self) -> str:
        return signing_key_setting(self.algorithm)

    def sign(
        self,
        payload: dict,
        *,
        key: str | bytes | None = None,
        headers: dict | None = None,
        algorithm: str | None = None,
    ) -> str:
        """A token over payload (redacted): signed with the platform's own key under its algorithm
        (another of its family when told), or with `key`, an HMAC secret (HS256 unless told) or a
        PEM private key.
        """
        if key is None:
            key, algorithm = self._jwt_secret, algorithm or self.algorithm
            if not key:
                raise NotConfigured(
                    f"not configured: {self._key_setting}"
                    + (
                        f" (expectations.api.auth.algorithms signs with {self.algorithm})"
                        if self.key_pair
                        else ""
                    )
                )
        # an attack that sets iss or aud itself keeps its value
        payload = {**self.claims, **payload}
        with warnings.catch_warnings():
            # the target's secret is what it is; a weak one is a check's finding
            warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
            signed = jwt.encode(payload, key, algorithm=algorithm or "HS256", headers=headers)
        self._redactor.add(signed)
        return signed

    def public_key(self):
        """The public half of the platform's key pair (cryptography's key object), derived from the
        private key the profile holds; None for a shared secret."""
        if not self.key_pair:
            return None
        if not self._jwt_secret:
            raise NotConfigured(
                f"not configured: {self._key_setting} (expectations.api.auth.algorithms signs with "
                f"{self.algorithm})"
            )
        # heavy: cryptography, only for a platform that signs with a key pair
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        try:
            return load_pem_private_key(self._jwt_secret.encode(), password=None).public_key()
        except (ValueError, TypeError):
            raise NotConfigured(
                f"{self._key_setting} holds no unencrypted PEM private key (the platform signs with"
                f" {self.algorithm}): export the key as PEM"
            ) from None

    # -- the other ways the suite reaches the API: WebSocket, TLS handshakes (each counted, each
    # bounded) --
    def subscribe(
        self, token: str | None, wait_s: float, expect_429: bool = False, in_header: bool = False
    ) -> live.LiveResult:
        """Connect to WS /ws/live, wait for the first message, close: a LiveResult (accepted,
        detail, seconds); the token as `?token=`, or in_header as `Authorization: Bearer`. The
        handshake is a request the rate limiter may count, so it is counted against the budget as
        get() counts."""
        self._within_budget(self.ws_path, expect_429)
        result = live.subscribe(self, token, wait_s, in_header)
        self._spend()
        if result.status == 429 and not expect_429:
            raise self._limited("GET (WebSocket upgrade)", self.ws_path, None)
        return result

    def ws_url(self) -> str:
        return live.ws_url(self, None)

    def peer_certificate(self, timeout_s: float) -> dict:
        """The API's certificate, verified for its host against the profile's CA
        (ssl.SSLCertVerificationError if not)."""
        if isinstance(self._unreachable, TargetUnreachable):
            # an untrusted one is this call's finding to make
            raise self._unreachable
        parts = urlsplit(self.base_url)
        context = ssl.create_default_context(cafile=self.ca_file)
        with (
            IO.timed("tls"),
            socket.create_connection((parts.hostname, parts.port or 443), timeout=timeout_s) as raw,
            context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
        ):
            # None only without a verified handshake, which raised already
            return tls.getpeercert() or {}

    def accepts_tls_below_1_2(self, timeout_s: float) -> str | None:
        """The old protocol the API still accepts (TLS 1.0 / 1.1), or None."""
        with warnings.catch_warnings():  # asking for TLS 1.0/1.1 on purpose: Python warns
            warnings.simplefilter("ignore", DeprecationWarning)
            for version in (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1):
                try:
                    # our own OpenSSL may refuse old protocols at its security level: the probe
                    # lowers it
                    if self.negotiated_suite(
                        timeout_s, ciphers="DEFAULT", minimum=version, maximum=version
                    ):
                        return version.name
                except CannotOffer:
                    continue
        return None

    def negotiated_suite(self, timeout_s: float, **offer) -> str | None:
        """The suite a handshake offering only `offer` (ciphers, minimum, maximum:
        clients.tls.negotiated) agreed on, or None when refused; CannotOffer when this machine
        cannot offer it."""
        return self._handshake(
            lambda host, port, timeout: negotiated(host, port, timeout, **offer), timeout_s
        )

    def public_get(self, url: str) -> httpx.Response:
        """GET an absolute URL on another address of the API (its public ingress), without a token,
        redirects not followed; the same CA and timeout."""
        try:
            with IO.timed("http"):
                return self._http.get(url, follow_redirects=False)
        except httpx.TransportError as exc:
            raise TargetUnreachable("API (public address)", url, _reason(exc)) from None

    def cleartext(self, url: str) -> httpx.Response | None:
        """GET url over plain HTTP, redirects not followed: the reply, or None when nothing answers
        there (refused, or no answer to the connection within CLEARTEXT_CONNECT_S: a firewall that
        drops port 80 should not cost a run the whole timeout)."""
        if self._unreachable:
            raise self._unreachable
        timeout = httpx.Timeout(self.timeout_s, connect=min(self.timeout_s, CLEARTEXT_CONNECT_S))
        try:
            with IO.timed("http"):
                return self._http.get(url, follow_redirects=False, timeout=timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            return None
        except httpx.TransportError as exc:
            raise TargetUnreachable("API", url, _reason(exc)) from None

    def served_chain(self, timeout_s: float) -> list[bytes]:
        """The certificates the API sends (DER, its own first), unverified: for judging its key and
        chain."""
        return self._handshake(served_chain, timeout_s)

    def chain_problem(self, timeout_s: float, roots: str | None) -> str | None:
        """Why the chain the API sends does not verify against these roots alone (PEM; None: the
        system's), or None."""
        return self._handshake(chain_problem, timeout_s, roots)

    def _handshake(self, probe, timeout_s: float, *args):
        if isinstance(self._unreachable, TargetUnreachable):
            raise self._unreachable
        parts = urlsplit(self.base_url)
        try:
            with IO.timed("tls"):
                return probe(parts.hostname or "", parts.port or 443, timeout_s, *args)
        except (ConnectionRefusedError, TimeoutError, socket.gaierror) as exc:
            raise TargetUnreachable("API", self.base_url, _reason(exc)) from None

    def close(self) -> None:
        self._http.close()


def token_claims(expect) -> dict:
    """The iss and aud the platform requires of tokens, when the expectations name them."""
    wanted = {"iss": expect["api.auth.issuer"], "aud": expect["api.auth.audience"]}
    return {claim: value for claim, value in wanted.items() if value}


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[-1]
