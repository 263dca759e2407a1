"""`api`: the platform's HTTP API as the suite sees it (httpx, the target's CA, a timeout on everything)."""

from __future__ import annotations

import ssl
import time

import httpx
import jwt

from nbaverify.errors import TargetUnreachable
from nbaverify.redact import Redactor


class ApiClient:
    """GETs against the target's API, with JWTs minted from the profile's secret.

    A refused or timed-out connection becomes `TargetUnreachable`, and is remembered: once the
    API is found unreachable, later checks learn it at once instead of each waiting a timeout.
    """

    def __init__(self, base_url: str, *, jwt_secret: str | None, ca_file: str | None, timeout_s: float,
                 ws_path: str = "/ws/live", redactor: Redactor | None = None):
        self.base_url = base_url
        self.ws_path = ws_path
        self._jwt_secret = jwt_secret
        self._redactor = redactor or Redactor()
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._http = httpx.Client(base_url=base_url, verify=verify, timeout=timeout_s,
                                  headers={"user-agent": "nbaverify"})
        self._unreachable: TargetUnreachable | None = None

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def get(self, path: str, *, token: str | None = None, headers: dict | None = None,
            params: dict | None = None) -> httpx.Response:
        if self._unreachable:
            raise self._unreachable
        merged = dict(headers or {})
        if token:
            merged["authorization"] = f"Bearer {token}"
        try:
            return self._http.get(path, headers=merged, params=params)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._unreachable = TargetUnreachable("API", self.base_url, _reason(exc))
            raise self._unreachable from None
        except httpx.TimeoutException as exc:
            raise TargetUnreachable("API", self.url(path), f"no response within the timeout ({_reason(exc)})") from None
        except httpx.TransportError as exc:
            raise TargetUnreachable("API", self.url(path), _reason(exc)) from None

    def token(self, ttl_s: int = 300, **claims) -> str:
        """A valid HS256 token (Contract 2: `exp` required); the token itself is redacted from output."""
        if not self._jwt_secret:
            raise TargetUnreachable("API", self.base_url, "no JWT secret configured (api.jwt_secret_env)")
        now = int(time.time())
        minted = jwt.encode({"sub": "nbaverify", "iat": now, "exp": now + ttl_s, **claims},
                            self._jwt_secret, algorithm="HS256")
        self._redactor.add(minted)
        return minted

    def close(self) -> None:
        self._http.close()


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[-1]
