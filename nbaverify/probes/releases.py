"""Release data (endoflife.date's fields, a dated snapshot) and what it says of a running version.

The snapshot ships in fixtures/releases/endoflife.json (scripts/release_snapshot writes it from a
checkout of endoflife.date); a team points `patches.releases_file` at a newer one. Each product is a
list of cycles: `cycle` ("15", "24", "3.11", "1.36"), `releaseDate`, `eol` (a date, or true / false
when none is set), `latest` (the newest release of the cycle) and `latestReleaseDate`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from nbaverify.errors import CheckError

VERSION = re.compile(r"v?(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class Cycle:
    """One release cycle of a product in the release data: its end of life (a date, or true / false
    when none is set), and its latest release with that release's date."""

    product: str
    cycle: str
    eol: dt.date | bool
    latest: str
    latest_date: str | None

    def ended(self, today: dt.date) -> bool:
        return self.eol is True or (isinstance(self.eol, dt.date) and self.eol <= today)

    def eol_text(self) -> str:
        return (
            self.eol.isoformat()
            if isinstance(self.eol, dt.date)
            else ("ended" if self.eol else "none set")
        )

    def days_left(self, today: dt.date) -> int | None:
        return (self.eol - today).days if isinstance(self.eol, dt.date) else None


@dataclass(frozen=True)
class Snapshot:
    """The release data as of the day it was taken, in endoflife.date's fields: every product's
    cycles; it says which cycle a version belongs to and which cycles are still supported."""

    path: Path
    taken: dt.date
    cycles: dict[str, list[Cycle]]

    def age_days(self, today: dt.date) -> int:
        return (today - self.taken).days

    def describe(self, today: dt.date) -> str:
        return f"release data of {self.taken.isoformat()}, {self.age_days(today)} days old"

    def cycle_of(self, product: str, version: str) -> Cycle | None:
        """The cycle a version belongs to: the longest cycle that is a prefix of it ("15.18" ->
        "15")."""
        parts = numbers(version)
        best = None
        for cycle in self.cycles.get(product, []):
            if numbers(cycle.cycle) == parts[: len(numbers(cycle.cycle))]:
                if best is None or len(cycle.cycle) > len(best.cycle):
                    best = cycle
        return best

    def newer_than_known(self, product: str, version: str) -> bool:
        """A release after every cycle the data knows (cut after the snapshot was taken): it cannot
        have reached its end of life as far as this data can tell; check_release_data_current says
        when the data itself is stale.
        """
        known = [numbers(c.cycle) for c in self.cycles.get(product, [])]
        if not known:
            return False
        newest = max(known)
        return numbers(version)[: len(newest)] > newest

    def supported(self, product: str, today: dt.date) -> list[str]:
        return [c.cycle for c in self.cycles.get(product, []) if not c.ended(today)]


def numbers(version: str) -> tuple[int, ...]:
    """'v1.36.4' -> (1, 36, 4); '15.18 (Debian 15.18-0+deb12u1)' -> (15, 18)."""
    found = VERSION.match(version.strip())
    if not found:
        raise CheckError(f"cannot read a version number in {version!r}")
    return tuple(int(n) for n in found.group(1).split("."))


def releases_behind(version: str, cycle: Cycle) -> int:
    """How many releases of its cycle a version is behind the cycle's latest (its last number's
    distance)."""
    have, latest = numbers(version), numbers(cycle.latest)
    return max(0, latest[-1] - have[len(latest) - 1]) if len(have) >= len(latest) else latest[-1]


def load(path: Path) -> Snapshot:
    try:
        raw = json.loads(path.read_text())
        taken = dt.date.fromisoformat(raw["taken"])
        cycles = {
            product: [
                Cycle(
                    product,
                    str(c["cycle"]),
                    _eol(c["eol"]),
                    str(c["latest"]),
                    c.get("latestReleaseDate"),
                )
                for c in entries
            ]
            for product, entries in raw["products"].items()
        }
    except FileNotFoundError:
        raise CheckError(f"patches.releases_file: {path} does not exist") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CheckError(
            f"patches.releases_file: {path} is not release data in endoflife.date's fields "
            f"(taken, products: cycle, eol, latest): {exc}"
        ) from None
    return Snapshot(path, taken, cycles)


def _eol(value) -> dt.date | bool:
    return value if isinstance(value, bool) else dt.date.fromisoformat(str(value))


RUNTIME_IMAGE = re.compile(
    r"^(?:[\w.-]+(?::\d+)?/)?(?:library/)?(?P<name>node|python):(?P<tag>v?\d[\w.-]*)$"
)
IMAGE_PRODUCTS = {"node": "nodejs", "python": "python"}


def runtime_image(image: str) -> tuple[str, str] | None:
    """(product, version) of a runtime's official image: node:22.11-alpine -> (nodejs, 22.11); else
    None."""
    found = RUNTIME_IMAGE.match(image.split("@")[0])
    if not found:
        return None
    return IMAGE_PRODUCTS[found["name"]], ".".join(str(n) for n in numbers(found["tag"]))
