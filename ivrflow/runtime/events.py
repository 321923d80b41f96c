"""Events a driver sends into a session. Every event carries its time.

`at` is seconds since the Unix epoch (UTC), as the driver's clock read it; the
interpreter never reads a clock of its own. Events are plain slotted records:
treat them as immutable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, get_args


@dataclass(slots=True)
class Digits:
    """Keys the caller pressed: one key, or a string from a gateway that collects them."""

    at: float
    keys: str
    terminated: bool = False  # the gateway stopped on the terminator key


@dataclass(slots=True)
class Utterance:
    """What the caller said, as the speech recognizer heard it."""

    at: float
    text: str
    confidence: float = 1.0


@dataclass(slots=True)
class NoInput:
    """The collect timeout elapsed (first-digit or inter-digit: the session knows which)."""

    at: float


@dataclass(slots=True)
class Hangup:
    """The caller hung up."""

    at: float


@dataclass(slots=True)
class LookupResult:
    at: float
    request: str  # the id of the `Lookup` action it answers
    value: Any


@dataclass(slots=True)
class LookupFailed:
    at: float
    request: str
    reason: str
    timed_out: bool = False


@dataclass(slots=True)
class QueueStatus:
    """Estimated wait time (seconds) and position, from the host's queue-status provider."""

    at: float
    queue: str
    ewt: float | None
    position: int | None = None


# `abandoned` (the caller hung up while waiting in the queue) and `callback` (left the queue
# with a key, for a callback) end a queue's wait; the others end any transfer.
TransferStatus: TypeAlias = Literal[
    "answered", "queued", "busy", "noanswer", "full", "failed", "abandoned", "callback"
]
TRANSFER_STATUSES: tuple[str, ...] = get_args(TransferStatus)


@dataclass(slots=True)
class TransferResult:
    """How a transfer ended. For a queue, the gateway says how long the caller waited
    (`wait`, seconds) and when the wait began (`queued_at`, epoch seconds) as it read them:
    the session checks them (garbage makes the queue leg's outcome `failed`, never a crash).
    """

    at: float
    status: TransferStatus
    detail: str | None = None
    wait: Any = None
    queued_at: Any = None
    key: Any = None  # status "callback": the key that left the queue (`while waiting`)


@dataclass(slots=True)
class CallbackStored:
    at: float
    reference: str | None = None


@dataclass(slots=True)
class CallbackFailed:
    at: float
    reason: str


# How a recording ended: a finish key, silence, the length cap, or the caller hanging up.
RecordingEnd: TypeAlias = Literal["key", "silence", "max", "hangup"]
RECORDING_ENDS: tuple[str, ...] = get_args(RecordingEnd)


@dataclass(slots=True)
class Recorded:
    """A `Record` action's message: where the host keeps it and how long it is. `text` is
    what a simulator or scenario typed for the audio (or a transcription, when the host has
    one). A `duration` of 0 or no `reference` means nothing was recorded."""

    at: float
    request: str
    reference: str | None
    duration: float
    ended_by: RecordingEnd = "silence"
    text: str | None = None


@dataclass(slots=True)
class RecordFailed:
    at: float
    request: str
    reason: str


Event: TypeAlias = (
    Digits
    | Utterance
    | NoInput
    | Hangup
    | LookupResult
    | LookupFailed
    | QueueStatus
    | TransferResult
    | CallbackStored
    | CallbackFailed
    | Recorded
    | RecordFailed
)

__all__ = [
    "CallbackFailed",
    "CallbackStored",
    "Digits",
    "Event",
    "Hangup",
    "LookupFailed",
    "LookupResult",
    "NoInput",
    "QueueStatus",
    "RECORDING_ENDS",
    "RecordFailed",
    "Recorded",
    "RecordingEnd",
    "TRANSFER_STATUSES",
    "TransferResult",
    "TransferStatus",
    "Utterance",
]
