"""Reading logs as a reviewer would, in the formats platforms write; and the double's kubelet
cuts."""

from __future__ import annotations

import datetime as dt

from nbaverify.log_records import records
from nbaverify.probes.logs import (
    Refusal,
    holding_tokens,
    normalise_path,
    per_hour,
    refused_shares,
    route_key,
    slow_paths,
)
from nbaverify.redact import scrub
from nbaverify.sandbox.api_logs import ApiLogFiles

NODE = """\
2026-12-01T10:00:00.100Z warn Slow response: /api/players/123 took 1500ms
2026-12-01T10:00:01.000Z error GET /api/players/7: Error: boom
    at Layer.handle (/app/node_modules/koa/lib/application.js:10:5)
    at next (/app/server.js:200:3)
2026-12-01T10:00:02.000Z warn Slow response: /api/players/9?season=2024 took 1100ms
"""

PYTHON = """\
2026-12-01T10:00:00.000Z error cache refresh failed
Traceback (most recent call last):
  File "/app/middleware.py", line 10, in refresh
    raise ConnectionRefusedError("no cache")
ConnectionRefusedError: no cache
2026-12-01T10:00:01.000Z warn Invalid HTTP request received.
"""


def test_node_lines_make_records_with_their_stack_frames():
    found = records(NODE, "pod-a")
    assert [r.level for r in found] == ["warn", "error", "warn"]
    assert [r.traced for r in found] == [False, True, False]
    assert found[1].message == "GET /api/players/7: Error: boom"


def test_a_python_traceback_belongs_to_its_line_and_its_exception_closes_the_headline():
    first, second = records(PYTHON, "pod-a")
    assert first.traced and not second.traced and first.level == "error" and second.level == "warn"
    assert first.headline() == "cache refresh failed ... ConnectionRefusedError: no cache"


def test_kubelet_timestamps_are_stripped_and_used_when_the_app_writes_none():
    text = (
        "2026-12-01T10:00:00.123456789Z ERROR database timeout\n"
        "2026-12-01T10:00:01.000000000Z INFO served\n"
    )
    found = records(text, "pod-a", kubelet_stamps=True)
    assert [r.level for r in found] == ["error", "info"]
    assert found[0].at == dt.datetime(2026, 12, 1, 10, 0, 0, 123456, dt.UTC)


def test_kubelet_stamps_before_the_apps_own_and_a_trace_under_them():
    stamped = "".join(
        f"2026-12-01T10:00:0{n}.000000000Z {line}\n" for n, line in enumerate(PYTHON.splitlines())
    )
    first, second = records(stamped, "pod-a", kubelet_stamps=True)
    assert second.level == "warn" and not second.traced
    assert (
        first.traced
        and first.headline() == "cache refresh failed ... ConnectionRefusedError: no cache"
    )


def test_json_lines_of_winston_and_pino():
    text = (
        '{"level":"error","message":"db down","timestamp":"2026-12-01T10:00:00.000Z"}\n'
        '{"level":50,"time":1764583200000,"msg":"pool exhausted"}\n'
        '{"level":40,"time":1764583200000,"msg":"Slow response: /api/projections/5 took 2300ms"}\n'
    )
    found = records(text, "pod-a")
    assert [(r.level, r.message) for r in found] == [
        ("error", "db down"),
        ("error", "pool exhausted"),
        ("warn", "Slow response: /api/projections/5 took 2300ms"),
    ]
    assert all(r.at is not None for r in found)


def test_slow_responses_per_path_with_ids_folded():
    (players,) = slow_paths(records(NODE, "pod-a"))
    assert (players.path, players.count, players.max_ms) == ("/api/players/{id}", 2, 1500.0)
    assert 1100 < players.p95_ms <= 1500
    assert (
        normalise_path("/api/games/550e8400-e29b-41d4-a716-446655440000/stats")
        == "/api/games/{id}/stats"
    )


def test_a_young_log_is_not_a_flood():
    assert per_hour(3, covered_s=60) == 3.0  # three lines in a minute are three, not 180 an hour
    assert per_hour(48, covered_s=48 * 3600) == 1.0


def test_scrub_masks_tokens_and_credentials_by_their_shape():
    line = (
        "failed (db postgresql://nba_app:hunter22@db:5432/nba, Authorization: Bearer"
        " eyJhbGciOi.eyJzdWIi.c2ln) api_key=abc123 token eyJx.eyJy.z"
    )
    out = scrub(line)
    assert "hunter22" not in out and "eyJ" not in out and "abc123" not in out
    assert "postgresql://nba_app:***@db:5432/nba" in out


def test_a_rollout_keeps_the_old_log_as_previous_and_starts_empty(tmp_path):
    files = ApiLogFiles(
        tmp_path / "api.log",
        tmp_path / "api.previous.log",
        tmp_path / "api.cri.log",
        tmp_path / "api.previous.cri.log",
        tmp_path / "api.rollout",
    )
    files.current.write_text(NODE)
    files.current_cri.write_text("2026-12-01T10:00:00.000000000Z stdout F one\n")
    with files.current.open("a") as writer, files.current_cri.open("a") as cri:
        # the writers' handles stay valid
        files.roll(dt.datetime(2026, 12, 1, 11, tzinfo=dt.UTC))
        writer.write("after\n")
        cri.write("2026-12-01T11:00:00.000000000Z stdout F after\n")
    assert files.previous.read_text() == NODE and files.current.read_text() == "after\n"
    assert files.previous_cri.read_text().endswith(
        " stdout F one\n"
    ) and files.current_cri.read_text().endswith("F after\n")
    assert files.started() == dt.datetime(2026, 12, 1, 11, tzinfo=dt.UTC)


