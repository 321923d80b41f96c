"""Actions a session asks its driver to perform. The driver owns all I/O.

Plain slotted records (cheap on the hot path); treat them as immutable. Every
action converts to a JSON-friendly dict with `as_dict()` for transcripts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, TypeAlias

from ..model.destinations import Destination


class _AsDict:
    __slots__ = ()

    def as_dict(self) -> dict[str, Any]:
        return {"action": type(self).__name__.lower(), **asdict(self)}  # type: ignore[call-overload]


@dataclass(slots=True)
class Say(_AsDict):
    """Speak rendered text (text-to-speech)."""

    text: str
    language: str
    voice: str | None = None
    barge_in: bool = True


@dataclass(slots=True)
class Play(_AsDict):
    """Play an audio file."""

    path: str
    barge_in: bool = True


@dataclass(slots=True)
class Collect(_AsDict):
    """Listen for the caller. VoiceXML-style input spec; the driver runs the timers.

    The driver answers with `Digits` (as pressed, or the whole string from a
    gateway that collects, `terminated=True` when it stopped on the terminator),
    `Utterance`, or `NoInput` when `timeout` (before the first key) or
    `interdigit` (after one) elapses.
    """

    kinds: tuple[str, ...]  # "dtmf", "speech"
    min_digits: int
    max_digits: int
    terminator: str | None
    timeout: float
    interdigit: float
    barge_in: bool
    phrases: tuple[str, ...] = ()  # the state's phrases (menu choices, yes/no): a grammar
    secure: bool = False  # the driver must not log what is collected
    # The recognizer's settings, when `kinds` has "speech" (docs/runtime.md, "Speech"):
    language: str | None = None  # the language to recognize
    speech_timeout: float | None = None  # silence that ends an utterance; None: "auto"
    hints: tuple[str, ...] = ()  # more words and phrases to expect
    free_speech: bool = False  # dictation (a capture of words), not a choice among phrases


@dataclass(slots=True)
class Lookup(_AsDict):
    """Call a host-registered function; answer with `LookupResult` or `LookupFailed`."""

    request: str
    function: str
    args: tuple[Any, ...]
    timeout: float


@dataclass(slots=True)
class GetQueueStatus(_AsDict):
    """Ask the ACD for the queue's EWT and position; answer with `QueueStatus`."""

    queue: str


@dataclass(slots=True)
class HoldPlan(_AsDict):
    """A queue transfer's `while waiting:` as the gateway plays it: the music, every `every`
    seconds the message (rendered when the call was queued) and the caller's position and
    EWT (`announce`, as the queue says them then), and the keys that leave the queue (the
    gateway answers `TransferResult(status="callback", key=…)`)."""

    music: str | None
    every: float
    announce: tuple[str, ...]
    message: tuple[Say | Play, ...]
    keys: tuple[str, ...]


@dataclass(slots=True)
class TransferToQueue(_AsDict):
    queue: str
    priority: int
    skills: tuple[str, ...]
    ewt: float | None
    max_wait: float | None = None  # the flow's: the gateway ends the wait with `noanswer`
    hold: HoldPlan | None = None  # the flow's in-queue experience (`while waiting:`)


@dataclass(slots=True)
class TransferToDestination(_AsDict):
    """Dial an outside destination — an E.164 number, a SIP URI or an extension, already
    checked (`model.destinations`) — and send its postdial keys once it answers; answer
    with `TransferResult`."""

    destination: Destination


@dataclass(slots=True)
class StoreCallback(_AsDict):
    """Store a callback request; answer with `CallbackStored` or `CallbackFailed`."""

    call_id: str
    number: str
    queue: str
    ani: str | None
    window: tuple[str, str] | None  # ISO datetimes of the preferred window, in the flow's zone
    requested_at: float
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Record(_AsDict):
    """Record the caller into the host's recording store; answer with `Recorded` or
    `RecordFailed`. The driver beeps first when `beep`, stops on a `finish` key, after
    `silence` seconds without sound, or at `max_length`, and keeps the audio (the session
    only ever holds its reference)."""

    request: str
    name: str  # the record state, for the stored file's name
    max_length: float
    silence: float | None
    finish: str
    beep: bool


@dataclass(slots=True)
class Hangup(_AsDict):
    reason: str


Action: TypeAlias = (
    Say
    | Play
    | Collect
    | Lookup
    | GetQueueStatus
    | TransferToQueue
    | TransferToDestination
    | StoreCallback
    | Record
    | Hangup
)

__all__ = [
    "Action",
    "Collect",
    "GetQueueStatus",
    "Hangup",
    "HoldPlan",
    "Lookup",
    "Play",
    "Record",
    "Say",
    "StoreCallback",
    "TransferToDestination",
    "TransferToQueue",
]
