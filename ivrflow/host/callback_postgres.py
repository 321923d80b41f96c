"""The callback store on PostgreSQL (psycopg 3): one list of promises for every gateway host.

The same lifecycle as the SQLite store (`callback_lifecycle`); claims select with
`FOR UPDATE SKIP LOCKED`, so any number of dispatchers on any number of hosts share the due
requests without waiting for each other and without two of them holding one request. A lost
connection is opened again on the next use; while the database is down every call raises
`CallbackStoreError` (a `SpoolingStore` around it keeps the requests of inbound calls).

Needs the `postgres` extra: `pip install 'ivrflow[postgres]'`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .callback_lifecycle import Execute, LifecycleStore, priority_of, request_from_row
from .callback_rules import RetryPolicy
from .callback_types import CallbackRequest, CallbackStoreError
from .postgres import SCHEMA_NAME, import_psycopg

SCHEMA_VERSION = 2
_COLUMNS = "call_id, number, queue, ani, window_start, window_end, requested_at, flow, extra"
_DDL = """
CREATE TABLE IF NOT EXISTS callback_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS callbacks (
  id BIGSERIAL PRIMARY KEY, call_id TEXT NOT NULL UNIQUE,
  number TEXT NOT NULL, queue TEXT NOT NULL, ani TEXT, window_start TEXT, window_end TEXT,
  requested_at DOUBLE PRECISION NOT NULL, flow TEXT NOT NULL, extra TEXT NOT NULL DEFAULT '{}',
  stored_at DOUBLE PRECISION NOT NULL, status TEXT, done_at DOUBLE PRECISION,
  state TEXT NOT NULL DEFAULT 'pending', priority INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0, extra_attempts INTEGER NOT NULL DEFAULT 0, due_at DOUBLE PRECISION, lease_owner TEXT,
  lease_until DOUBLE PRECISION, last_outcome TEXT, updated_at DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks (state, due_at);
-- a claim reads due requests in this order and stops at its batch
CREATE INDEX IF NOT EXISTS callbacks_claim ON callbacks (state, priority DESC, due_at, id);
CREATE INDEX IF NOT EXISTS callbacks_lease ON callbacks (state, lease_until);
CREATE TABLE IF NOT EXISTS callback_attempts (
  call_id TEXT NOT NULL, attempt INTEGER NOT NULL, started_at DOUBLE PRECISION NOT NULL,
  ended_at DOUBLE PRECISION, outcome TEXT, detail TEXT, dispatcher TEXT, reference TEXT,
  PRIMARY KEY (call_id, attempt)
)
"""


def _psycopg() -> Any:
    return import_psycopg(CallbackStoreError, "the PostgreSQL callback store")


class PostgresCallbackStore(LifecycleStore):
    """Callback requests in PostgreSQL; `dsn` as libpq takes it (`postgresql://…`). `schema`
    keeps the tables in their own namespace (created when missing)."""

    for_update = "FOR UPDATE SKIP LOCKED"

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        policy: RetryPolicy | None = None,
        connect_timeout: float = 5.0,
    ) -> None:
        if schema is not None and not SCHEMA_NAME.match(schema):
            raise CallbackStoreError(f"not a schema name: {schema!r}")
        self.dsn = dsn
        self.schema = schema
        self.policy = policy or RetryPolicy()
        self.connect_timeout = connect_timeout
        self._pg = _psycopg()
        self._lock = threading.Lock()
        self._conn: Any = None
        self._closed = False
        with self._transaction("creating the schema") as db:
            db("SELECT pg_advisory_xact_lock(7101)", ())  # two hosts starting at once
            for statement in _DDL.split(";"):
                db(statement, ())
            row = db("SELECT max(version) FROM callback_schema", ()).fetchone()
            if row[0] is None:
                db("INSERT INTO callback_schema (version) VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] != SCHEMA_VERSION:
                raise CallbackStoreError(
                    f"callback store: schema version {row[0]}, this ivrflow reads "
                    f"version {SCHEMA_VERSION}"
                )

    @property
    def where(self) -> str:
        """The store for messages, without its password."""
        shown = re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", self.dsn)
        return f"{shown} (schema {self.schema})" if self.schema else shown

    # ------------------------------------------------------------ the CallbackStore protocol
    def store(self, request: CallbackRequest) -> str:
        r, w = request, request.window or (None, None)
        with self._transaction(f"storing the callback of call {r.call_id}") as db:
            db(
                f"INSERT INTO callbacks ({_COLUMNS}, stored_at, priority) "
                f"VALUES ({', '.join('?' * 11)}) ON CONFLICT (call_id) DO NOTHING",
                (r.call_id, r.number, r.queue, r.ani, w[0], w[1], r.requested_at, r.flow,
                 json.dumps(r.extra, default=str), time.time(), priority_of(r)),
            )  # fmt: skip
            row = db("SELECT id FROM callbacks WHERE call_id = ?", (r.call_id,)).fetchone()
        return f"pg:{row[0]}"

    def get(self, call_id: str) -> CallbackRequest | None:
        entry = self.entry(call_id)
        return entry.request if entry else None

    def pending(self, queue: str | None = None, limit: int = 100) -> list[CallbackRequest]:
        cond, args = ("AND queue = ?", (queue, limit)) if queue else ("", (limit,))
        with self._transaction("reading callbacks") as db:
            rows = db(
                f"SELECT {_COLUMNS} FROM callbacks WHERE status IS NULL {cond} "
                "ORDER BY requested_at, id LIMIT ?",
                args,
            ).fetchall()
        return [request_from_row(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ------------------------------------------------------------ transactions
    def _connection(self) -> Any:
        if self._conn is None or self._conn.closed or self._conn.broken:
            self._conn = self._pg.connect(
                self.dsn, autocommit=True, connect_timeout=max(1, int(self.connect_timeout))
            )
            if self.schema:
                self._conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                self._conn.execute(f'SET search_path TO "{self.schema}"')
        return self._conn

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[Execute]:
        with self._lock:
            if self._closed:
                raise CallbackStoreError(f"callback store {self.where} is closed")
            try:
                conn = self._connection()
                with conn.transaction():

                    def execute(sql: str, args: tuple[Any, ...]) -> Any:
                        return conn.execute(sql.replace("?", "%s"), args)

                    yield execute
            except self._pg.Error as exc:
                why = (
                    "the database is unavailable"
                    if isinstance(exc, self._pg.OperationalError)
                    else type(exc).__name__
                )
                raise CallbackStoreError(
                    f"callback store {self.where}: {doing} failed: {why}: {exc}".strip()
                ) from exc


__all__ = ["SCHEMA_VERSION", "PostgresCallbackStore"]
