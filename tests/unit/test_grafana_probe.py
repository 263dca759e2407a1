"""The Grafana comparison against a test double: a stdlib HTTP server answering /api/search.

No Grafana can run here; the double speaks the one endpoint the check uses, over real HTTP.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from nbaverify.errors import CheckError
from nbaverify.probes.monitoring import grafana_dashboard_titles


class FakeGrafana(BaseHTTPRequestHandler):
    """Test double of Grafana's GET /api/search?type=dash-db, requiring a bearer token."""

    def do_GET(self):
        if self.headers.get("authorization") != "Bearer canary-token":
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps([{"title": "API Performance", "type": "dash-db"}, {"title": "Database Health"}]).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def grafana():
    server = HTTPServer(("127.0.0.1", 0), FakeGrafana)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_titles_come_from_grafana_with_the_token(grafana, monkeypatch):
    monkeypatch.setenv("GRAFANA_TOKEN", "canary-token")
    assert grafana_dashboard_titles(grafana, "GRAFANA_TOKEN", 5) == {"API Performance", "Database Health"}


def test_a_wrong_token_is_a_clear_error(grafana, monkeypatch):
    monkeypatch.setenv("GRAFANA_TOKEN", "nope")
    with pytest.raises(CheckError, match=r"/api/search answered 401"):
        grafana_dashboard_titles(grafana, "GRAFANA_TOKEN", 5)


def test_an_unset_token_variable_is_named(grafana, monkeypatch):
    monkeypatch.delenv("GRAFANA_TOKEN", raising=False)
    with pytest.raises(CheckError, match=r"names GRAFANA_TOKEN, which is not set"):
        grafana_dashboard_titles(grafana, "GRAFANA_TOKEN", 5)