def test_refusals_from_the_apis_own_lines_and_a_combined_access_log():
    from nbaverify.probes.logs import refusals

    own = records(
        "2026-12-01T10:00:00.000Z warn Access refused: 401 GET /api/players/12 from 203.0.113.7"
        ' ua="curl/8.1"\n2026-12-01T10:00:01.000Z warn Slow response: /api/players took 1200ms\n',
        "pod-a",
    )
    combined = records(
        '203.0.113.9 - - [01/Dec/2026:10:00:00 +0000] "GET /api/games/5/stats HTTP/1.1" 429 31 "-"'
        ' "python-requests/2.31.0"\n203.0.113.9 - - [01/Dec/2026:10:00:01 +0000] "GET'
        ' /api/games/5/stats HTTP/1.1" 200 512 "-" "x"\n',
        "ingress",
    )
    assert [(r.status, r.path, r.client, r.agent) for r in refusals(own + combined)] == [
        (401, "/api/players/{id}", "203.0.113.7", "curl/8.1"),
        (429, "/api/games/{id}/stats", "203.0.113.9", "python-requests/2.31.0"),
    ]


def test_a_read_narrowed_to_a_shorter_window():
    from nbaverify.clients.logs import LogStream
    from nbaverify.probes.logs import LogWindow

    now = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    text = "2026-11-10T12:00:00.000Z error old\n2026-12-01T11:00:00.000Z error new\n"

    class Source:
        description = "test"

        def read(self, window_s):
            return [LogStream("s", text)]

    month = LogWindow.read([Source()], 30 * 86400, now=now)
    assert [r.message for r in month.records] == ["old", "new"]
    assert [r.message for r in month.last(86400, now=now).records] == ["new"]


def test_route_templates_and_logged_paths_are_one_route():
    assert {
        route_key("GET", r)
        for r in ("/api/players/{id}", "/api/players/:id", "/api/players/{player_id}")
    } == {"GET /api/players/{id}"}
    assert route_key("get", "/api/players/{id}/stats?season=2024") == "GET /api/players/{id}/stats"
    assert route_key("GET", "/api/players") == "GET /api/players"


def test_the_refused_share_of_each_route_against_every_request():
    def refusal(status: int, path: str, client: str = "10.0.0.9") -> Refusal:
        return Refusal(status, "GET", path, client, "curl/8")

    found = (
        [refusal(401, "/api/players")] * 60
        + [refusal(403, "/api/players/{id}", "10.0.0.1")] * 5
        + [refusal(429, "/api/players")] * 50
        + [refusal(401, "/api/unknown")] * 3
    )
    totals = {"GET /api/players": 240.0, "GET /api/players/{id}": 2.5}
    shares, unmatched = refused_shares(found, totals)
    assert [(s.route, s.refused, s.total) for s in shares] == [
        ("GET /api/players/{id}", 5, 5),
        ("GET /api/players", 60, 240),
    ]
    # 429s are not refusals of a token
    assert shares[1].share == 0.25 and shares[1].clients == (("10.0.0.9", 60),)
    assert unmatched == ["GET /api/unknown"]


def test_a_route_the_metrics_know_but_count_none_of_is_judged_on_its_refusals():
    # a 401 series new in a short window: increase() counts nothing before its first scrape
    found = [Refusal(401, "GET", "/api/players", f"127.0.0.{n}", "ingest/3") for n in range(200)]
    shares, unmatched = refused_shares(found, {"GET /api/players": 0.0})
    assert [(s.route, s.refused, s.total, s.share) for s in shares] == [
        ("GET /api/players", 200, 200, 1.0)
    ]
    assert unmatched == []


def test_a_token_anywhere_in_a_record_is_found_and_its_sample_blanks_it():
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
    text = (
        f'2026-12-01T10:00:00.000Z warn Request: authorization="Bearer {token}"\n'
        f"2026-12-01T10:00:01.000Z info GET /ws/live?token={token} 101\n"
        "2026-12-01T10:00:02.000Z warn Slow response: /api/players/1 took 1200ms\n"
        "2026-12-01T10:00:03.000Z warn a header eyJhbGciOiJIUzI1NiJ9 alone is not a token\n"
    )
    holding = holding_tokens(records(text, "pod-a"))
    assert [r.message.split()[0] for r in holding] == ["Request:", "GET"]
    assert token not in holding[0].sample(1) and token not in holding[1].sample(1)


def test_an_access_line_among_the_apps_own_is_a_record_of_its_own_at_its_own_time():
    # an app that writes its lines and a request line each (morgan beside winston), read through the
    # kubelet: the request line is neither the record before it nor timeless, so a token in it is
    # named by its own line
    stamped = (
        '2026-12-01T10:00:00.000000000Z 2026-12-01T10:00:00.000Z info Token accepted: sub="x" from'
        ' 127.0.0.3\n2026-12-01T10:00:02.000000000Z 127.0.0.3 - - [01/Dec/2026:10:00:01 +0000] "GET'
        ' /ws/live?token=abc HTTP/1.1" 101 - "-" "python"\n'
    )
    accepted, request = records(stamped, "pod-a", kubelet_stamps=True)
    assert accepted.lines == [
        '2026-12-01T10:00:00.000Z info Token accepted: sub="x" from 127.0.0.3'
    ]
    assert request.at == dt.datetime(2026, 12, 1, 10, 0, 1, tzinfo=dt.UTC) and request.level == ""
    assert request.sample(1).startswith(
        '127.0.0.3 - - [01/Dec/2026:10:00:01 +0000] "GET /ws/live?token='
    )
