"""The clients that reach the platform; checks receive them as session fixtures, never build
them."""

from nbaverify.clients.api import ApiClient
from nbaverify.clients.db import Database

__all__ = ["ApiClient", "Database"]
