"""A callback request as the flow left it, and the error of every callback store."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import IvrflowRuntimeError
from ..runtime.actions import StoreCallback


class CallbackStoreError(IvrflowRuntimeError):
    """A callback request could not be stored or read."""


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    call_id: str
    number: str  # E.164
    queue: str
    ani: str | None
    window: tuple[str, str] | None  # ISO datetimes of the preferred window
    requested_at: float  # epoch seconds
    flow: str
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_action(cls, action: StoreCallback, flow_name: str) -> CallbackRequest:
        w = action.window
        return cls(
            action.call_id, action.number, action.queue, action.ani, (w[0], w[1]) if w else None,
            float(action.requested_at), flow_name, dict(action.extra),
        )  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CallbackRequest:
        w = data.get("window")
        return cls(
            str(data["call_id"]), str(data["number"]), str(data["queue"]), data.get("ani"),
            (str(w[0]), str(w[1])) if w else None, float(data["requested_at"]),
            str(data.get("flow", "")), dict(data.get("extra") or {}),
        )  # fmt: skip


__all__ = ["CallbackRequest", "CallbackStoreError"]
