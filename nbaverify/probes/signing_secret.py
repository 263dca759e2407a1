"""How strong an HMAC signing secret is, judged offline: its length, a well-known value, zxcvbn's
estimate.

Nothing here returns the secret or a piece of it: findings name sizes, counts and pattern kinds
only.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache

from zxcvbn import zxcvbn

from nbaverify import shipped

# scripts/jwt_secret_list writes it
KNOWN_SECRETS = shipped.DATA / "security" / "known_jwt_secrets.json"
ZXCVBN_MAX_LENGTH = 72  # zxcvbn judges this many characters; a longer secret is at least as strong


@dataclass(frozen=True)
class KnownSecrets:
    """The shipped list of secrets an attacker tries first, and the day it was written."""

    secrets: frozenset[str]
    generated: str

    def __contains__(self, secret: str) -> bool:
        return secret in self.secrets or secret.lower() in self.secrets


@cache
def known_secrets() -> KnownSecrets:
    raw = json.loads(KNOWN_SECRETS.read_text())
    return KnownSecrets(frozenset(raw["secrets"]), raw["generated"])


@dataclass(frozen=True)
class Strength:
    """What the judgement read: bytes, whether the value is well known, zxcvbn's bits and the
    patterns it found."""

    length_bytes: int
    well_known: bool
    bits: float
    # zxcvbn's pattern kinds (dictionary, repeat, sequence, date...), never the text
    patterns: tuple[str, ...]

    def findings(self, min_bytes: int, min_bits: float, listed: int) -> list[str]:
        """What falls short, each a phrase that completes 'the secret ...'; empty when it is
        strong."""
        found = []
        if self.well_known:
            found.append(
                f"a well-known secret (in nbaverify's list of {listed} known JWT secrets: framework"
                " defaults, documentation examples, common passwords)"
            )
        if self.length_bytes < min_bytes:
            found.append(
                f"{self.length_bytes} bytes long, under the {min_bytes} bytes (256 bits) an HS256"
                " key needs (RFC 7518 section 3.2)"
            )
        if self.bits < min_bits:
            kinds = sorted(set(self.patterns) - {"bruteforce"})
            found.append(
                f"guessable in about 2^{self.bits:.0f} tries by zxcvbn's estimate (at least"
                f" 2^{min_bits:g} wanted)"
                + (f": it is built of {', '.join(kinds)} patterns" if kinds else "")
            )
        return found


def judge(secret: str) -> Strength:
    estimate = zxcvbn(secret[:ZXCVBN_MAX_LENGTH])
    return Strength(
        length_bytes=len(secret.encode()),
        well_known=secret in known_secrets(),
        bits=float(estimate["guesses_log10"]) * math.log2(10),
        patterns=tuple(m["pattern"] for m in estimate["sequence"]),
    )
