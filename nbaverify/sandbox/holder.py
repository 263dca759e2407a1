"""`python -m nbaverify.sandbox.holder MODE [N]`: a misbehaving database client, for the faults.

Connects with the DSN in NBAVERIFY_HOLDER_DSN as application 'nba-stats-worker' and then
holds, until killed, what MODE says:

    sleep         a query that never ends (long_running_query)
    idle          a transaction opened and left idle (idle_in_transaction)
    lock          ACCESS EXCLUSIVE on live_events in an open transaction, so the live feed waits
    connections N N open connections (connection_saturation)
"""

from __future__ import annotations

import os
import sys
import time

import psycopg

APPLICATION = "nba-stats-worker"


def connect(autocommit: bool = True) -> psycopg.Connection:
    return psycopg.connect(
        os.environ["NBAVERIFY_HOLDER_DSN"],
        application_name=APPLICATION,
        autocommit=autocommit,
        connect_timeout=5,
    )


def main() -> None:
    mode = sys.argv[1]
    held = []
    if mode == "sleep":
        connect().execute("SELECT pg_sleep(86400)")
    elif mode == "idle":
        conn = connect(autocommit=False)
        conn.execute("SELECT count(*) FROM teams")
        held.append(conn)
    elif mode == "lock":
        conn = connect(autocommit=False)
        conn.execute("LOCK TABLE live_events IN ACCESS EXCLUSIVE MODE")
        held.append(conn)
    elif mode == "connections":
        held.extend(connect() for _ in range(int(sys.argv[2])))
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(f"holding: {mode}", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
