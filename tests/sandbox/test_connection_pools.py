"""The guide's pool maximum (`new Pool({ max: 20 })`) is one pool a process: the API's pods each
keep their own under one application_name. Two clients of 15 connections each (over TCP from
127.0.0.1 and over the Unix socket: two processes at two addresses) are a healthy platform; one
client of 25 is a pool past its maximum.
"""

from __future__ import annotations

import contextlib

import psycopg
import pytest

CHECK = "checks/test_database_connections.py::check_connections_per_application"
APP = "nba-stats-api-pool"


@contextlib.contextmanager
def pool(sandbox, connections: int, over_socket: bool):
    host = str(sandbox.layout.socket_dir) if over_socket else "127.0.0.1"
    held = [
        psycopg.connect(
            host=host,
            port=sandbox.layout.primary_port,
            dbname="nba",
            user="nba_app",
            password=sandbox.secrets.passwords["nba_app"],
            application_name=APP,
            connect_timeout=5,
        )
        for _ in range(connections)
    ]
    try:
        yield held
    finally:
        for connection in held:
            connection.close()


def outcome(nbaverify) -> dict:
    result = nbaverify("check", "daily", "--", CHECK)
    return result.outcomes()[CHECK]


@pytest.fixture
def healthy(sandbox):
    sandbox.up([])
    return sandbox


def test_two_pods_pools_of_15_each_are_healthy(healthy, nbaverify):
    with pool(healthy, 15, over_socket=False), pool(healthy, 15, over_socket=True):
        seen = outcome(nbaverify)
    assert seen["outcome"] == "passed", seen["message"]
    assert seen["evidence"]["by_client"][f"{APP} (nba_app) from 127.0.0.1"] == 15
    assert seen["evidence"]["by_client"][f"{APP} (nba_app) from the local socket"] == 15


def test_one_client_past_the_pool_maximum_fails_naming_it(healthy, nbaverify):
    with pool(healthy, 25, over_socket=False):
        seen = outcome(nbaverify)
    assert seen["outcome"] == "failed"
    assert (
        f"{APP} (nba_app) from 127.0.0.1 holds 25 connections, more than the pool maximum of 20"
        in seen["message"]
    )
