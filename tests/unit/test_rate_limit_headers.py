"""The limiter's view read from either library's headers: express-rate-limit's RateLimit-* (seconds
to the reset) and koa-ratelimit's X-RateLimit-* (the reset as a Unix time)."""

from __future__ import annotations

from nbaverify.probes import rate_limit

NOW = 1_796_000_000.0


def test_the_draft_headers_give_seconds_to_the_reset():
    view = rate_limit.view({"ratelimit-remaining": "97", "ratelimit-reset": "840"}, NOW)
    assert (view.remaining, view.reset_in_s) == (97, 840.0)


def test_koa_ratelimit_gives_the_reset_as_a_unix_time():
    view = rate_limit.view(
        {"x-ratelimit-remaining": "12", "x-ratelimit-reset": str(NOW + 899.6)}, NOW
    )
    assert view.remaining == 12 and abs(view.reset_in_s - 899.6) < 1e-6


def test_a_reply_without_a_count_has_no_view():
    assert rate_limit.view({"retry-after": "30"}, NOW) is None
    assert rate_limit.view({"ratelimit-remaining": "lots"}, NOW) is None


def test_a_429_without_a_reset_header_falls_back_to_retry_after():
    assert rate_limit.reset_in({"retry-after": "42"}, NOW) == 42.0


def test_counted_is_none_when_the_window_turned():
    before = rate_limit.LimiterView(3, 2.0, NOW)
    assert rate_limit.counted(before, rate_limit.LimiterView(1, 1.0, NOW + 1)) == 2
    assert rate_limit.counted(before, rate_limit.LimiterView(99, 900.0, NOW + 3)) is None


def _counts(*remaining: int) -> list:
    return [rate_limit.LimiterView(left, None, NOW + i) for i, left in enumerate(remaining)]


def test_one_count_falls_by_one_and_may_turn_once():
    assert rate_limit.stalls(_counts(5, 4, 3, 2), 100) == []
    assert rate_limit.stalls([None, *_counts(3, 2, 1, 0)], 100) == []
    assert rate_limit.stalls(_counts(2, 1, 99, 98), 100) == []  # the window turned


def test_two_counts_answering_in_turn_are_stalls():
    assert rate_limit.stalls(_counts(90, 97, 89, 96, 88), 100) == [(90, 97), (89, 96)]
    # a second instance's first count looks like a turn of the window, once
    assert rate_limit.stalls(_counts(90, 99, 89, 98, 88), 100) == [(89, 98)]
    assert rate_limit.stalls(_counts(50, 50, 49), 100) == [(50, 50)]


def test_a_second_turn_of_the_window_is_a_stall():
    assert rate_limit.stalls(_counts(1, 99, 98, 99), 100) == [(98, 99)]
