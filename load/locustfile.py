"""The locustfile `nbaverify load` runs: the scenarios the run's model calls for, and its stages.

Closed model: ApiTrafficUser (the traffic mix) and LiveSubscriber (/ws/live). Open model:
ArrivalRateUser (a fixed arrival rate, latency from the intended send time), which the capacity
search drives step by step (search.py). Locust collects the
User classes and the shape it finds in this module.
"""

import common
from locust import stats

if common.config().get("search"):  # the capacity search: nbaverify sets each step (search.py)
    from search import SearchShape  # noqa: F401  (Locust finds the shape here)
else:
    from shapes import StagesShape  # noqa: F401

stats.CSV_STATS_FLUSH_INTERVAL_SEC = 2  # the runner's progress line reads the history file

if common.config()["model"] == "open":
    from open_model import ArrivalRateUser  # noqa: F401
else:
    from api_traffic import ApiTrafficUser  # noqa: F401

    if common.config()["live_subscribers"]:
        from live_subscriber import LiveSubscriber  # noqa: F401
