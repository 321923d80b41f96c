"""Callback requests and where they are kept: a `CallbackStore` the host hands to the Engine.

A caller who accepted a callback was told "we'll call you back"; losing the request breaks that
promise. So: the SQLite store writes one row per call id (WAL, synchronous=FULL, idempotent), and
`SpoolingStore` appends a request it cannot store to a JSON-lines spool (fsynced) and moves it
into the store later, exactly once. Only when even the spool fails does `store` raise, and the
session takes the flow's `failed` branch.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .callback_lifecycle import Execute, LifecycleStore, priority_of
from .callback_rules import RetryPolicy
from .callback_types import CallbackRequest, CallbackStoreError

SCHEMA_VERSION = 2


@runtime_checkable
class CallbackStore(Protocol):
    # Same call id → same reference and one row; the first request stored wins.
    def store(self, request: CallbackRequest) -> str: ...

    def get(self, call_id: str) -> CallbackRequest | None: ...

    # Requests not called back yet (no `mark_done`), oldest first.
    def pending(self, queue: str | None = None, limit: int = 100) -> list[CallbackRequest]: ...

    def mark_done(self, call_id: str, status: str) -> None: ...

    def close(self) -> None: ...


class MemoryCallbackStore:
    """In-process store with the SQLite store's semantics (tests, the simulator)."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[str, CallbackRequest, str | None]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def store(self, request: CallbackRequest) -> str:
        with self._lock:
            self._check()
            if request.call_id not in self._rows:  # first write wins, as ON CONFLICT DO NOTHING
                self._rows[request.call_id] = (f"mem:{len(self._rows) + 1}", request, None)
            return self._rows[request.call_id][0]

    def get(self, call_id: str) -> CallbackRequest | None:
        with self._lock:
            self._check()
            row = self._rows.get(call_id)
            return row[1] if row else None

    def pending(self, queue: str | None = None, limit: int = 100) -> list[CallbackRequest]:
        with self._lock:
            self._check()
            rows = [r for _, r, s in self._rows.values() if s is None]
        rows = [r for r in rows if queue is None or r.queue == queue]
        return sorted(rows, key=lambda r: r.requested_at)[: max(limit, 0)]

    def mark_done(self, call_id: str, status: str) -> None:
        with self._lock:
            self._check()
            if call_id not in self._rows:
                raise CallbackStoreError(f"no callback request for call id {call_id!r}")
            ref, request, _ = self._rows[call_id]
            self._rows[call_id] = (ref, request, _status(status))

    def close(self) -> None:
        self._closed = True

    def _check(self) -> None:
        if self._closed:
            raise CallbackStoreError("the callback store is closed")


def _status(status: str) -> str:
    if not isinstance(status, str) or not status:
        raise CallbackStoreError("a callback status must be a non-empty string")
    return status


# The lifecycle columns (schema 2) are added to a version-1 file in place: its requests are
# kept and become `pending`, or their final state when they were marked done.
_TABLES = """
CREATE TABLE IF NOT EXISTS callbacks (
  id INTEGER PRIMARY KEY AUTOINCREMENT, call_id TEXT NOT NULL UNIQUE,
  number TEXT NOT NULL, queue TEXT NOT NULL, ani TEXT, window_start TEXT, window_end TEXT,
  requested_at REAL NOT NULL, flow TEXT NOT NULL, extra TEXT NOT NULL DEFAULT '{}',
  stored_at REAL NOT NULL, status TEXT, done_at REAL  -- status is NULL while pending
);
"""
_LIFECYCLE = """
ALTER TABLE callbacks ADD COLUMN state TEXT NOT NULL DEFAULT 'pending';
ALTER TABLE callbacks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE callbacks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE callbacks ADD COLUMN extra_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE callbacks ADD COLUMN due_at REAL;
ALTER TABLE callbacks ADD COLUMN lease_owner TEXT;
ALTER TABLE callbacks ADD COLUMN lease_until REAL;
ALTER TABLE callbacks ADD COLUMN last_outcome TEXT;
ALTER TABLE callbacks ADD COLUMN updated_at REAL;
UPDATE callbacks SET state = CASE WHEN status IN ('completed', 'exhausted', 'cancelled',
  'expired') THEN status ELSE 'completed' END WHERE status IS NOT NULL;
CREATE INDEX IF NOT EXISTS callbacks_pending ON callbacks (requested_at) WHERE status IS NULL;
CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks (state, due_at);
-- a claim reads due requests in this order and stops at its batch
CREATE INDEX IF NOT EXISTS callbacks_claim ON callbacks (state, priority DESC, due_at, id);
CREATE INDEX IF NOT EXISTS callbacks_lease ON callbacks (state, lease_until);
CREATE TABLE IF NOT EXISTS callback_attempts (
  call_id TEXT NOT NULL, attempt INTEGER NOT NULL, started_at REAL NOT NULL, ended_at REAL,
  outcome TEXT, detail TEXT, dispatcher TEXT, reference TEXT, PRIMARY KEY (call_id, attempt)
);
"""
_LOCKED = "the database is locked by another connection (waited {waited:g}s)"
_FULL = "the disk is full or failing ({exc})"
_WHY = {  # by SQLite's primary result code
    "BUSY": _LOCKED, "LOCKED": _LOCKED, "FULL": _FULL, "IOERR": _FULL,
    "READONLY": "the database (or its folder) is read-only",
    "CANTOPEN": "the file cannot be opened (a missing folder, or no permission)",
}  # fmt: skip
_COLUMNS = "call_id, number, queue, ani, window_start, window_end, requested_at, flow, extra"


