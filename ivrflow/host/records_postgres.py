"""Call records in PostgreSQL (psycopg 3): one table for every gateway host.

`PostgresSink` is a `RecordSink`. Each `write` returns once its record is committed (the same
promise as the file sink's fsync), and writes that arrive together share one transaction
(group commit): a flusher thread takes every record waiting, up to `BATCH`, inserts them in one
statement and commits once, then wakes their writers. Put it behind a `SpoolingSink` (as
`serve --records-db` does): a record the database refuses — down, read-only, full — goes to the
local spool and is moved into the table when the database answers again; the call id makes the
replay exactly-once (`ON CONFLICT (call_id) DO NOTHING`).

`read_records` streams them back for `ivrflow report --db` with a server-side cursor, in the
order they were written, the report's filters applied in SQL.

Table (in `schema` when given, created when missing):

    call_records (id BIGSERIAL PRIMARY KEY, call_id TEXT UNIQUE, flow TEXT, flow_version TEXT,
                  dnis TEXT, started_at TIMESTAMPTZ, outcome TEXT, record JSONB)

Needs the `postgres` extra: `pip install 'ivrflow[postgres]'`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import queue
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from ..errors import IvrflowRuntimeError
from .postgres import SCHEMA_NAME, import_psycopg

BATCH = 500  # records per transaction at most
FETCH = 20_000  # rows per round trip when reading
_COLUMNS = "call_id, flow, flow_version, dnis, started_at, outcome, record"


class RecordStoreError(IvrflowRuntimeError):
    """The records database cannot be reached or refused a write."""


def _psycopg() -> Any:
    return import_psycopg(RecordStoreError, "records in PostgreSQL")


def _table(schema: str | None) -> str:
    if schema is None:
        return "call_records"
    if not SCHEMA_NAME.match(schema):
        raise RecordStoreError(f"not a schema name: {schema!r}")
    return f"{schema}.call_records"


def shown(dsn: str) -> str:
    """The DSN for messages, without its password."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", dsn)


def _row(record: dict[str, Any]) -> tuple[Any, ...]:
    started = record.get("started_at")
    try:
        when = dt.datetime.fromisoformat(started) if isinstance(started, str) else None
    except ValueError:
        when = None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    outcome = record.get("outcome")
    kind = outcome.get("kind") if isinstance(outcome, dict) else None
    version = record.get("flow_version")
    return (
        str(record.get("call_id")),
        str(record.get("flow")),
        None if version is None else str(version),
        record.get("dnis") if isinstance(record.get("dnis"), str) else None,
        when,
        kind if isinstance(kind, str) else None,
        json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str),
    )


