"""One JSON log line per call start and end, for operators' log pipelines.

Logger `ivrflow.calls`, level INFO, the message a JSON object:

    {"event": "call_start", "at": "…", "call_id": "…", "flow": "billing", "version": "2.3",
     "ani": "…", "dnis": "…"}
    {"event": "call_end", "at": "…", "call_id": "…", "flow": "billing", "version": "2.3",
     "ani": "…", "outcome": "transferred", "reason": null, "duration": 41.2}

Only these fields, always: never a variable, an input or a look-up answer, so a secure value
(a card number, a PIN) cannot reach the log. The ANI is masked (`**********4321`) when
`mask_ani` is set, as records are with `--mask-ani`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ..runtime.record import iso, mask

log = logging.getLogger("ivrflow.calls")


class CallLog:
    def __init__(self, logger: logging.Logger = log, mask_ani: bool = False) -> None:
        self.logger = logger
        self.mask_ani = mask_ani

    def _ani(self, ani: Any) -> Any:
        return mask(ani) if self.mask_ani and isinstance(ani, str) else ani

    def _emit(self, entry: dict[str, Any]) -> None:
        self.logger.info(json.dumps(entry, ensure_ascii=False, separators=(",", ":")))

    def started(self, session: Any) -> None:
        if not self.logger.isEnabledFor(logging.INFO):
            return
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
        if not self.logger.isEnabledFor(logging.INFO):
            return
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


def json_lines_handler(stream: Any) -> logging.Handler:
    """A handler that writes the messages of `ivrflow.calls` as they are: one JSON per line."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler


__all__ = ["CallLog", "json_lines_handler", "log"]
