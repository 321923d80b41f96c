"""Call detail records (CDR): built from a finished session, written by a sink.

Exactly one record per call. The session builds it (`session.record`); the
host writes it through a `RecordSink`. The default sink appends JSON lines,
flushed and fsynced per record, so a crash loses at most the line being
written; `recover()` trims such a torn last line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .actions import Play, Say
    from .session import Session

OUTCOMES = ("self_served", "transferred", "callback_scheduled", "abandoned", "error")


def mask(number: str | None, keep: int = 4) -> str | None:
    """'+5511987654321' → '**********4321': enough to recognise, not to dial."""
    if number is None:
        return None
    return "*" * max(0, len(number) - keep) + number[-keep:]


def _iso(at: float) -> str:
    return dt.datetime.fromtimestamp(at, dt.UTC).isoformat(timespec="milliseconds")


def build_record(session: Session) -> dict[str, Any]:
    start = session.started_at
    end = session.ended_at if session.ended_at is not None else session.now
    flow = session.flow
    outcome = dict(session.outcome or {"kind": "error", "reason": "call did not end"})
    return {
        "call_id": session.call_id,
        "flow": flow.name,
        "flow_version": flow.version,
        "flow_hash": flow.content_hash,
        "ani": mask(session.ani) if session.mask_ani else session.ani,
        "dnis": session.dnis,
        "language": session.vars.get("language"),
        "started_at": _iso(start),
        "ended_at": _iso(end),
        "duration": round(end - start, 3),
        "outcome": outcome,
        "path": [{"state": s, "t": round(at - start, 3)} for s, at in session.path],
        "inputs": [_input(*row) for row in session.inputs],
        "lookups": [dict(lk) for lk in session.lookups],
        "noinput": session.total_noinput,
        "nomatch": session.total_nomatch,
        "errors": list(session.errors),
    }


def _input(state: str, kind: str, value: str, t: float, how: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"state": state, "kind": kind, "value": value, "t": t}
    if how:
        entry["ended_by"] = how
    return entry


class Listener:
    """Tracing hooks; subclass and override what you need. Secure input arrives masked."""

    def state_entered(self, session: Session, state: str, at: float) -> None:
        pass

    def prompt(self, session: Session, action: Say | Play) -> None:
        pass

    def input(self, session: Session, kind: str, value: str, at: float) -> None:
        pass

    def lookup(self, session: Session, function: str, status: str, latency_ms: float) -> None:
        pass

    def edge(self, session: Session, source: str, target: str, label: str) -> None:
        """The call follows a `->`/`goto` from `source`; `label` names the branch taken
        ("choice 1", "noinput 2", "exhausted", "ok", "error", "busy", … or "" for a plain goto).
        `target` may be `repeat`, `hangup` or `return`."""

    def ended(self, session: Session, record: dict[str, Any]) -> None:
        pass


class RecordSink(Protocol):
    def write(self, record: dict[str, Any]) -> None: ...


class MemorySink:
    """Keeps records in a list (tests, the simulator)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def write(self, record: dict[str, Any]) -> None:
        self.records.append(record)


class JsonLinesSink:
    """One JSON object per line; each record flushed and fsynced before `write` returns."""

    def __init__(self, path: str | Path, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        recover(self.path)

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            if self.fsync:
                os.fsync(f.fileno())


def recover(path: Path) -> int:
    """Cut a torn last line (a crash mid-write); return how many bytes were dropped."""
    if not path.exists():
        return 0
    with open(path, "rb+") as f:
        data = f.read()
        if not data or data.endswith(b"\n"):
            return 0
        keep = data.rfind(b"\n") + 1
        f.truncate(keep)
        return len(data) - keep


def read_records(path: str | Path) -> list[dict[str, Any]]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out


__all__ = [
    "OUTCOMES",
    "JsonLinesSink",
    "Listener",
    "MemorySink",
    "RecordSink",
    "build_record",
    "mask",
    "read_records",
    "recover",
]
