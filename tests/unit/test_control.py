"""The control file and the API's rate limiter: the sandbox's fault switch and the guide's limit."""

import os

from nbaverify.sandbox import control
from nbaverify.sandbox.api.middleware import FixedWindowLimiter


def test_watcher_sees_every_write(tmp_path):
    path = tmp_path / "control.json"
    watcher = control.Watcher(path)
    assert watcher.current().faults == frozenset()
    control.write(path, {"health_lies"})
    assert watcher.current().on("health_lies")
    written = control.write(path, set())
    os.utime(path, ns=(1, 1))  # even with an identical mtime, the rename changes the inode
    assert (
        not watcher.current().on("health_lies")
        and watcher.current().generation == written.generation
    )


def test_limiter_allows_the_guides_100_per_window_then_refuses():
    limiter = FixedWindowLimiter(limit=100, window_s=900)
    results = [limiter.hit("10.0.0.1", generation=1, now=1000.0) for _ in range(101)]
    assert all(allowed for allowed, _, _ in results[:100]) and results[99][1] == 0
    allowed, remaining, reset = results[100]
    assert not allowed and remaining == 0 and reset == 900
    assert limiter.hit("10.0.0.2", generation=1, now=1000.0)[0]  # per client
    assert limiter.hit("10.0.0.1", generation=1, now=1900.0)[0]  # a new window
    assert limiter.hit("10.0.0.1", generation=2, now=1000.0)[0]  # reconfigured: clean windows
