"""A base backup served as a scratch server, for the restore drill: what the guide's `npm run
db:restore` does, done where it cannot hurt. A copy of the backup in a temporary directory, started
with the PostgreSQL server binaries of the suite's host on a Unix socket only, reached as a
`Database`, stopped and deleted afterwards.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from nbaverify import procs
from nbaverify.clients.db import Database
from nbaverify.errors import CheckError, NbaverifyError


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
            # the copy's own rules may not admit us
            (self.dir / "hba.conf").write_text("local all all trust\n")
            for stale in ("postmaster.pid", "standby.signal", "recovery.signal"):
                (self.data / stale).unlink(missing_ok=True)
            self.data.chmod(0o700)
            self.dir.chmod(0o755)
            procs.chown_to_service(self.dir)
            options = (
                f"-c port={self.port} -c listen_addresses='' -c"
                f" unix_socket_directories='{self.socket}' -c hba_file='{self.dir / 'hba.conf'}' -c"
                " archive_mode=off -c shared_preload_libraries='' -c hot_standby=on -c"
                " max_connections=20"
            )
            procs.run(
                [
                    str(procs.pg_bindir() / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-l",
                    str(self.dir / "restore.log"),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(int(self.timeout_s)),
                    "start",
                ],
                step=f"start the restored backup {self.backup.name}",
                as_service=True,
                timeout=self.timeout_s + 10,
            )
        except NbaverifyError as exc:
            log = self.dir / "restore.log"
            tail = log.read_text().strip().splitlines()[-1:] if log.exists() else []
            self.__exit__(None, None, None)
            raise CheckError(
                f"restoring {self.backup} failed: {exc}"
                + (f"; server log: {tail[0]}" if tail else "")
            ) from None
        return self

    def database(self, dbname: str, statement_timeout_ms: int) -> Database:
        dsn = f"host={self.socket} port={self.port} dbname={dbname} user={self.user}"
        return Database(
            dsn,
            role="restored backup",
            connect_timeout_s=10,
            statement_timeout_ms=statement_timeout_ms,
        )

    def __exit__(self, *exc_info) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                procs.run(
                    [
                        str(procs.pg_bindir() / "pg_ctl"),
                        "-D",
                        str(self.data),
                        "-m",
                        "immediate",
                        "-w",
                        "stop",
                    ],
                    step="stop the restored backup",
                    as_service=True,
                    timeout=60,
                )
            except NbaverifyError:
                pass
        shutil.rmtree(self.dir, ignore_errors=True)
