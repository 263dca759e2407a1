"""The closed model: virtual users that send the platform's traffic mix, each waiting for its reply.

Each user mints its own token; dynamic URLs are grouped with name=; every response is checked,
and a wrong one fails with the reason (HTTP status, rate limited, a health that is not ok).
"""

from __future__ import annotations

import itertools

import common
from locust import FastHttpUser, between, task

_numbers = itertools.count(1)


class ApiTrafficUser(FastHttpUser):
    wait_time = between(*common.config()["think_time_s"])
    host = common.config()["base_url"]
    ssl_context_factory = staticmethod(common.ssl_context)
    insecure = False

    def on_start(self) -> None:
        self.headers = {"authorization": f"Bearer {common.mint_token(next(_numbers))}"}

    @task
    def request(self) -> None:
        name, path, shape = common.pick()
        with self.client.get(path, name=name, headers=self.headers, catch_response=True) as reply:
            why = common.problem(reply.status_code, reply.content, shape)
            if why:
                reply.failure(why)
