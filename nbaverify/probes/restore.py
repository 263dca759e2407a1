"""The restore drill: verify the newest base backup, start it as a scratch server, compare its data.

What the guide's `npm run db:restore` and `npm run db:verify` do, done where it cannot hurt: a
copy of the backup in a temporary directory, served on a Unix socket only, stopped and deleted
afterwards. The target is only read (its tables' counts and checksums).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from psycopg import sql

from nbaverify import procs
from nbaverify.clients.db import Database
from nbaverify.errors import CheckError, NbaverifyError

# an order-independent fingerprint of a table: the sum of a 64-bit hash of every row's text
FINGERPRINT = "SELECT count(*) AS rows, coalesce(sum(hashtextextended(t::text, 0)), 0)::text AS sum FROM {} AS t"


@dataclass(frozen=True)
class TableFingerprint:
    rows: int
    sum: str


def verify_backup(backup: Path, timeout_s: float) -> str | None:
    """pg_verifybackup against the backup's manifest; the first problem it reports, or None."""
    if not (backup / "backup_manifest").exists():
        return None  # older pg_basebackup or another tool: nothing to verify against
    tool = procs.pg_bindir() / "pg_verifybackup"
    done = subprocess.run([str(tool), "--quiet", str(backup)], capture_output=True, text=True, timeout=timeout_s,
                          check=False)
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines()
    return lines[0].removeprefix("pg_verifybackup: error: ") if lines else f"exit {done.returncode}"


def fingerprint(db: Database, table: str) -> TableFingerprint:
    row = db.rows(sql.SQL(FINGERPRINT).format(sql.Identifier(table)).as_string(None))[0]
    return TableFingerprint(int(row["rows"]), row["sum"])


class ScratchRestore:
    """A copy of a base backup, started on a private socket; a context manager that cleans up."""

    def __init__(self, backup: Path, user: str, timeout_s: float):
        self.backup, self.user, self.timeout_s = backup, user, timeout_s
        self.dir = Path(tempfile.mkdtemp(prefix="nbaverify-restore-"))
        self.data, self.socket = self.dir / "data", self.dir / "run"
        self.port = 5432

    def __enter__(self) -> ScratchRestore:
        try:
            shutil.copytree(self.backup, self.data, symlinks=True)
            self.socket.mkdir()
            (self.dir / "hba.conf").write_text("local all all trust\n")  # the copy's own rules may not admit us
            for stale in ("postmaster.pid", "standby.signal", "recovery.signal"):
                (self.data / stale).unlink(missing_ok=True)
            self.data.chmod(0o700)
            self.dir.chmod(0o755)
            procs.chown_to_service(self.dir)
            options = (f"-c port={self.port} -c listen_addresses='' -c unix_socket_directories='{self.socket}' "
                       f"-c hba_file='{self.dir / 'hba.conf'}' -c archive_mode=off -c shared_preload_libraries='' "
                       "-c hot_standby=on -c max_connections=20")
            procs.run([str(procs.pg_bindir() / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "restore.log"),
                       "-o", options, "-w", "-t", str(int(self.timeout_s)), "start"],
                      step=f"start the restored backup {self.backup.name}", as_service=True, timeout=self.timeout_s + 10)
        except NbaverifyError as exc:
            log = (self.dir / "restore.log")
            tail = log.read_text().strip().splitlines()[-1:] if log.exists() else []
            self.__exit__(None, None, None)
            raise CheckError(f"restoring {self.backup} failed: {exc}" + (f"; server log: {tail[0]}" if tail else "")) from None
        return self

    def database(self, dbname: str, statement_timeout_ms: int) -> Database:
        dsn = f"host={self.socket} port={self.port} dbname={dbname} user={self.user}"
        return Database(dsn, role="restored backup", connect_timeout_s=10, statement_timeout_ms=statement_timeout_ms)

    def __exit__(self, *exc_info) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                procs.run([str(procs.pg_bindir() / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                          step="stop the restored backup", as_service=True, timeout=60)
            except NbaverifyError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)


__all__ = ["ScratchRestore", "TableFingerprint", "fingerprint", "verify_backup"]
