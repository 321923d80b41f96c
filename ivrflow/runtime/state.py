"""The call's state as plain data: what a snapshot stores, the phase it is in, its rows.

`CallState` is the one object every module of the interpreter works on (`Session` is its
public face and adds the methods). Its rows — inputs, failures, call frames — are named
tuples: as small as the tuples they replace, the same JSON lists in a snapshot, and read
by name. The expression scope (`variable`, `number_list`, `hours_status`) lives here too:
it only reads the state.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from .. import model
from ..model import hours as hours_mod
from . import actions as act
from .evaluate import EvaluationError
from .listener import Listener

MAX_DIGITS = 64  # digits buffered before input is cut
MAX_UTTERANCE = 1000  # characters of an utterance that are looked at


class Phase(StrEnum):
    """What the call waits for. A `StrEnum`: snapshots hold the text, and a tool's
    `session.phase == "menu"` keeps working; the interpreter compares members by identity."""

    NEW = "new"  # not started
    RUNNING = "running"  # running statements, between two waits
    MENU = "menu"
    CAPTURE = "capture"
    OFFER = "offer"  # a callback offer: yes or no
    CAPTURE_CONFIRM = "capture_confirm"  # "you entered …, is that right?"
    DID_YOU_SAY = "did_you_say"  # a menu choice heard with low confidence
    OFFER_CONFIRM = "offer_confirm"  # "we will call you on …, is that right?"
    OFFER_NUMBER = "offer_number"  # keying the number a callback rings
    LOOKUP = "lookup"
    QUEUE_STATUS = "queue_status"
    TRANSFER = "transfer"
    CALLBACK_STORE = "callback_store"
    RECORDING = "recording"
    ENDED = "ended"


# The members as module names: `Phase.MENU` goes through the enum's metaclass (~80 ns on
# Python 3.11), too slow for the per-event path.
NEW = Phase.NEW
RUNNING = Phase.RUNNING
MENU = Phase.MENU
CAPTURE = Phase.CAPTURE
OFFER = Phase.OFFER
CAPTURE_CONFIRM = Phase.CAPTURE_CONFIRM
DID_YOU_SAY = Phase.DID_YOU_SAY
OFFER_CONFIRM = Phase.OFFER_CONFIRM
OFFER_NUMBER = Phase.OFFER_NUMBER
LOOKUP = Phase.LOOKUP
QUEUE_STATUS = Phase.QUEUE_STATUS
TRANSFER = Phase.TRANSFER
CALLBACK_STORE = Phase.CALLBACK_STORE
RECORDING = Phase.RECORDING
ENDED = Phase.ENDED

# A question the interpreter asks itself (yes/no, a number): the state's prompts don't fit.
QUESTIONS = frozenset({CAPTURE_CONFIRM, DID_YOU_SAY, OFFER_CONFIRM, OFFER_NUMBER})
INPUT_PHASES = frozenset({MENU, CAPTURE, OFFER}) | QUESTIONS
# Keys pressed while the call waits for the host are kept for the next question.
TYPE_AHEAD_PHASES = frozenset({LOOKUP, QUEUE_STATUS, CALLBACK_STORE})


class Input(NamedTuple):
    """One input of the call (a compact row; the record makes a dict of it)."""

    state: str
    kind: str  # dtmf | speech
    value: str  # "****" for a secure one
    t: float  # seconds since the call started
    ended_by: str | None  # how a capture's entry ended: terminator, max, interdigit, too long
    # The recognizer's confidence: a sixth field that only speech rows carry (key rows stay
    # five long, and so do their snapshots).
    confidence: float | None = None


class Failure(NamedTuple):
    """Where a no-input or no-match happened (per-menu rates in `ivrflow report`)."""

    state: str
    kind: str  # noinput | nomatch
    t: float


class CallFrame(NamedTuple):
    """Where a `call` returns to."""

    state: str
    role: str  # the role of the body the call left (results.Role)
    resume: list[tuple[int, int]]  # (body number, statement index), outermost first
    counts: tuple[int, int]  # that state's no-input / no-match counts: its visit goes on
    label: str  # the branch label the call left from


# A row made without the named tuple's Python-level __new__ (a C call, half the time):
# `new_row(Input, (state, kind, value, t, ended_by))`, on the per-event path.
new_row: Any = tuple.__new__


class _Unavailable:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<secure value not restored>"


# A secure value a snapshot left out (no key): reading it takes the error path.
UNAVAILABLE: Any = _Unavailable()


@dataclass(slots=True, eq=False, repr=False)
class CallState:
    """One call, as data. A session is compared and hashed by identity, as before."""

    # What a snapshot stores (snapshot.py names each field).
    flow: model.Flow
    call_id: str
    ani: str | None
    dnis: str | None
    started_at: float
    now: float
    vars: dict[str, Any]
    state: str
    phase: Phase = NEW
    noinput: int = 0  # in this visit of the state
    nomatch: int = 0
    total_noinput: int = 0
    total_nomatch: int = 0
    buffer: str = ""  # keys of an entry under way
    typeahead: str = ""  # keys for the next question
    pending: str | None = None  # the request id of the look-up waited for
    pending_since: float = 0.0
    seq: int = 0  # look-up requests made
    calls: list[CallFrame] = field(default_factory=list)
    rng: int = 0x9E3779B9  # xorshift32 state for splits
    outcome: dict[str, Any] | None = None
    ended: bool = False
    ended_at: float | None = None
    path: list[tuple[str, float]] = field(default_factory=list)  # (state, entered at)
    inputs: list[Input] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    lookups: list[dict[str, Any]] = field(default_factory=list)
    queue_legs: list[dict[str, Any]] = field(default_factory=list)  # queue_leg.py
    recordings: list[dict[str, Any]] = field(default_factory=list)  # recording.py
    errors: list[str] = field(default_factory=list)
    choice: int = -1  # the menu choice a "did you say …?" asks about
    mask_ani: bool = False
    in_error: bool = False  # the flow's `error` state was entered: never twice
    swallow: str | None = None  # a terminator to drop after an entry filled up
    # What the host gives again when it restores a call.
    listeners: tuple[Listener, ...] = ()
    emergency: Container[str] = frozenset()
    # Working fields of one `send`.
    out: list[act.Action] = field(default_factory=list)
    budget: int = 0  # statements and state entries left
    label: str = ""  # the branch running, for coverage and traces

    # ------------------------------------------------------------ the expression scope
    def variable(self, name: str) -> Any:
        if name == "now":
            return hours_mod.local_time(self.now, self.flow.settings.timezone)
        try:
            value = self.vars[name]
        except KeyError:
            raise EvaluationError(f"'{name}' has no value yet") from None
        if value is UNAVAILABLE:
            raise EvaluationError(f"secure value '{name}' was not kept in the snapshot")
        return value

    def number_list(self, name: str) -> Container[Any]:
        return self.flow.lists[name].numbers

    def hours_status(self, name: str, function: str) -> bool:
        h = self.flow.hours[name]
        emergency = name in self.emergency
        if function == "emergency":
            return emergency
        if function == "holiday":
            return hours_mod.is_holiday(h, self.now)
        is_open = hours_mod.is_open(h, self.now, emergency)
        return is_open if function == "open" else not is_open


__all__ = [
    "CAPTURE",
    "CAPTURE_CONFIRM",
    "CALLBACK_STORE",
    "DID_YOU_SAY",
    "ENDED",
    "INPUT_PHASES",
    "LOOKUP",
    "MAX_DIGITS",
    "MAX_UTTERANCE",
    "MENU",
    "NEW",
    "OFFER",
    "OFFER_CONFIRM",
    "OFFER_NUMBER",
    "QUESTIONS",
    "QUEUE_STATUS",
    "RECORDING",
    "RUNNING",
    "TRANSFER",
    "TYPE_AHEAD_PHASES",
    "UNAVAILABLE",
    "CallFrame",
    "CallState",
    "Failure",
    "Input",
    "Phase",
    "new_row",
]
