"""`python -m nbaverify.sandbox.api --state-dir DIR --port-base N`: serve the reference API."""

from __future__ import annotations

import logging
import ssl
import warnings

import uvicorn

from nbaverify.sandbox import control
from nbaverify.sandbox.api.app import create_app
from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.secrets import SandboxSecrets


def main() -> None:
    layout = Layout.from_service_argv(__doc__)
    secrets = SandboxSecrets.load(layout)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(secrets.api_settings(layout))
    legacy_tls = control.read(layout.control_file).on("tls_legacy")  # TLS is set at start: the fault restarts the API
    config = uvicorn.Config(app, host="127.0.0.1", port=layout.api_port, ssl_certfile=str(layout.cert_file),
                            ssl_keyfile=str(layout.key_file), log_level="warning", access_log=False,
                            server_header=False, timeout_graceful_shutdown=2,
                            ssl_ciphers="DEFAULT:@SECLEVEL=0" if legacy_tls else None)  # None: uvicorn's default
    config.load()
    if legacy_tls:  # the fault: a server that still offers TLS 1.0 and 1.1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            assert config.ssl is not None  # load() built it from the certificate above
            config.ssl.minimum_version = ssl.TLSVersion.TLSv1
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