class PostgresSink:
    """Records as rows; `write` blocks until its record is committed (see the module)."""

    group_commit = True  # concurrent writes share a commit: the Engine writes them at once

    def __init__(
        self, dsn: str, *, schema: str | None = None, connect_timeout: float = 5.0
    ) -> None:
        self.dsn = dsn
        self.schema = schema
        self.table = _table(schema)
        self.connect_timeout = connect_timeout
        self._pg = _psycopg()
        self._conn: Any = None
        self._waiting: queue.Queue[tuple[dict[str, Any], list[Any]] | None] = queue.Queue()
        self._closed = False
        self._flusher: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._create()

    @property
    def where(self) -> str:
        return shown(self.dsn) + (f" (schema {self.schema})" if self.schema else "")

    # ------------------------------------------------------------ connection
    def _connect(self) -> Any:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = self._pg.connect(self.dsn, connect_timeout=self.connect_timeout)
            except self._pg.Error as exc:
                raise RecordStoreError(f"cannot reach {self.where}: {exc}") from None
        return self._conn

    def _create(self) -> None:
        conn = self._connect()
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(7102)")  # two hosts starting at once
                if self.schema:
                    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.table} (id BIGSERIAL PRIMARY KEY, "
                    "call_id TEXT NOT NULL UNIQUE, flow TEXT NOT NULL, flow_version TEXT, "
                    "dnis TEXT, started_at TIMESTAMPTZ, outcome TEXT, record JSONB NOT NULL)"
                )
                conn.execute(
                    f"CREATE INDEX IF NOT EXISTS call_records_started ON {self.table} (started_at)"
                )
        except self._pg.Error as exc:
            self._drop()
            raise RecordStoreError(
                f"cannot create the records table in {self.where}: {exc}"
            ) from None

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # a broken connection: nothing more to do
                self._conn.close()
            self._conn = None

    def insert(self, records: Sequence[dict[str, Any]]) -> None:
        """Insert these records in one transaction (call ids already there are skipped)."""
        if not records:
            return
        conn = self._connect()
        try:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {self.table} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, "
                    "%s::jsonb) ON CONFLICT (call_id) DO NOTHING",
                    [_row(r) for r in records],
                )
        except self._pg.Error as exc:
            self._drop()  # the next write connects again
            raise RecordStoreError(f"{self.where} refused {len(records)} records: {exc}") from None

    # ------------------------------------------------------------ the RecordSink protocol
    def write(self, record: dict[str, Any]) -> None:
        """Return once the record is committed; raise RecordStoreError when it is not."""
        if self._closed:
            raise RecordStoreError("the records database sink is closed")
        self._ensure_flusher()
        done = threading.Event()
        slot: list[Any] = [done]
        self._waiting.put((record, slot))
        done.wait()
        if len(slot) > 1:
            raise slot[1]

    def write_once(self, record: dict[str, Any]) -> bool:
        """`write`; the table's unique call id makes every write once per call."""
        self.write(record)
        return True

    def _ensure_flusher(self) -> None:
        if self._flusher is None:
            with self._start_lock:
                if self._flusher is None:
                    self._flusher = threading.Thread(
                        target=self._flush_forever, name="ivrflow-records-db", daemon=True
                    )
                    self._flusher.start()

    def _flush_forever(self) -> None:
        while True:
            first = self._waiting.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < BATCH:  # everything that arrived meanwhile: one commit
                try:
                    item = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._waiting.put(None)  # stop after this batch
                    break
                batch.append(item)
            error: Exception | None = None
            try:
                self.insert([record for record, _ in batch])
            except Exception as exc:  # every writer of the batch hears it, and spools
                error = exc
            for _, slot in batch:
                if error is not None:
                    slot.append(error)
                slot[0].set()

    def count(self) -> int:
        conn = self._connect()
        with conn.transaction():
            row = conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()
        return int(row[0])

    def close(self) -> None:
        self._closed = True
        if self._flusher is not None:
            self._waiting.put(None)
            self._flusher.join(timeout=10)
        self._drop()


def read_records(
    dsn: str,
    *,
    schema: str | None = None,
    flows: Sequence[str] = (),
    dnis: Sequence[str] = (),
    flow_versions: Sequence[str] = (),
    since: float | None = None,
    until: float | None = None,
) -> Iterator[str]:
    """Each stored record as JSON text, in the order written; the filters in SQL (the
    report applies them again, so a record never counts differently here and in a file)."""
    pg = _psycopg()
    table = _table(schema)
    conditions: list[str] = []
    args: list[Any] = []
    for column, values in (("flow", flows), ("dnis", dnis), ("flow_version", flow_versions)):
        if values:
            conditions.append(f"{column} = ANY(%s)")
            args.append(list(values))
    # A record whose start the table could not read (NULL) is kept: the report judges it.
    if since is not None:
        conditions.append("(started_at IS NULL OR started_at >= to_timestamp(%s))")
        args.append(since)
    if until is not None:
        conditions.append("(started_at IS NULL OR started_at < to_timestamp(%s))")
        args.append(until)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    try:
        conn = pg.connect(dsn, connect_timeout=10)
    except pg.Error as exc:
        raise RecordStoreError(f"cannot reach {shown(dsn)}: {exc}") from None
    try:
        with conn.transaction(), conn.cursor(name="ivrflow_report") as cur:
            cur.itersize = FETCH
            cur.execute(f"SELECT record::text FROM {table}{where} ORDER BY id", args)
            for (text,) in cur:
                yield text
    except pg.Error as exc:
        raise RecordStoreError(f"reading records from {shown(dsn)}: {exc}") from None
    finally:
        conn.close()


__all__ = ["BATCH", "PostgresSink", "RecordStoreError", "read_records", "shown"]
