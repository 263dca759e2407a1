"""The optional parts of the install: a missing one is a one-line error naming the pip command."""

from __future__ import annotations

from importlib.util import find_spec

from nbaverify.errors import MissingExtra

EXTRAS = {
    "sandbox": ("starlette", "uvicorn", "websockets", "psycopg_pool", "trustme"),
    "load": ("locust", "matplotlib", "psutil"),
}


def require(extra: str, modules: tuple[str, ...] | None = None) -> None:
    missing = [name for name in modules or EXTRAS[extra] if find_spec(name) is None]
    if missing:
        raise MissingExtra(extra, missing)
