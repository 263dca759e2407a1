"""Rule: counters are judged by their change since the previous run, never by their totals."""

import datetime as dt

from nbaverify.check_memory import History
from nbaverify.probes import counters

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def run(tmp_path, readings, at, epoch="2026-10-01T00:00:00+00:00", min_window_s=0.0):
    history = History("t", tmp_path)
    change = counters.since_last_run(
        history, "k", readings, epoch=epoch, now=at, min_window_s=min_window_s
    )
    history.save()
    return change


def test_the_first_run_only_records_a_baseline(tmp_path):
    assert run(tmp_path, {"idx": {"scans": 500}}, T0) is None
    assert "baseline" in counters.first_run_note()


def test_an_incident_that_stopped_no_longer_fails_the_next_run(tmp_path):
    run(tmp_path, {"player_stats": {"seq_scan": 9000, "idx_scan": 10}}, T0)  # the incident's totals
    change = run(
        tmp_path, {"player_stats": {"seq_scan": 9000, "idx_scan": 900}}, T0 + dt.timedelta(days=1)
    )
    assert change.deltas["player_stats"] == {"seq_scan": 0, "idx_scan": 890}
    assert (
        change.since.startswith("the previous run at 2026-11-01T00:00:00")
        and change.window_s == 86400
    )


def test_a_statistics_reset_in_between_makes_the_current_values_the_change(tmp_path):
    run(tmp_path, {"a": {"n": 100}}, T0)
    change = run(
        tmp_path, {"a": {"n": 7}}, T0 + dt.timedelta(hours=5), epoch="2026-11-01T04:00:00+00:00"
    )
    assert (
        change.deltas["a"] == {"n": 7}
        and change.since == "the statistics reset at 2026-11-01T04:00:00Z"
    )
    assert change.window_s == 3600


def test_one_object_reset_alone_counts_from_its_reset(tmp_path):
    run(tmp_path, {"a": {"n": 100}, "b": {"n": 5}}, T0)
    change = run(tmp_path, {"a": {"n": 3}, "b": {"n": 9}}, T0 + dt.timedelta(hours=1))
    assert change.deltas == {"a": {"n": 3}, "b": {"n": 4}}


def test_objects_that_appeared_in_the_window_are_new(tmp_path):
    run(tmp_path, {"old": {"scans": 1}}, T0)
    change = run(
        tmp_path, {"old": {"scans": 1}, "created": {"scans": 0}}, T0 + dt.timedelta(days=7)
    )
    assert change.new == frozenset({"created"}) and change.deltas["old"] == {"scans": 0}


def test_a_window_too_short_keeps_the_older_baseline(tmp_path):
    week = 7 * 86400
    run(tmp_path, {"i": {"scans": 10}}, T0, min_window_s=week)
    assert run(tmp_path, {"i": {"scans": 10}}, T0 + dt.timedelta(days=3), min_window_s=week) is None
    change = run(tmp_path, {"i": {"scans": 12}}, T0 + dt.timedelta(days=8), min_window_s=week)
    assert change.deltas["i"] == {"scans": 2} and change.window_s == 8 * 86400
