"""One JSON line per call start and end, for operators' log pipelines.

Written to a stream (standard error by `serve`), one line each, flushed:

    {"event": "call_start", "at": "…", "call_id": "…", "flow": "billing", "version": "2.3",
     "ani": "…", "dnis": "…"}
    {"event": "call_end", "at": "…", "call_id": "…", "flow": "billing", "version": "2.3",
     "ani": "…", "outcome": "transferred", "reason": null, "duration": 41.2}

Only these fields, always: never a variable, an input or a look-up answer, so a secure value
(a card number, a PIN) cannot reach the log. The ANI is masked (`**********4321`) when
`mask_ani` is set, as records are with `--mask-ani`.

Straight to the stream rather than through `logging`: a LogRecord, its formatter and handler
cost about three times the line itself, twice per call (bench/gateway.py --metrics-cost).
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, TextIO

from ..runtime.record import iso, mask

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


class CallLog:
    def __init__(self, stream: TextIO | None = None, mask_ani: bool = False) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.mask_ani = mask_ani
        self._lock = threading.Lock()  # records are written on a writer thread, starts on the loop

    def _ani(self, ani: Any) -> Any:
        return mask(ani) if self.mask_ani and isinstance(ani, str) else ani

    def _emit(self, entry: dict[str, Any]) -> None:
        line = _encode(entry) + "\n"
        try:
            with self._lock:
                self.stream.write(line)
                self.stream.flush()
        except (OSError, ValueError):  # a closed or broken log stream never breaks a call
            pass

    def started(self, session: Any) -> None:
        flow = session.flow
        self._emit({
            "event": "call_start",
            "at": iso(session.started_at),
            "call_id": session.call_id,
            "flow": flow.name,
            "version": flow.version,
            "ani": self._ani(session.ani),
            "dnis": session.dnis,
        })  # fmt: skip

    def ended(self, record: dict[str, Any]) -> None:
        outcome = record.get("outcome") or {}
        self._emit({
            "event": "call_end",
            "at": record.get("ended_at"),
            "call_id": record.get("call_id"),
            "flow": record.get("flow"),
            "version": record.get("flow_version"),
            "ani": self._ani(record.get("ani")),
            "outcome": outcome.get("kind"),
            "reason": outcome.get("reason"),
            "duration": record.get("duration"),
        })  # fmt: skip


__all__ = ["CallLog"]
