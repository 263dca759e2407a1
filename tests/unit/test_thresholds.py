import pytest

from nbaverify.expectation_values import LagThreshold


@pytest.mark.parametrize(
    ("text", "lag", "alarm"),
    [
        ("16MB", (17_000_000, 0), True),
        ("16MB", (1_000, 999), False),
        ("30s", (10**12, 29.0), False),
        ("16MB or 30s", (0, 31.0), True),
        ("16MB or 30s", (17_000_000, 0), True),
        ("16MB and 30s", (17_000_000, 0), False),  # check_postgres: both must be exceeded
        ("16MB and 30s", (17_000_000, 31), True),
        ("1 kB or 2 min", (0, 121), True),
    ],
)
def test_lag_threshold_follows_check_postgres(text, lag, alarm):
    assert LagThreshold.parse(text).exceeded(*lag) is alarm


def test_description_comes_from_the_numbers():
    assert LagThreshold.parse("1MB or 5s").describe() == "1048576 bytes or 5s"
    assert LagThreshold.parse("2min and 1kB").describe() == "1024 bytes and 120s"


@pytest.mark.parametrize("text", ["", "fast", "16MB or 30s or 1h", "16 parsecs", "16MB and 32MB"])
def test_nonsense_is_refused(text):
    with pytest.raises(ValueError):
        LagThreshold.parse(text)
