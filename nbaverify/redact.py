"""Keeps secret values out of everything nbaverify writes: messages, reports, terminal lines."""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MASK = "***"
MIN_SECRET_LEN = 4  # masking "a" everywhere would make every report unreadable


class Redactor:
    """Masks known secret values (as ***) in whatever nbaverify writes; calling it on a text returns
    the text redacted.

    It holds the values it was given: `add` takes one (anything shorter than MIN_SECRET_LEN is
    ignored, and a DSN brings its password along), and the longest are masked first, so a DSN goes
    whole before its password alone. The run keeps one (plugins.record.Run.redactor), fed with the
    target's secrets, for check messages, evidence and waivers; the API client adds every token it
    signs. Text from outside, such as a log line, needs `scrub`, which knows secrets by their shape
    instead."""

    def __init__(self, values=()):
        self._values: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: str | None) -> None:
        if not value or len(value) < MIN_SECRET_LEN:
            return
        self._values.add(value)
        for part in _dsn_passwords(value):
            self._values.add(part)

    def __call__(self, text: str) -> str:
        # longest first, so a DSN is masked whole before its password alone would be
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, MASK)
        return text


def _dsn_passwords(value: str) -> list[str]:
    found = []
    if "://" in value:
        try:
            password = urlsplit(value).password
        except ValueError:
            password = None
        if password:
            found += [password, unquote(password)]
    for token in value.split():
        if token.startswith("password="):
            found.append(token.split("=", 1)[1].strip("'\""))
    return [p for p in found if len(p) >= MIN_SECRET_LEN]


# what an application's own log may carry that no profile names: tokens, credentials in URLs,
# key=value secrets
_SCRUB = [
    (re.compile(r"\b(Bearer|Basic)\s+[\w.~+/=-]+", re.IGNORECASE), r"\1 " + MASK),
    (re.compile(r"\beyJ[\w-]*\.[\w-]*\.[\w-]*"), MASK),  # a JWT, wherever it is quoted
    (
        re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/?#@\s]+:)[^@\s]+@", re.IGNORECASE),
        r"\1" + MASK + "@",
    ),
    (
        re.compile(
            r"\b(password|passwd|pwd|secret|token|api[_-]?key)(\s*[=:]\s*)[^\s,;&]+", re.IGNORECASE
        ),
        r"\1\2" + MASK,
    ),
]


def scrub(text: str) -> str:
    """Text from outside (a log line): secrets by their shape, as no list of known values can catch
    them all."""
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text
