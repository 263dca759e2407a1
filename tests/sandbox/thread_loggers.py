"""A pytest plugin for tests/sandbox/test_cli.py: notes every logger made by a thread other than the
main one once collection is over, and writes them (name, thread) as JSON to the file
NBAVERIFY_THREAD_LOGGERS names when the run ends."""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

import pytest

MADE: list[tuple[str, str]] = []
_watching = False
_get_logger = logging.Manager.getLogger


def _noting(self: logging.Manager, name: str) -> logging.Logger:
    new = not isinstance(self.loggerDict.get(name), logging.Logger)
    made = _get_logger(self, name)
    if new and _watching and threading.current_thread() is not threading.main_thread():
        MADE.append((name, threading.current_thread().name))
    return made


logging.Manager.getLogger = _noting  # type: ignore[method-assign]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    global _watching
    _watching = True  # before the work the check modules start early


def pytest_unconfigure(config: pytest.Config) -> None:
    Path(os.environ["NBAVERIFY_THREAD_LOGGERS"]).write_text(json.dumps(MADE))
