"""`db` / `replica`: a PostgreSQL server of the target, as the monitoring role sees it.

The session is read-only at the server (`default_transaction_read_only`, DESIGN.md Safety) and
every statement has a timeout, so no check can change or load the target.
"""

from __future__ import annotations

import os
import re
import socket
import threading
from typing import Any

import psycopg
from psycopg import ClientCursor
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow, dict_row, tuple_row

from nbaverify.errors import CheckError, TargetUnreachable
from nbaverify.io_stats import IO

# past statement_timeout, a server that is alive has answered with its own cancel
HUNG_GRACE_S = 2.0


class Deadline:
    """Ends a statement the server never answers (a hung or frozen server cannot enforce its own
    statement_timeout): past the deadline the connection's socket is shut down, so the blocked call
    returns with an error instead of holding the run for ever."""

    def __init__(self, conn: psycopg.Connection[DictRow], seconds: float):
        self.seconds = seconds
        self.fired = False
        self._conn = conn
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def _fire(self) -> None:
        self.fired = True
        try:
            # on a duplicate of the fd: shutdown acts on the connection, close only on the duplicate
            with socket.socket(fileno=os.dup(self._conn.pgconn.socket)) as duplicate:
                duplicate.shutdown(socket.SHUT_RDWR)
        except (OSError, psycopg.Error):
            pass  # the statement ended meanwhile


