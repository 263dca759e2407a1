"""The closed model: virtual users that send the platform's traffic mix, each waiting for its reply.

Each user mints its own token and keeps its own connection; dynamic URLs are grouped by name; every
response is checked, and a wrong one fails with the reason (HTTP status, rate limited, a health
that is not ok).
"""

from __future__ import annotations

import itertools

import common
from locust import User, between, task
from sender import Sender

_numbers = itertools.count(1)


class ApiTrafficUser(User):
    wait_time = between(*common.config()["think_time_s"])
    host = common.config()["base_url"]

    def on_start(self) -> None:
        self.sender = Sender(self.environment.events.request, common.mint_token(next(_numbers)))

    def on_stop(self) -> None:
        self.sender.close()

    @task
    def request(self) -> None:
        self.sender.get(*common.pick())
