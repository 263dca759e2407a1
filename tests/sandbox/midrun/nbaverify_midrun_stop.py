"""A pytest plugin for the self-tests only: mid-run, the sandbox's API and primary die, right after
the first check whose id starts with NBAVERIFY_MIDRUN_AFTER (so database and API checks both
follow).

NBAVERIFY_MIDRUN = "stop" (the processes exit: connections are refused) or "freeze" (SIGSTOP: they
accept connections and never answer, as a hung server does). The id of the last check before the
failure, and the pids stopped, are written to NBAVERIFY_MIDRUN_MARK (JSON).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import psutil

from nbaverify.sandbox import Sandbox

_done: list[str] = []


def pytest_runtest_logfinish(nodeid: str, location) -> None:
    if _done or not nodeid.startswith(os.environ["NBAVERIFY_MIDRUN_AFTER"]):
        return
    _done.append(nodeid)
    sandbox = Sandbox()
    api_pid = sandbox._api_pid()
    primary = int((sandbox.layout.primary_data / "postmaster.pid").read_text().split()[0])
    frozen: list[int] = []
    if os.environ["NBAVERIFY_MIDRUN"] == "stop":
        sandbox._stop_api()
        sandbox.cluster.primary.stop()
    else:
        # the whole server, its backends included (the suite's own session among them), and the
        # whole API: the
        # process the sandbox started is the container-log shim, the server its child
        api = (
            [api_pid, *(c.pid for c in psutil.Process(api_pid).children(recursive=True))]
            if api_pid
            else []
        )
        frozen = [
            pid
            for pid in [
                *api,
                primary,
                *(c.pid for c in psutil.Process(primary).children(recursive=True)),
            ]
            if pid
        ]
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
    Path(os.environ["NBAVERIFY_MIDRUN_MARK"]).write_text(
        json.dumps({"after": nodeid, "frozen": frozen})
    )
