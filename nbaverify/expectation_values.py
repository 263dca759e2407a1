"""Threshold expressions that are more than a number, parsed once and described from the numbers.

`LagThreshold` follows check_postgres' hot_standby_delay: "16MB" or "30s" alone, "16MB and 30s"
(alarm only when both are exceeded), "16MB or 30s" (alarm when either is).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_SIZE = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}
_TIME = {"ms": 0.001, "s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600}
_TERM = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")


@dataclass(frozen=True)
class LagThreshold:
    """The replication lag limit (database.replication.max_lag), parsed once: bytes, seconds or
    both, and whether both must be exceeded ("and") or either ("or") to alarm."""

    max_bytes: int | None
    max_seconds: float | None
    both: bool  # "and": both limits must be exceeded to alarm

    @classmethod
    def parse(cls, text: str) -> LagThreshold:
        lowered = text.lower()
        joiner = " and " if " and " in lowered else " or "
        terms = lowered.split(joiner)
        if not 1 <= len(terms) <= 2:
            raise ValueError(f"expected '<size>', '<time>' or '<size> and|or <time>', got {text!r}")
        max_bytes = max_seconds = None
        for term in terms:
            match = _TERM.match(term)
            unit = match.group(2) if match else ""
            if match and unit in _SIZE and max_bytes is None:
                max_bytes = int(float(match.group(1)) * _SIZE[unit])
            elif match and unit in _TIME and max_seconds is None:
                max_seconds = float(match.group(1)) * _TIME[unit]
            else:
                raise ValueError(
                    f"cannot read {term.strip()!r} in {text!r}: use sizes like 16MB and times"
                    " like 30s"
                )
        return cls(max_bytes, max_seconds, both=joiner == " and " and len(terms) == 2)

    def exceeded(self, lag_bytes: int, lag_seconds: float) -> bool:
        over = [
            lag_bytes > self.max_bytes if self.max_bytes is not None else None,
            lag_seconds > self.max_seconds if self.max_seconds is not None else None,
        ]
        judged = [flag for flag in over if flag is not None]
        return all(judged) if self.both else any(judged)

    def describe(self) -> str:
        parts = []
        if self.max_bytes is not None:
            parts.append(f"{self.max_bytes} bytes")
        if self.max_seconds is not None:
            parts.append(f"{self.max_seconds:g}s")
        return (" and " if self.both else " or ").join(parts)


def duration_seconds(text: str) -> float:
    """Prometheus durations as its API prints them ("2s", "5m", "1h", "500ms") in seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*", text)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    return (
        float(match.group(1))
        * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2) or "s"]
    )


# expectations whose values must parse; config validates them at load time, naming the key
# the JWS algorithms a platform may sign its tokens with (RFC 7518 section 3.1, "none" aside)
SIGNING_ALGORITHMS = (
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
)


def signing_algorithms(value: list) -> list:
    """`api.auth.algorithms`: the first signs the suite's tokens, so at least one, each a JWS
    algorithm."""
    unknown = [alg for alg in value if alg not in SIGNING_ALGORITHMS]
    if not value or unknown:
        raise ValueError(
            "must list the algorithms the platform verifies, the one it signs with first, from "
            f"{', '.join(SIGNING_ALGORITHMS)}; got {value!r}"
        )
    return value


VALIDATORS: dict[str, Callable[[Any], object]] = {
    "database.replication.max_lag": LagThreshold.parse,
    "api.auth.algorithms": signing_algorithms,
}
