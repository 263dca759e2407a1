"""The restore drill's judgement: a base backup verified against its manifest, and a table's
fingerprint (row count and an order-independent content hash) to compare a restored copy with the
target. The copy itself is served by `nbaverify.clients.scratch_restore`; the target is only read.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from nbaverify import procs
from nbaverify.clients.db import Database

# an order-independent fingerprint of a table: the sum of a 64-bit hash of every row's text
FINGERPRINT = (
    "SELECT count(*) AS rows, coalesce(sum(hashtextextended(t::text, 0)), 0)::text AS sum FROM {}"
    " AS t"
)


@dataclass(frozen=True)
class TableFingerprint:
    """An order-independent fingerprint of a table: its row count and the sum of a 64-bit hash of
    every row's text; the restore drill compares the restored backup's with the source's."""

    rows: int
    sum: str


def verify_backup(backup: Path, timeout_s: float) -> str | None:
    """pg_verifybackup against the backup's manifest; the first problem it reports, or None."""
    if not (backup / "backup_manifest").exists():
        return None  # older pg_basebackup or another tool: nothing to verify against
    tool = procs.pg_bindir() / "pg_verifybackup"
    done = subprocess.run(
        [str(tool), "--quiet", str(backup)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[0].removeprefix("pg_verifybackup: error: ") if lines else f"exit {done.returncode}"


def fingerprint(db: Database, table: str) -> TableFingerprint:
    row = db.rows(sql.SQL(FINGERPRINT).format(sql.Identifier(table)).as_string(None))[0]
    return TableFingerprint(int(row["rows"]), row["sum"])


__all__ = ["TableFingerprint", "fingerprint", "verify_backup"]