class SQLiteCallbackStore(LifecycleStore):
    """One row per call id in a SQLite file; safe to share between threads and processes
    (a claim takes SQLite's write lock, so two dispatchers never claim the same request)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        timeout: float = 5.0,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.path = str(path)
        self.timeout = timeout
        self.policy = policy or RetryPolicy()
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        try:
            # Autocommit: each statement is its own transaction, nothing is left half-open.
            self._conn = conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
            conn.execute("PRAGMA synchronous = FULL")  # a stored callback survives a power cut
            version = self._migrate(conn)
        except sqlite3.Error as exc:
            self.close()
            raise self._error(exc, "opening") from exc
        if version != SCHEMA_VERSION:
            self.close()
            raise CallbackStoreError(
                f"callback store {self.path}: schema version {version}, this ivrflow reads "
                f"version {SCHEMA_VERSION}"
            )

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> int:
        """Create the schema, or bring a version-1 file to this version; the version found."""

        def version() -> int | None:
            if not conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'schema_version'"
            ).fetchone():
                return None
            (found,) = conn.execute("SELECT max(version) FROM schema_version").fetchone()
            return int(found or 0)

        found = version()
        if found is not None and found >= SCHEMA_VERSION:
            return found
        conn.execute("BEGIN IMMEDIATE")
        try:
            found = version()  # another process may have made it while this one waited
            if found is None or found < SCHEMA_VERSION:
                script = _TABLES + (_LIFECYCLE if found in (None, 1) else "")
                conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                for statement in filter(str.strip, script.split(";")):
                    conn.execute(statement)
                conn.execute("DELETE FROM schema_version")
                conn.execute(f"INSERT INTO schema_version (version) VALUES ({SCHEMA_VERSION})")
                found = SCHEMA_VERSION
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return found

    def store(self, request: CallbackRequest) -> str:
        r, w = request, request.window or (None, None)
        with self._db(f"storing the callback of call {r.call_id}") as db:
            db.execute(
                f"INSERT INTO callbacks ({_COLUMNS}, stored_at, priority) "
                f"VALUES ({', '.join('?' * 11)}) ON CONFLICT(call_id) DO NOTHING",
                (r.call_id, r.number, r.queue, r.ani, w[0], w[1], r.requested_at, r.flow,
                 json.dumps(r.extra, default=str), time.time(), priority_of(r)),
            )  # fmt: skip
            row = db.execute("SELECT id FROM callbacks WHERE call_id = ?", (r.call_id,)).fetchone()
        return f"cb:{row[0]}"

    def get(self, call_id: str) -> CallbackRequest | None:
        rows = self._select("WHERE call_id = ?", (call_id,))
        return rows[0] if rows else None

    def pending(self, queue: str | None = None, limit: int = 100) -> list[CallbackRequest]:
        if queue is None:
            return self._select("WHERE status IS NULL ORDER BY requested_at, id LIMIT ?", (limit,))
        tail = "WHERE status IS NULL AND queue = ? ORDER BY requested_at, id LIMIT ?"
        return self._select(tail, (queue, limit))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _select(self, tail: str, args: tuple[Any, ...]) -> list[CallbackRequest]:
        with self._db("reading callbacks") as db:
            rows = db.execute(f"SELECT {_COLUMNS} FROM callbacks {tail}", args).fetchall()
        return [_request(r) for r in rows]

    @contextmanager
    def _transaction(self, doing: str) -> Iterator[Execute]:
        """One write transaction (SQLite's write lock, taken at once), committed on success."""
        with self._db(doing) as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn.execute
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def _db(self, doing: str) -> Iterator[sqlite3.Connection]:
        """The connection, under the lock, with sqlite3 errors told as CallbackStoreError."""
        with self._lock:
            if self._conn is None:
                raise CallbackStoreError(f"callback store {self.path} is closed")
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise self._error(exc, doing) from exc

    def _error(self, exc: sqlite3.Error, doing: str) -> CallbackStoreError:
        name = str(getattr(exc, "sqlite_errorname", "")).split("_")  # SQLITE_IOERR_WRITE → IOERR
        kind = name[1] if len(name) > 1 else ""
        why = _WHY.get(kind, "{name}: {exc}").format(
            waited=self.timeout, exc=exc, name=type(exc).__name__
        )
        return CallbackStoreError(f"callback store {self.path}: {doing} failed: {why}")


def _request(r: Any) -> CallbackRequest:
    window = (r[4], r[5]) if r[4] else None
    return CallbackRequest(r[0], r[1], r[2], r[3], window, r[6], r[7], json.loads(r[8]))


class SpoolingStore:
    """Wraps a store; a request the store refuses goes to an fsynced JSON-lines spool.

    One process per spool file. `replay()` moves spooled requests into the store (call ids
    make it idempotent, so a crash mid-replay only repeats harmless writes); it also runs
    after the next successful `store`.
    """

    def __init__(self, store: CallbackStore, spool_path: str | os.PathLike[str]) -> None:
        self.inner = store
        self.spool_path = Path(spool_path)
        self._lock = threading.RLock()
        self._dirty = self.spool_path.exists() and self.spool_path.stat().st_size > 0

    def store(self, request: CallbackRequest) -> str:
        try:
            reference = self.inner.store(request)
        except Exception as exc:  # whatever the store raised, the request must not be lost
            self._spool(request, exc)
            return f"spooled:{request.call_id}"
        if self._dirty:  # what is not moved stays spooled; the next store tries again
            with suppress(CallbackStoreError):
                self.replay()
        return reference

    def replay(self) -> int:
        """Move spooled requests into the store; return how many were moved."""
        with self._lock:
            good, kept = self._read()
            moved = 0
            try:
                for request, _ in good:
                    self.inner.store(request)
                    moved += 1
            except Exception as exc:
                raise CallbackStoreError(
                    f"replaying {self.spool_path}: {moved} of {len(good)} moved, then: {exc}"
                ) from exc
            finally:  # rewrite only after the store accepted them
                if moved:
                    self._rewrite([line for _, line in good[moved:]] + kept)
            self._dirty = moved < len(good)
            return moved

    def spooled(self) -> list[CallbackRequest]:
        with self._lock:
            return [request for request, _ in self._read()[0]]

    def get(self, call_id: str) -> CallbackRequest | None:
        try:
            found = self.inner.get(call_id)
        except CallbackStoreError:
            found = None
        return found or next((r for r in self.spooled() if r.call_id == call_id), None)

    def pending(self, queue: str | None = None, limit: int = 100) -> list[CallbackRequest]:
        return self.inner.pending(queue, limit)

    def mark_done(self, call_id: str, status: str) -> None:
        self.inner.mark_done(call_id, status)

    def close(self) -> None:
        self.inner.close()

    def _spool(self, request: CallbackRequest, cause: Exception) -> None:
        line = json.dumps({"v": 1, **request.as_dict()}, default=str, ensure_ascii=False)
        with self._lock:
            try:
                self.spool_path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.spool_path, "ab+") as f:
                    f.seek(0, os.SEEK_END)
                    if f.tell():  # a torn last line must not swallow this one
                        f.seek(-1, os.SEEK_END)
                        if f.read(1) != b"\n":
                            f.write(b"\n")
                    f.write(line.encode() + b"\n")
                    f.flush()
                    os.fsync(f.fileno())
            except OSError as exc:
                raise CallbackStoreError(
                    f"callback for call {request.call_id} neither stored ({cause}) "
                    f"nor spooled to {self.spool_path} ({exc})"
                ) from exc
            self._dirty = True

    def _read(self) -> tuple[list[tuple[CallbackRequest, str]], list[str]]:
        """(requests with their line, lines kept as they are: unreadable ones, a torn tail)."""
        try:
            text = self.spool_path.read_text(encoding="utf-8", errors="surrogateescape")
        except FileNotFoundError:
            return [], []
        except OSError as exc:
            raise CallbackStoreError(f"cannot read the spool {self.spool_path}: {exc}") from exc
        lines = text.split("\n")
        torn = lines.pop()  # "" when the file ends with a newline
        good: list[tuple[CallbackRequest, str]] = []
        kept: list[str] = []
        for line in lines:
            if not line.strip():
                continue
            try:
                good.append((CallbackRequest.from_dict(json.loads(line)), line))
            except (ValueError, KeyError, TypeError, IndexError):
                kept.append(line)
        return good, kept + ([torn] if torn else [])

    def _rewrite(self, lines: list[str]) -> None:
        tmp = self.spool_path.with_name(self.spool_path.name + ".tmp")
        try:
            if not lines:
                self.spool_path.unlink(missing_ok=True)
                return
            with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write("\n".join(lines) + "\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.spool_path)  # atomic: the old spool or the new one, never half
        except OSError as exc:  # the requests are stored; a stale spool only replays again
            raise CallbackStoreError(f"cannot rewrite the spool {self.spool_path}: {exc}") from exc


def open_store(
    spec: str, *, policy: RetryPolicy | None = None, schema: str | None = None
) -> LifecycleStore:
    """The callback store a command line names: a `postgresql://` URL or a SQLite file."""
    if spec.startswith(("postgresql://", "postgres://")):
        from .callback_postgres import PostgresCallbackStore

        return PostgresCallbackStore(spec, schema=schema, policy=policy)
    return SQLiteCallbackStore(spec, policy=policy)


__all__ = [
    "SCHEMA_VERSION",
    "CallbackRequest",
    "CallbackStore",
    "CallbackStoreError",
    "MemoryCallbackStore",
    "SQLiteCallbackStore",
    "SpoolingStore",
    "open_store",
]
