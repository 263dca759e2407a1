"""The sandbox at scale: its seed, the disk it needs, the Kubernetes double's pages."""

from __future__ import annotations

import base64

import pytest
from starlette.requests import Request

from nbaverify.errors import SandboxError
from nbaverify.sandbox import postgres
from nbaverify.sandbox.kube.app import _page
from nbaverify.sandbox.layout import Layout
from nbaverify.shipped import SQL as SQL_DIR


def test_a_scale_seeds_as_many_times_the_seasons():
    seed = (SQL_DIR / "seed.sql").read_text()
    assert postgres.seasons_for(seed, 1) == seed
    assert "generate_series(1886, 2025) AS s" in postgres.seasons_for(seed, 10)
    assert "generate_series(626, 2025) AS s" in postgres.seasons_for(seed, 100)


def test_a_disk_too_small_is_refused_before_anything_is_made(tmp_path, monkeypatch):
    monkeypatch.setattr(postgres.shutil, "disk_usage", lambda path: type("Usage", (), {"free": 4 << 30})())
    cluster = postgres.Cluster(Layout(tmp_path / "sb", 29430), {})
    with pytest.raises(SandboxError, match=r"^seeding scale 100 needs about 56 GiB under \S+ \(data, replica, base "
                                           r"backup and WAL archive\), 4 GiB are free; choose a smaller --scale"):
        cluster.initialise(lambda line: None, scale=100)
    assert not (tmp_path / "sb").exists()


def request(query: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/api/v1/pods", "query_string": query.encode(),
                    "headers": []})


def test_lists_are_served_in_pages_with_a_continue_token():
    items = [{"n": n} for n in range(7)]
    first, more = _page(request("limit=3"), items)
    assert first == items[:3] and more["remainingItemCount"] == 4
    second, more = _page(request(f"limit=3&continue={more['continue']}"), items)
    last, done = _page(request(f"limit=3&continue={more['continue']}"), items)
    assert second == items[3:6] and last == items[6:] and done == {}
    assert _page(request(""), items) == (items, {})
    with pytest.raises(ValueError):
        _page(request(f"limit=3&continue={base64.urlsafe_b64encode(b'x').decode()}"), items)
