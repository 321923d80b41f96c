"""The throw-away PostgreSQL the store and sink tests use: up, writable, one database each."""

from __future__ import annotations

import pytest
from postgres_lab import fresh_database

pytestmark = pytest.mark.postgres


def test_fresh_databases_are_separate(postgres: str) -> None:
    import psycopg

    first, second = fresh_database(postgres), fresh_database(postgres)
    assert first != second
    with psycopg.connect(first) as conn:
        conn.execute("CREATE TABLE t (x int)")
        conn.execute("INSERT INTO t VALUES (42)")
        assert conn.execute("SELECT x FROM t").fetchone() == (42,)
    with psycopg.connect(second) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE tablename = 't'").fetchone()
        assert row == (0,)
    with psycopg.connect(postgres) as conn:
        host = conn.execute("SELECT inet_server_addr()::text").fetchone()
        assert host is not None and host[0].startswith("127.0.0.1")
