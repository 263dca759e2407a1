"""`python -m nbaverify.sandbox.api --state-dir DIR --port-base N`: serve the reference API."""

from __future__ import annotations

import datetime as dt
import logging
import os
import ssl
import warnings

import uvicorn

from nbaverify.sandbox import control
from nbaverify.sandbox.api.app import ApiSettings, create_app
from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.secrets import TOKEN_AUDIENCE, TOKEN_ISSUER, SandboxSecrets


class GuideFormat(logging.Formatter):
    """The Node platform's lines (`logger.warn(...)`): ISO time, lower-case level, message; tracebacks follow."""

    LEVELS = {"WARNING": "warn", "CRITICAL": "fatal"}

    def format(self, record: logging.LogRecord) -> str:
        at = dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        line = f"{at} {self.LEVELS.get(record.levelname, record.levelname.lower())} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def main() -> None:
    layout = Layout.from_service_argv(__doc__)
    secrets = SandboxSecrets.load(layout)
    handler = logging.StreamHandler()
    handler.setFormatter(GuideFormat())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    app = create_app(ApiSettings(dsn=secrets.dsn("nba_app", layout.primary_port),
                                 replica_dsn=secrets.dsn("nba_app", layout.replica_port), jwt_secret=secrets.jwt_secret,
                                 previous_jwt_secret=secrets.previous_jwt_secret,
                                 control_file=str(layout.control_file), issuer=TOKEN_ISSUER, audience=TOKEN_AUDIENCE))
    switched = control.read(layout.control_file)  # TLS is set at start: its faults restart the API
    legacy_tls = switched.on("tls_legacy")
    # behind a TLS-terminating proxy (API_TLS=off): plain HTTP on API_PORT, the client's address from the proxy's
    # X-Forwarded-For (trusted from loopback only, as TRUST_PROXY says)
    tls = os.environ.get("API_TLS", "on") != "off"
    proxied = os.environ.get("TRUST_PROXY") == "1"
    config = uvicorn.Config(app, host="127.0.0.1", port=int(os.environ.get("API_PORT", layout.api_port)),
                            ssl_certfile=str(layout.cert_file) if tls else None,
                            ssl_keyfile=str(layout.key_file) if tls else None, log_level="warning", access_log=False,
                            log_config=None,  # uvicorn's own lines in the guide's format too
                            server_header=False, timeout_graceful_shutdown=2, proxy_headers=proxied,
                            forwarded_allow_ips="127.0.0.1" if proxied else None,
                            ssl_ciphers=_ciphers(legacy_tls, switched.on("tls_null_cipher"),
                                                 switched.settings.get("tls_ciphers")))
    config.load()
    if legacy_tls:  # the fault: a server that still offers TLS 1.0 and 1.1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            assert config.ssl is not None  # load() built it from the certificate above
            config.ssl.minimum_version = ssl.TLSVersion.TLSv1
    if switched.on("tls_no_1_3") and config.ssl is not None:  # the fault: a server configured down to TLS 1.2
        config.ssl.maximum_version = ssl.TLSVersion.TLSv1_2
    uvicorn.Server(config).run()


def _ciphers(legacy: bool, null: bool, chosen: str | None) -> str | None:
    """The server's cipher list: None (Python's own default), or a fault's."""
    if chosen:  # a fault's setting: uvicorn's own default list, say
        return chosen
    if null:  # the fault: NULL suites enabled, as a debugging setting left on
        return "HIGH:eNULL:@SECLEVEL=0"
    return "DEFAULT:@SECLEVEL=0" if legacy else None


if __name__ == "__main__":
    main()
