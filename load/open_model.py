"""The open model: requests arrive at a fixed rate whatever the replies do, and each request's
latency counts from when it was *meant* to be sent (as wrk2 corrects coordinated omission).

One ArrivalRateUser per Locust process schedules its share of the rate on a timetable; a slow or
stalled server makes requests queue up behind the timetable, and that wait is part of their latency,
so a stall cannot hide behind fewer requests the way it does in the closed model.
"""

from __future__ import annotations

import itertools
import time

import common
import gevent
from gevent.pool import Pool
from locust import FastHttpUser, constant, task
from locust.exception import StopUser

_numbers = itertools.count(1)


class ArrivalRateUser(FastHttpUser):
    fixed_count = max(1, common.config()["workers"])  # one a process: Locust deals users out to workers in turn
    wait_time = constant(0)
    host = common.config()["base_url"]
    ssl_context_factory = staticmethod(common.ssl_context)
    insecure = False
    concurrency = common.config()["max_in_flight"]

    def on_start(self) -> None:
        self.headers = {"authorization": f"Bearer {common.mint_token(next(_numbers))}"}
        self.pool = Pool(common.config()["max_in_flight"])

    @task
    def arrive(self) -> None:
        """Walk the timetable of every stage: rate r for d seconds means a request every 1/r s."""
        share = common.config()["workers"] or 1
        for stage in common.config()["arrival_stages"]:
            rate = stage["rate"] / share
            stage_start, sent = time.perf_counter(), 0
            while (intended := stage_start + sent / rate) < stage_start + stage["duration_s"]:
                delay = intended - time.perf_counter()
                if delay > 0:
                    gevent.sleep(delay)
                self.pool.spawn(self.one, intended)
                sent += 1
        self.pool.join(timeout=30)
        raise StopUser  # the timetable is done; the shape ends the run

    def one(self, intended: float) -> None:
        name, path, shape = common.pick()
        with self.client.get(path, name=name, headers=self.headers, catch_response=True) as reply:
            # the wait behind the timetable is latency the user would have seen
            reply.request_meta["response_time"] = (time.perf_counter() - intended) * 1000
            why = common.problem(reply.status_code, reply.content, shape)
            if why:
                reply.failure(why)
