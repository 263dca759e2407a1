"""`deliveries`: a record of the notifications a team's receivers got, read so the alert drill can
attribute each delivery to the receiver that got it (Alertmanager 0.25's own counters add up every
receiver together).

The profile's `[alertmanager] deliveries` names it: an http(s) URL or a file, holding JSON Lines (or
one JSON array), one notification a line, each with `receiver` (the Alertmanager receiver's name)
and `status` (firing or resolved). An Alertmanager webhook payload as received is such a line, so
any webhook logger that appends what it gets is a delivery record; the sandbox's notification sink
serves one for its webhooks and its mail.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from nbaverify.clients import tls
from nbaverify.errors import CheckError, TargetUnreachable
from nbaverify.io_stats import IO

# the newest part is what a drill needs: a large record is read from its end
MAX_BYTES = 8 * 1024 * 1024


class DeliveryRecord:
    """The record of delivered notifications the profile names ([alertmanager] deliveries): a file
    or an http(s) URL, read from its end (its newest MAX_BYTES)."""

    def __init__(self, where: str, base_dir: Path, timeout_s: float):
        self.where = where
        self._url = where if where.startswith(("http://", "https://")) else None
        self._path = (
            None
            if self._url
            else (base_dir / where if not Path(where).is_absolute() else Path(where))
        )
        self._timeout_s = timeout_s

    def entries(self) -> list[dict[str, Any]]:
        """Every notification in the record (the newest MAX_BYTES of it), oldest first."""
        return parse(self._read(), self.where)

    def _read(self) -> str:
        if self._path is not None:
            try:
                with self._path.open("rb") as file:
                    size = file.seek(0, 2)
                    file.seek(max(0, size - MAX_BYTES))
                    return file.read().decode(errors="replace")
            except OSError as exc:
                raise CheckError(
                    f"the delivery record {self._path} cannot be read: {exc.strerror or exc}"
                ) from None
        assert self._url is not None
        try:
            with (
                IO.timed("alertmanager"),
                httpx.Client(timeout=self._timeout_s, verify=tls.for_url(self._url)) as http,
            ):
                reply = http.get(self._url)
        except httpx.HTTPError as exc:
            raise TargetUnreachable(
                "the delivery record", self._url, str(exc) or type(exc).__name__
            ) from None
        if reply.status_code != 200:
            raise CheckError(
                f"the delivery record {self._url} answered HTTP {reply.status_code}:"
                f" {reply.text[:80]}"
            )
        return reply.text[-MAX_BYTES:]


def parse(text: str, where: str) -> list[dict[str, Any]]:
    """JSON Lines or one JSON array of objects; a line cut by reading from the middle, or torn by a
    writer, is passed over."""
    stripped = text.lstrip()
    lines = _lines(text)
    if stripped.startswith("["):
        try:
            found = json.loads(stripped)
        except json.JSONDecodeError as exc:
            if lines:
                # JSON Lines read from the middle, the cut first line beginning at a '[' inside it
                return lines
            raise CheckError(
                f"the delivery record {where} is not JSON Lines nor a JSON array: {exc}"
            ) from None
        return [entry for entry in found if isinstance(entry, dict)]
    return lines


def _lines(text: str) -> list[dict[str, Any]]:
    entries = []
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(entry, dict):
            entries.append(entry)
    return entries
