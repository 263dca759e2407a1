"""Live game updates: virtual users hold /ws/live open for a while, as the platform's clients do.

The connection is reported as `WS /ws/live connect` (its time is the handshake's); a refused
connection is a failure. Pushed messages are counted, not timed as requests (their spacing is the
feed's rhythm, not latency): a feed silent for longer than `max_gap_s` fails as `WS /ws/live feed`.
"""

from __future__ import annotations

import itertools
import time

import common
import websocket
from locust import User, constant, task

_numbers = itertools.count(1)


class LiveSubscriber(User):
    fixed_count = common.config()["live_subscribers"]
    wait_time = constant(1)

    @task
    def listen(self) -> None:
        url = common.config()["base_url"].replace("https://", "wss://").replace("http://", "ws://")
        url += common.config()["ws_path"]
        token = common.mint_token(10_000 + next(_numbers))
        fire = self.environment.events.request.fire
        started = time.perf_counter()
        try:
            ws = websocket.create_connection(
                url,
                header=[f"Authorization: Bearer {token}"],
                timeout=common.config()["ws_max_gap_s"],
                sslopt={"context": common.ssl_context()},
            )
        except Exception as exc:  # noqa: BLE001 - any refusal is the failure being measured
            fire(
                request_type="WS",
                name="/ws/live connect",
                response_time=(time.perf_counter() - started) * 1000,
                response_length=0,
                exception=exc,
            )
            return
        fire(
            request_type="WS",
            name="/ws/live connect",
            response_time=(time.perf_counter() - started) * 1000,
            response_length=0,
            exception=None,
        )
        last, messages, max_gap = time.perf_counter(), 0, common.config()["ws_max_gap_s"]
        try:
            while time.perf_counter() - started < 10:  # then reconnect, as browsers come and go
                ws.recv()
                now = time.perf_counter()
                if now - last > max_gap:
                    raise TimeoutError(f"no live update for {now - last:.1f}s (max {max_gap:g}s)")
                last, messages = now, messages + 1
            fire(
                request_type="WS",
                name="/ws/live feed",
                response_time=0,
                response_length=messages,
                exception=None,
            )
        except Exception as exc:  # noqa: BLE001 - a stalled or broken feed is the failure being measured
            fire(
                request_type="WS",
                name="/ws/live feed",
                response_time=0,
                response_length=messages,
                exception=exc,
            )
        finally:
            ws.close()
