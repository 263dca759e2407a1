"""The built-in sandbox target: real PostgreSQL primary + replica, the reference API, Prometheus."""

from nbaverify.sandbox.layout import Layout
from nbaverify.sandbox.manager import Sandbox

__all__ = ["Layout", "Sandbox"]
