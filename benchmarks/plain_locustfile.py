"""Plain Locust, for benchmarks/load.py's baseline: one FastHttpUser at full speed, no nbaverify."""

from locust import FastHttpUser, constant, task


class PlainUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def health(self):
        self.client.get("/health")
