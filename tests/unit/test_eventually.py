"""`eventually` waits for converging state and, when it never converges, says what and for how
long."""

import itertools

import pytest

from nbaverify.eventually import eventually


def test_returns_as_soon_as_the_state_converges():
    lag = itertools.count(3, -1)

    def caught_up():
        seen = next(lag)
        assert seen <= 0, f"lag {seen} bytes"
        return seen

    assert eventually(caught_up, timeout=5, interval=0.01) == 0


def test_a_state_that_never_converges_fails_with_its_last_message_and_the_time_given():
    def stuck():
        raise AssertionError("replica lag 4 MB (limit 1 MB)")

    with pytest.raises(
        AssertionError,
        match=r"^replica lag 4 MB \(limit 1 MB\) \(still so after 0.2s, \d+ attempts\)$",
    ):
        eventually(stuck, timeout=0.2, interval=0.05)


def test_other_errors_are_not_retried():
    calls = []

    def broken():
        calls.append(1)
        raise ConnectionError("refused")

    with pytest.raises(ConnectionError):
        eventually(broken, timeout=5, interval=0.01)
    assert len(calls) == 1
