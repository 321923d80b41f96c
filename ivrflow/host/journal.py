"""A write-ahead journal of call starts and ends, so a crash never loses a call silently.

A call's record is written when the call ends. If the server dies first (`kill -9`, a power
cut, an OOM kill), the calls in flight would simply vanish from the records: no `abandoned`,
no `error`, nothing to count. The journal closes that gap. Before a call runs, one fsynced
JSON line says it started (with what a record needs: flow, version, ANI, DNIS, start time);
after its record is written, one line says it ended. On the next start, `recover_calls`
writes an `error` record (reason `server_stopped`) for every call that started and never
ended, then marks it ended. Recovery is idempotent: it writes with the sink's `write_once`,
which skips call ids the file already holds, so a crash during recovery only repeats writes
that are skipped.

The file is compacted (rewritten atomically with only the calls still open) as it grows,
so it stays as small as the number of calls in flight. One process per journal file.

    {"op":"start","call_id":"1700000000.42","flow":"billing",...,"at":1795525200.0}
    {"op":"end","call_id":"1700000000.42"}
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..runtime.record import iso, mask
from .callback_types import CallbackRequest

if TYPE_CHECKING:
    from ..runtime.session import Session
    from .sinks import RecordSink

RECOVERED_REASON = "server_stopped"


class CallbackStoreLike(Protocol):
    def get(self, call_id: str) -> CallbackRequest | None: ...


class CallJournal:
    """Call starts and ends, one fsynced line each; `open_calls()` are those not ended."""

    def __init__(
        self, path: str | os.PathLike[str], *, fsync: bool = True, compact_after: int = 1000
    ) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.compact_after = max(1, compact_after)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._open, self._lines = _load(self.path)
        # When the last process stopped writing: the best guess of when its calls were cut.
        self.last_written = self.path.stat().st_mtime if self.path.exists() else None
        self._fd: int | None = None  # kept open: one fsynced append per start and end

    # ------------------------------------------------------------ writing
    def started(self, session: Session) -> None:
        """Journal a call before it runs (fsynced when this returns)."""
        entry = {
            "op": "start",
            "call_id": session.call_id,
            "flow": session.flow.name,
            "flow_version": session.flow.version,
            "flow_hash": session.flow.content_hash,
            "ani": mask(session.ani) if session.mask_ani else session.ani,
            "dnis": session.dnis,
            "language": session.vars.get("language"),
            "at": session.started_at,
        }
        with self._lock:
            self._append(entry)
            self._open[session.call_id] = entry

    def ended(self, call_id: str) -> None:
        """Journal a call's end, after its record was written."""
        with self._lock:
            if self._open.pop(call_id, None) is None:
                return
            self._append({"op": "end", "call_id": call_id})
            if self._lines >= max(self.compact_after, 2 * len(self._open)):
                self._compact()

    def open_calls(self) -> list[dict[str, Any]]:
        """Calls started and not ended, oldest first."""
        with self._lock:
            return sorted(self._open.values(), key=lambda e: float(e.get("at") or 0))

    def compact(self) -> None:
        with self._lock:
            self._compact()

    def close(self) -> None:
        with self._lock:
            self._close_fd()

    def _close_fd(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), default=str)
        if self._fd is None:
            self._fd = _open_append(self.path)
        fd = self._fd
        start = os.lseek(fd, 0, os.SEEK_END)
        try:
            view = memoryview(line.encode("utf-8") + b"\n")
            while view:
                view = view[os.write(fd, view) :]
            if self.fsync:
                os.fsync(fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)  # no half line for the next entry to be glued to
            raise
        self._lines += 1

    def _compact(self) -> None:
        """Rewrite the journal with only the open calls: the old file or the new, never half."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        lines = [
            json.dumps(e, ensure_ascii=False, separators=(",", ":"), default=str)
            for e in self._open.values()
        ]
        with open(tmp, "wb") as f:
            f.write("".join(line + "\n" for line in lines).encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        self._close_fd()
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)
        self._lines = len(lines)


def _open_append(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    size = os.lseek(fd, 0, os.SEEK_END)
    # A torn last line (a crash mid-write) must not swallow the next entry.
    if size and os.pread(fd, 1, size - 1) != b"\n":
        os.write(fd, b"\n")
    return fd


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _load(path: Path) -> tuple[dict[str, dict[str, Any]], int]:
    """(open calls by id, lines in the file); torn or unreadable lines are ignored."""
    open_calls: dict[str, dict[str, Any]] = {}
    lines = 0
    if not path.exists():
        return open_calls, 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            lines += 1
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict) or not isinstance(entry.get("call_id"), str):
                continue
            if entry.get("op") == "start":
                open_calls[entry["call_id"]] = entry
            elif entry.get("op") == "end":
                open_calls.pop(entry["call_id"], None)
    return open_calls, lines


# ---------------------------------------------------------------- recovery
def recovered_record(
    entry: dict[str, Any], ended_at: float, callback: CallbackRequest | None = None
) -> dict[str, Any]:
    """The record of a call the server left unfinished: outcome `error`, reason
    `server_stopped`, in the same shape as every other record — or `callback_scheduled` when
    the callback store holds the call's request (the caller was promised a callback, and the
    dispatcher keeps it)."""
    start = float(entry.get("at") or ended_at)
    end = max(start, ended_at)
    why = "the server stopped before the call ended; record written by recovery"
    return {
        "call_id": entry["call_id"],
        "flow": entry.get("flow"),
        "flow_version": entry.get("flow_version"),
        "flow_hash": entry.get("flow_hash"),
        "ani": entry.get("ani"),
        "dnis": entry.get("dnis"),
        "language": entry.get("language"),
        "started_at": iso(start),
        "ended_at": iso(end),
        "duration": round(end - start, 3),
        "outcome": (
            {"kind": "error", "reason": RECOVERED_REASON, "state": None}
            if callback is None
            else {
                "kind": "callback_scheduled",
                "queue": callback.queue,
                "number": mask(callback.number),
                "reference": f"recovered:{callback.call_id}",
            }
        ),  # fmt: skip
        "path": [],
        "inputs": [],
        "lookups": [],
        "noinput": 0,
        "nomatch": 0,
        "failures": [],
        "errors": [why],
        "recovered": True,
    }


def recover_calls(
    journal: CallJournal,
    sink: RecordSink,
    now: float | None = None,
    callbacks: CallbackStoreLike | None = None,
) -> list[str]:
    """Write an `error` record for every call the journal holds open, mark each ended, and
    compact; return their call ids. The end time is when the journal was last written (the
    last sign of life of the server that died), or `now`. A call whose callback request is
    in `callbacks` (stored just before the crash) is recorded as `callback_scheduled`."""
    calls = journal.open_calls()
    ended_at = journal.last_written or (now if now is not None else time.time())
    done: list[str] = []
    write = getattr(sink, "write_once", sink.write)  # a second pass writes nothing twice
    for entry in calls:
        write(recovered_record(entry, ended_at, _stored_callback(callbacks, entry["call_id"])))
        journal.ended(entry["call_id"])
        done.append(entry["call_id"])
    journal.compact()
    return done


def _stored_callback(callbacks: CallbackStoreLike | None, call_id: str) -> CallbackRequest | None:
    if callbacks is None:
        return None
    try:
        found = callbacks.get(call_id)
    except Exception:  # the store is down: the call stays an error rather than a guess
        return None
    return found if isinstance(found, CallbackRequest) else None


__all__ = ["RECOVERED_REASON", "CallJournal", "recover_calls", "recovered_record"]
