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
from locust import User, constant, task
from locust.exception import StopUser
from sender import Sender

_numbers = itertools.count(1)


class ArrivalRateUser(User):
    # one a process: Locust deals users out to workers in turn
    fixed_count = max(1, common.config()["workers"])
    wait_time = constant(0)
    host = common.config()["base_url"]

    def on_start(self) -> None:
        in_flight = common.config()["max_in_flight"]
        token = common.mint_token(next(_numbers))
        self.sender = Sender(self.environment.events.request, token, concurrency=in_flight)
        self.pool = Pool(in_flight)

    def on_stop(self) -> None:
        self.sender.close()

    @task
    def arrive(self) -> None:
        """Walk the timetable of every stage: rate r for d seconds means a request every 1/r s."""
        if common.config().get("search"):
            self.follow_the_search()
        self.walk(common.config()["arrival_stages"])
        self.pool.join(timeout=30)
        raise StopUser  # the timetable is done; the shape ends the run

    def walk(self, stages: list[dict]) -> None:
        share = common.config()["workers"] or 1
        for stage in stages:
            rate = stage["rate"] / share
            stage_start, sent = time.perf_counter(), 0
            if rate <= 0:  # a quiet hour of a replayed day: nobody arrives
                gevent.sleep(stage["duration_s"])
                continue
            while (intended := stage_start + sent / rate) < stage_start + stage["duration_s"]:
                delay = intended - time.perf_counter()
                if delay > 0:
                    gevent.sleep(delay)
                self.pool.spawn(self.one, intended, stage.get("phase"))
                sent += 1

    def follow_the_search(self) -> None:
        """The capacity search: each step as nbaverify sends it (search.py), its warm-up and judged
        part named apart by step; what is still unanswered a drain after the step is cut, so no
        step's backlog spills into the next one."""
        # only in a capacity search: importing search.py sets Locust's worker report interval and
        # registers its step messages, which a plain open-model run must not
        from search import steps

        while True:
            step = steps.get()
            label = f"s{step['number']:02d}"
            self.walk(
                [
                    {
                        "duration_s": step["warmup_s"],
                        "rate": step["rate"],
                        "phase": f"{label} warm-up",
                    },
                    {"duration_s": step["judged_s"], "rate": step["rate"], "phase": label},
                ]
            )
            self.pool.join(timeout=step["drain_s"])
            self.pool.kill(block=False)

    def one(self, intended: float, phase: str | None) -> None:
        name, path, shape = common.pick()
        if phase:
            # the capacity search's steps: their own request names, so each is judged alone, without
            # its warm-up
            name = f"{phase}: {name}"
        # the wait behind the timetable is latency the user would have seen
        self.sender.get(name, path, shape, since=intended)
