"""The capacity search inside Locust: one run for the whole search, its steps chosen by nbaverify.

nbaverify writes the next step to the run's control file; SearchShape (on the master, or the only
process) relays each new step to every process's ArrivalRateUser as a Locust message, and every
second writes the figures so far, every entry's histogram included, for nbaverify to judge the step.
One run rather than one a step: remote workers stay connected, and no step pays Locust's start-up.
"""

from __future__ import annotations

import json
import os
import time

import common
from gevent.queue import Queue
from locust import LoadTestShape, events, runners
from locust.runners import MasterRunner

MESSAGE = "nbaverify_step"
# workers report each second (not 3): a step's figures are complete sooner
runners.WORKER_REPORT_INTERVAL = 1.0
steps: Queue = Queue()  # the steps this process's ArrivalRateUser is to offer, in order


@events.init.add_listener
def _listen(environment, **_kwargs) -> None:
    if not isinstance(environment.runner, MasterRunner):  # the processes that send the requests
        environment.runner.register_message(
            MESSAGE, lambda environment, msg, **_kw: steps.put(msg.data)
        )


def _write(path: str, body: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as fh:
        json.dump(body, fh)
    os.replace(tmp, path)


class SearchShape(LoadTestShape):
    """One ArrivalRateUser a process for as long as the search lasts; it ends when nbaverify says
    so."""

    sent = 0

    def tick(self):
        search = common.config()["search"]
        try:
            with open(search["control_file"]) as fh:
                control = json.load(fh)
        except (OSError, ValueError):
            control = {}
        if control.get("done"):
            return None
        step = control.get("step")
        if step and step["number"] > self.sent:
            self.runner.send_message(MESSAGE, step)
            self.sent = step["number"]
        stats = self.runner.stats
        _write(
            search["stats_file"],
            {
                "written_at": time.time(),
                "relayed": self.sent,
                "workers": common.config()["workers"],
                "entries": [entry.serialize() for entry in stats.entries.values()],
                "errors": list(stats.serialize_errors().values()),
            },
        )
        users = max(1, common.config()["workers"])
        return users, users
