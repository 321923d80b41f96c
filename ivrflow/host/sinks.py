"""Where call records go: a `RecordSink`, JSON lines on disk by default.

The default sink appends JSON lines, flushed and fsynced per record, so a crash loses at most
the line being written; `recover()` trims such a torn last line. Replays and recovery passes
write with `write_once`, which skips a call id the file already holds. `SpoolingSink` keeps
what a failing sink refused in a local spool and replays it later.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from pathlib import Path
from typing import Any, Protocol


class RecordSink(Protocol):
    def write(self, record: dict[str, Any]) -> None: ...


class MemorySink:
    """Keeps records in a list (tests, the simulator)."""

    blocking = False  # no disk: the engine writes it on the event loop

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        self.records.append(record)


class JsonLinesSink:
    """One JSON object per line; each record flushed and fsynced before `write` returns.

    `write` always appends: a live call's record is never dropped, even if its call id was
    seen before (an id reused after a restart). `write_once` skips a call id the file already
    holds: replays of a spool and recovery passes use it, so running them twice never writes
    a call twice. (The ids are read once at open; one process per file.) A write that fails
    part-way is cut back, so the next record never lands glued to half of this one.
    """

    def __init__(self, path: str | Path, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.skipped = 0  # records `write_once` did not write again
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        recover(self.path)
        self._seen: set[str] = record_ids(self.path)
        self._torn = False  # a failed write may have left half a line

    def __contains__(self, call_id: object) -> bool:
        return call_id in self._seen

    def write(self, record: dict[str, Any]) -> None:
        self._write(record, once=False)

    def write_once(self, record: dict[str, Any]) -> bool:
        """Write unless the file holds a record of this call id already; True if written."""
        return self._write(record, once=True)

    def _write(self, record: dict[str, Any], once: bool) -> bool:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        call_id = record.get("call_id")
        with self._lock:
            if once and isinstance(call_id, str) and call_id in self._seen:
                self.skipped += 1
                return False
            if self._torn:
                recover(self.path)
                self._torn = False
            self._append(line.encode("utf-8"))
            if isinstance(call_id, str):
                self._seen.add(call_id)
            return True

    def _append(self, data: bytes) -> None:
        """Unbuffered writes; on failure (disk full, file too large, I/O error) cut the file
        back to where it was, so no half line is left for the next record to join."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            start = os.lseek(fd, 0, os.SEEK_END)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if self.fsync:
                    os.fsync(fd)
            except BaseException:
                try:
                    os.ftruncate(fd, start)
                except OSError:
                    self._torn = True  # the next write trims it first
                raise
        finally:
            os.close(fd)


class SpoolingSink:
    """Wraps any sink; a record it refuses goes to an fsynced JSON-lines spool, never dropped.

    The spool is replayed into the sink when it is created (a restart) and after the next
    record the sink accepts. Replay is exactly once when the sink has `write_once` (as
    `JsonLinesSink` has) or is idempotent per call id: a crash between writing replayed
    records and rewriting the spool only repeats writes the sink skips. Only when even the spool cannot be written does
    `write` raise. One process per spool file.
    """

    def __init__(self, inner: RecordSink, spool_path: str | os.PathLike[str]) -> None:
        self.inner = inner
        self.spool_path = Path(spool_path)
        self._lock = threading.RLock()
        self._dirty = self.spool_path.exists() and self.spool_path.stat().st_size > 0
        self.last_error: str | None = None
        self.failures = 0  # records the sink refused (the metrics read it)
        if self._dirty:
            with contextlib.suppress(Exception):
                self.replay()

    @property
    def group_commit(self) -> bool:
        """Whether concurrent writes pay off (the inner sink commits them together)."""
        return bool(getattr(self.inner, "group_commit", False))

    def write(self, record: dict[str, Any]) -> None:
        # The inner sink is written outside the lock (it has its own), so a group-commit sink
        # gets concurrent writes; the spool and its replay are under it.
        try:
            self.inner.write(record)
        except Exception as exc:  # whatever the sink raised, the record must not be lost
            with self._lock:
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.failures += 1
                self._spool(record, exc)
            return
        if self._dirty:  # what is not moved stays spooled; the next write tries again
            with contextlib.suppress(Exception):
                self.replay()

    def write_once(self, record: dict[str, Any]) -> None:
        """`write`, skipping a call the sink already holds (when the sink can tell)."""
        with self._lock:
            try:
                _write_once(self.inner, record)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.failures += 1
                self._spool(record, exc)

    def replay(self) -> int:
        """Move spooled records into the sink, oldest first; return how many were moved."""
        with self._lock:
            good, kept = _read_spool(self.spool_path)
            moved = 0
            try:
                for record, _ in good:
                    _write_once(self.inner, record)
                    moved += 1
            finally:  # rewrite only after the sink accepted them
                if moved:
                    _rewrite(self.spool_path, [line for _, line in good[moved:]] + kept)
            self._dirty = moved < len(good)
            return moved

    def spooled(self) -> list[dict[str, Any]]:
        with self._lock:
            return [record for record, _ in _read_spool(self.spool_path)[0]]

    def _spool(self, record: dict[str, Any], cause: Exception) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
        try:
            _append_line(self.spool_path, line)
        except OSError as exc:
            raise OSError(
                f"record of call {record.get('call_id')} neither written ({cause}) "
                f"nor spooled to {self.spool_path} ({exc})"
            ) from exc
        self._dirty = True


