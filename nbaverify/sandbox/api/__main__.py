"""`python -m nbaverify.sandbox.api --state-dir DIR --port-base N`: serve the reference API."""

from __future__ import annotations

import logging

import uvicorn

from nbaverify.sandbox.api.app import create_app
from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.secrets import SandboxSecrets


def main() -> None:
    layout = Layout.from_service_argv(__doc__)
    secrets = SandboxSecrets.load(layout)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(secrets.api_settings(layout))
    uvicorn.run(app, host="127.0.0.1", port=layout.api_port, ssl_certfile=str(layout.cert_file),
                ssl_keyfile=str(layout.key_file), log_level="warning", access_log=False,
                server_header=False, timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
