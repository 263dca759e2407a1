"""`python -m nbaverify.sandbox.kube --state-dir DIR --port-base N`: serve the Kubernetes API test double."""

from __future__ import annotations

import logging

import uvicorn

from nbaverify.sandbox.kube.app import create_app
from nbaverify.sandbox.kube.pod_logs import ApiLogFiles
from nbaverify.sandbox.layout import Layout


def main() -> None:
    layout = Layout.from_service_argv(__doc__)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(layout.k8s_manifests, layout.control_file, layout.k8s_token_file.read_text().strip(),
                     api_logs=ApiLogFiles.of(layout), scale_file=layout.scale_file)
    uvicorn.run(app, host="127.0.0.1", port=layout.k8s_port, log_level="warning", access_log=False,
                server_header=False, timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