def _write_once(sink: RecordSink, record: dict[str, Any]) -> None:
    once = getattr(sink, "write_once", None)
    if once is not None:
        once(record)
    else:  # a sink that cannot tell: it must be idempotent per call id itself
        sink.write(record)


def _append_line(path: Path, line: str) -> None:
    """Append one line and fsync; a torn last line (a crash) is closed first, not glued to."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "ab+") as f:
        f.seek(0, os.SEEK_END)
        if f.tell():
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")
        f.write(line.encode("utf-8", "surrogateescape") + b"\n")
        f.flush()
        os.fsync(f.fileno())


def _read_spool(path: Path) -> tuple[list[tuple[dict[str, Any], str]], list[str]]:
    """(records with their line, lines kept as they are: unreadable ones, a torn tail)."""
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return [], []
    lines = text.split("\n")
    torn = lines.pop()  # "" when the file ends with a newline
    good: list[tuple[dict[str, Any], str]] = []
    kept: list[str] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            kept.append(line)
            continue
        if isinstance(record, dict):
            good.append((record, line))
        else:
            kept.append(line)
    return good, kept + ([torn] if torn else [])


def _rewrite(path: Path, lines: list[str]) -> None:
    """Replace `path` by `lines` atomically (the old file or the new one, never half)."""
    if not lines:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def recover(path: Path) -> int:
    """Cut a torn last line (a crash mid-write); return how many bytes were dropped.

    A last line that is a whole JSON object, only missing its newline, is kept (the newline
    is added): the crash came after the record, not in it.
    """
    if not path.exists():
        return 0
    with open(path, "rb+") as f:
        size = f.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        # Read back only as far as the last newline: a records file can be large.
        block, tail = 65536, b""
        while True:
            start = max(0, size - len(tail) - block)
            f.seek(start)
            tail = f.read(size - len(tail) - start) + tail
            cut = tail.rfind(b"\n")
            if cut >= 0 or start == 0:
                break
        if tail.endswith(b"\n"):
            return 0
        last = tail[cut + 1 :]
        if _whole_object(last):
            f.seek(0, os.SEEK_END)
            f.write(b"\n")
            return 0
        f.truncate(size - len(last))
        return len(last)


def _whole_object(data: bytes) -> bool:
    try:
        return isinstance(json.loads(data), dict)
    except ValueError:
        return False


_ID_PREFIX = '{"call_id":'


def record_ids(path: str | Path) -> set[str]:
    """The call ids of the records in a JSON-lines file (an empty set if there is none)."""
    ids: set[str] = set()
    decoder = json.JSONDecoder()
    if not Path(path).exists():
        return ids
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                if line.startswith(_ID_PREFIX):  # how this module writes them: no full parse
                    value = decoder.raw_decode(line, len(_ID_PREFIX))[0]
                else:
                    value = json.loads(line).get("call_id") if line.strip() else None
            except (ValueError, AttributeError):
                continue
            if isinstance(value, str):
                ids.add(value)
    return ids


def read_records(path: str | Path) -> list[dict[str, Any]]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out


__all__ = [
    "JsonLinesSink",
    "MemorySink",
    "RecordSink",
    "SpoolingSink",
    "read_records",
    "record_ids",
    "recover",
]
