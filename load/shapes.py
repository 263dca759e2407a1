"""The run's stages (ramp-up, plateau, spike...) as Locust's LoadTestShape: users and spawn rate
by elapsed time, from the profile in the expectations; the run ends after the last stage."""

from __future__ import annotations

import common
from locust import LoadTestShape


class StagesShape(LoadTestShape):
    def tick(self):
        elapsed = self.get_run_time()
        for stage in common.config()["stages"]:
            if elapsed < stage["duration_s"]:
                return stage["users"], stage["spawn_rate"]
            elapsed -= stage["duration_s"]
        return None
