"""API faults: switched in the running reference API through control.json (no restart)."""

from __future__ import annotations

from nbaverify.sandbox.faults import fault

HEALTH = "checks/test_health.py"

fault(
    name="no_response_time_header", area="api",
    breaks="responses lose the X-Response-Time header the guide's timing middleware sets",
    caught_by=(f"{HEALTH}::check_response_time_header",),
    expect=r"X-Response-Time",
)
