"""The Grafana comparison against a test double: a stdlib HTTP server answering /api/search.

No Grafana can run here; the double speaks the one endpoint the check uses, over real HTTP.
"""

import pytest

from nbaverify.clients.grafana import Grafana
from nbaverify.config import load_target
from nbaverify.errors import CheckError
from tests.unit.http_doubles import JsonHandler, serving


class FakeGrafana(JsonHandler):
    """Test double of Grafana's GET /api/search?type=dash-db, requiring a bearer token."""

    def do_GET(self):
        if self.headers.get("authorization") != "Bearer canary-token":
            self.reply(401)
            return
        self.reply(
            200, [{"title": "API Performance", "type": "dash-db"}, {"title": "Database Health"}]
        )


@pytest.fixture
def grafana():
    with serving(FakeGrafana) as url:
        yield url


def test_titles_come_from_grafana_with_the_token(grafana):
    assert Grafana(grafana, token="canary-token", timeout_s=5).dashboard_titles() == {
        "API Performance",
        "Database Health",
    }


def test_a_wrong_token_is_a_clear_error(grafana):
    with pytest.raises(CheckError, match=r"/api/search answered 401"):
        Grafana(grafana, token="nope", timeout_s=5).dashboard_titles()


def test_grafana_is_where_the_profile_says_and_its_token_a_secret_like_the_others(tmp_path):
    profile = tmp_path / "t.toml"
    profile.write_text(
        'name = "t"\nenvironment = "staging"\n[grafana]\nurl = "http://g:3000"\ntoken_env ='
        ' "G_TOKEN"\n'
    )
    with pytest.raises(
        Exception, match=r"grafana.token_env: environment variable G_TOKEN is not set"
    ):
        load_target(str(profile), environ={})
    target = load_target(str(profile), environ={"G_TOKEN": "canary-token"})
    # redacted
    assert (
        target.profile.grafana.url == "http://g:3000" and "canary-token" in target.secret_values()
    )