class Database:
    """A PostgreSQL server through one read-only session: the target's primary or replica, or a
    restored backup.

    It connects on first use, read-only at the server and with statement and lock timeouts, so no
    check can change or load the target. `rows`, `one`, `single` and `explain` query it; `ping` says
    whether it answers; `patient` gives the same server on a connection of its own with a longer
    statement timeout. A server that cannot be reached, or is lost or hangs mid-run, becomes
    `TargetUnreachable`, remembered for the rest of the run; a statement that gives up on its
    timeout or on a lock becomes a `CheckError`. Its repr never shows the DSN, which holds a
    password.
    """

    def __init__(
        self,
        dsn: str,
        *,
        role: str,
        connect_timeout_s: float,
        statement_timeout_ms: int,
        lock_timeout_ms: int = 2000,
    ):
        self.role = role  # "primary" or "replica": how messages name this server
        self._dsn = dsn
        self._connect_timeout_s = connect_timeout_s
        self._statement_timeout_ms = statement_timeout_ms
        self._lock_timeout_ms = lock_timeout_ms
        self._conn: psycopg.Connection[DictRow] | None = None
        self._unreachable: TargetUnreachable | None = None
        self.where = dsn_where(dsn)

    def patient(self, statement_timeout_ms: int) -> Database:
        """The same server on a connection of its own, whose statements may run this long (a drill's
        long reads)."""
        return Database(
            self._dsn,
            role=self.role,
            connect_timeout_s=self._connect_timeout_s,
            statement_timeout_ms=statement_timeout_ms,
            lock_timeout_ms=self._lock_timeout_ms,
        )

    @property
    def dbname(self) -> str:
        return str(conninfo_to_dict(self._dsn).get("dbname", ""))

    @property
    def user(self) -> str:
        return str(conninfo_to_dict(self._dsn).get("user", "?"))

    def _connection(self) -> psycopg.Connection[DictRow]:
        if self._unreachable:
            raise self._unreachable
        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(
                    self._dsn,
                    autocommit=True,
                    row_factory=dict_row,
                    connect_timeout=max(1, round(self._connect_timeout_s)),
                    application_name="nbaverify",
                    options=(
                        "-c default_transaction_read_only=on -c"
                        f" statement_timeout={self._statement_timeout_ms} -c"
                        f" lock_timeout={self._lock_timeout_ms}"
                    ),
                )
            except psycopg.Error as exc:
                self._unreachable = TargetUnreachable(
                    f"{self.role} database", self.where, _reason(exc)
                )
                raise self._unreachable from None
        return self._conn

    def rows(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        connection = self._connection()
        deadline = self._deadline(connection)
        try:
            with IO.timed("sql"), deadline:
                return connection.execute(sql, params).fetchall()
        except (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable) as exc:
            raise self._gave_up(exc, sql) from None
        except psycopg.OperationalError as exc:
            if connection.closed:
                # the server went away mid-run, or hung: later checks learn it at once
                self._unreachable = TargetUnreachable(
                    f"{self.role} database", self.where, self._lost(exc, deadline)
                )
                raise self._unreachable from None
            raise

    def _deadline(self, connection: psycopg.Connection[DictRow]) -> Deadline:
        return Deadline(connection, self._statement_timeout_ms / 1000 + HUNG_GRACE_S)

    def _lost(self, exc: Exception, deadline: Deadline) -> str:
        if deadline.fired:
            return (
                f"no answer within {deadline.seconds:g}s (statement_timeout"
                f" {self._statement_timeout_ms} ms, which a live server enforces itself): the"
                " server hangs"
            )
        return _reason(exc)

    def _gave_up(self, exc: Exception, sql: str) -> CheckError:
        waited = (
            ("a lock", self._lock_timeout_ms)
            if isinstance(exc, psycopg.errors.LockNotAvailable)
            else ("the statement", self._statement_timeout_ms)
        )
        return CheckError(
            f"{self.role} database {self.where}: gave up waiting for {waited[0]} after {waited[1]}"
            f" ms ({' '.join(sql.split())[:60]}…); a lock is held or the server is overloaded: see"
            " check_no_blocked_sessions"
        )

    def explain(self, sql: str, params: dict, analyze: bool = False) -> dict[str, Any]:
        """EXPLAIN (FORMAT JSON) of a query, parameters inlined client-side (EXPLAIN takes no
        binds)."""
        options = "ANALYZE, BUFFERS, FORMAT JSON" if analyze else "FORMAT JSON"
        connection = self._connection()
        deadline = self._deadline(connection)
        try:
            with ClientCursor(connection, row_factory=tuple_row) as cursor:
                with IO.timed("sql"), deadline:
                    cursor.execute(f"EXPLAIN ({options}) {sql}", params)
                    row = cursor.fetchone()
                    if row is None:
                        # EXPLAIN always answers; a proxy that swallows rows is a problem to name
                        raise CheckError(
                            f"{self.role} database {self.where}: EXPLAIN returned no plan"
                        )
                    return row[0][0]
        except (psycopg.errors.QueryCanceled, psycopg.errors.LockNotAvailable) as exc:
            raise self._gave_up(exc, sql) from None
        except psycopg.OperationalError as exc:
            unreachable = TargetUnreachable(
                f"{self.role} database", self.where, self._lost(exc, deadline)
            )
            if connection.closed:
                self._unreachable = unreachable
            raise unreachable from None

    def one(self, sql: str, params: Any = None) -> dict[str, Any] | None:
        found = self.rows(sql, params)
        return found[0] if found else None

    def single(self, sql: str, params: Any = None) -> dict[str, Any]:
        """The one row of a query that always answers one (an aggregate, a setting)."""
        found = self.one(sql, params)
        if found is None:
            raise CheckError(
                f"{self.role} database {self.where}: expected one row, got none "
                f"({' '.join(sql.split())[:60]}…)"
            )
        return found

    def ping(self) -> tuple[bool, str]:
        """(True, "") when the server answers a query; (False, why) otherwise."""
        try:
            self.rows("SELECT 1")
            return True, ""
        except TargetUnreachable as exc:
            return False, exc.reason
        except psycopg.Error as exc:
            return False, _reason(exc)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def __repr__(self) -> str:  # the DSN holds a password: never show it
        return f"Database(role={self.role!r}, where={self.where!r})"


def dsn_where(dsn: str) -> str:
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "(unparseable DSN)"
    return f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"


# psycopg says 'connection failed: connection to server at "h", port p failed: <why>'; we name h:p
# already
_CONNECT_PREFIX = re.compile(
    r'^(connection failed: )?(connection to server (at|on socket) "[^"]*"(, port \d+)? failed: )?'
)


def _reason(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return _CONNECT_PREFIX.sub("", lines[0]).replace("FATAL:  ", "FATAL: ") or lines[0]
