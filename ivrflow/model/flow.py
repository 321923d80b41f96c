"""The compiled flow: immutable, validated, free of syntax concerns.

The compiler produces these frozen dataclasses; the interpreter and the static
tools (check, graph, explore) read them. Names are resolved, durations are
seconds, regexes are compiled, lists are loaded and normalized to E.164.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeAlias

from ..lang.ast import Span
from . import phone
from .destinations import DestinationKind
from .keypatterns import KeyEntry, KeyOption, key_option

# Variables every call has; `builtin_values` gives their values as a call starts.
BUILTIN_VARIABLES: Mapping[str, str] = MappingProxyType(
    {
        "ani": "the caller's number, E.164-normalized (none when withheld)",
        "dnis": "the number the caller dialed, E.164-normalized",
        "call_id": "the call's id, as the gateway gives it",
        "language": "the call's language tag, e.g. pt-BR",
        "voice": "the text-to-speech voice",
        "now": "the event's time, in the flow's time zone",
        "ewt": "estimated wait time of the current queue, in seconds",
        "position": "the caller's position in the current queue",
        "queue": "the name of the current queue",
        "callback_number": "the number a callback will ring",
        "last_input": "what the caller last pressed or said",
        "error": "the reason of the last failure (look-up, transfer, store)",
    }
)


def builtin_values(
    flow: Flow, *, ani: str | None, dnis: str | None, call_id: Any
) -> dict[str, Any]:
    """The built-in variables as a call starts (all but `now`, which is read, never kept),
    so the interpreter's calls and the traffic walk's begin alike. `ani` and `dnis` as the
    gateway gives them (normalized here); `call_id` the gateway's, or the walk's unknown."""
    settings = flow.settings
    return {
        "ani": phone.normalize(ani, settings.country),
        "dnis": phone.normalize(dnis, settings.country),
        "call_id": call_id,
        "language": settings.language,
        "voice": settings.voice,
        "ewt": None,
        "position": None,
        "queue": None,
        "callback_number": None,
        "last_input": None,
        "error": None,
    }


# Special goto targets, never state names.
REPEAT = "repeat"
RETURN = "return"
HANGUP = "hangup"
SPECIAL_TARGETS = frozenset({REPEAT, RETURN, HANGUP})


@dataclass(frozen=True, slots=True)
class Where:
    """A position in a source file, for runtime messages and traces."""

    path: str
    span: Span

    def __str__(self) -> str:
        return f"{self.path}:{self.span.line}:{self.span.column}"


# ---------------------------------------------------------------- expressions


@dataclass(frozen=True, slots=True)
class Const:
    value: Any  # int | float | str | bool | None | datetime.time | datetime.date


@dataclass(frozen=True, slots=True)
class Var:
    name: str
    attrs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ListRef:
    name: str


@dataclass(frozen=True, slots=True)
class HoursRef:
    name: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expression


@dataclass(frozen=True, slots=True)
class Neg:
    operand: Expression


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str  # + - * / % == != < <= > >= and or in "not in" startswith
    left: Expression
    right: Expression


@dataclass(frozen=True, slots=True)
class Match:
    operand: Expression
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Call:
    function: str  # a built-in: open, closed, holiday, emergency, len, lower, upper, …
    args: tuple[Expression, ...]  # line_type: the number, then the flow's country (a Const)


@dataclass(frozen=True, slots=True)
class MakeList:
    items: tuple[Expression, ...]


@dataclass(frozen=True, slots=True)
class Test:
    name: str  # withheld, empty
    operand: Expression
    negated: bool


Expression: TypeAlias = (
    Const | Var | ListRef | HoursRef | Not | Neg | BinOp | Match | Call | MakeList | Test
)


# ---------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Say:
    where: Where
    text: Mapping[str, str]  # language tag → template text; "" key: any language
    barge_in: bool | None  # None: the flow's default
    voice: str | None
    language: str | None


@dataclass(frozen=True, slots=True)
class Play:
    where: Where
    path: str
    barge_in: bool | None


@dataclass(frozen=True, slots=True)
class Assign:
    where: Where
    name: str
    value: Expression


@dataclass(frozen=True, slots=True)
class Goto:
    where: Where
    target: str  # a state name or one of SPECIAL_TARGETS


@dataclass(frozen=True, slots=True)
class Hangup:
    where: Where
    reason: str | None
    outcome: str = "self_served"  # or "error": what the call record counts it as


@dataclass(frozen=True, slots=True)
class CallSub:
    where: Where
    target: str


@dataclass(frozen=True, slots=True)
class Return:
    where: Where


@dataclass(frozen=True, slots=True)
class If:
    where: Where
    branches: tuple[tuple[Expression | None, Body], ...]  # None: else


@dataclass(frozen=True, slots=True)
class Switch:
    where: Where
    subject: Expression
    cases: tuple[tuple[tuple[Any, ...], Body], ...]  # () values: else


@dataclass(frozen=True, slots=True)
class Split:
    """A/B split: weights in percent summing to 100, drawn from the session's seed."""

    where: Where
    branches: tuple[tuple[float, Body], ...]


Statement: TypeAlias = Say | Play | Assign | Goto | Hangup | CallSub | Return | If | Switch | Split
Body: TypeAlias = tuple[Statement, ...]


def nested_bodies(stmt: Statement) -> tuple[Body, ...]:
    """The bodies a statement holds: an if's branches, a switch's cases, a split's shares."""
    if isinstance(stmt, If):
        return tuple(b for _, b in stmt.branches)
    if isinstance(stmt, Switch):
        return tuple(b for _, b in stmt.cases)
    if isinstance(stmt, Split):
        return tuple(b for _, b in stmt.branches)
    return ()


# ---------------------------------------------------------------- input


@dataclass(frozen=True, slots=True)
class Escalation:
    """What to do on the n-th no-input or no-match; the last one listed repeats."""

    by_count: Mapping[int, Body]

    def for_count(self, count: int) -> Body | None:
        if not self.by_count:
            return None
        if count in self.by_count:
            return self.by_count[count]
        if 0 in self.by_count:  # `noinput:` without a count: every time
            return self.by_count[0]
        below = [n for n in self.by_count if n <= count]
        return self.by_count[max(below)] if below else None


NO_ESCALATION = Escalation(MappingProxyType({}))
# `noinput exhausted -> …`, `nomatch exhausted -> …`: the exit of each kind's own limit.
NO_EXITS: Mapping[str, Body] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Choice:
    where: Where
    keys: tuple[str, ...]  # DTMF keys: 0-9 * #
    phrases: tuple[str, ...]  # as written
    body: Body
    sequences: tuple[KeyOption, ...] = ()  # multi-key options: "100", "_1XX", regex "…"


def choice_name(choice: Choice) -> str:
    """A choice's name: its first key, else its first key sequence or pattern, else phrase."""
    if choice.keys:
        return choice.keys[0]
    return choice.sequences[0].label if choice.sequences else choice.phrases[0]


def choice_label(choice: Choice) -> str:
    """How a menu choice is named in traces and coverage: `choice 1`, `choice _1XX`."""
    return f"choice {choice_name(choice)}"


@dataclass(frozen=True, slots=True)
class Validator:
    name: str  # luhn, cpf, cnpj, mod11, regex, range, date
    args: tuple[Any, ...]
    where: Where


# ---------------------------------------------------------------- states


@dataclass(frozen=True, slots=True)
class Recognizer:
    """How speech is recognized: given per flow, per state, or left to the recognizer."""

    language: str | None = None  # None: the call's language at the time
    end_timeout: float | None = None  # silence that ends an utterance; None: "auto"
    hints: tuple[str, ...] = ()  # words and phrases to expect, beside a state's own phrases


@dataclass(frozen=True, slots=True)
class InputSettings:
    timeout: float  # first input (VoiceXML `timeout`)
    interdigit: float
    retries: int  # no-input + no-match attempts before `exhausted`
    confidence: float  # below this ASR confidence, confirm "did you say …?"
    # `input dtmf`, `input speech`, `input dtmf speech`; None: the state's own default
    modes: tuple[str, ...] | None = None
    recognizer: Recognizer = Recognizer()
    # `retries noinput 2, nomatch 3`: each kind's own limit (None: only the combined one),
    # reached, it takes `noinput exhausted` / `nomatch exhausted` (else `exhausted`).
    noinput_limit: int | None = None
    nomatch_limit: int | None = None
    reset: bool = False  # `counts reset`: a valid input sets both counts back to zero


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    where: Where
    body: Body


@dataclass(frozen=True, slots=True)
class Menu:
    name: str
    where: Where
    prompt: Body
    choices: tuple[Choice, ...]
    noinput: Escalation
    nomatch: Escalation
    exhausted: Body | None  # None: the documented default
    input: InputSettings
    limit_exits: Mapping[str, Body] = field(default_factory=lambda: NO_EXITS)
    # Multi-key options (docs/runtime.md, "Multi-key menus"): every keyed option in order,
    # single keys among them; None when each choice is one key (decided on the first key).
    entry: KeyEntry | None = None
    into: str | None = None  # `into ext`: the variable the keys of the choice go into


@dataclass(frozen=True, slots=True)
class Capture:
    name: str
    where: Where
    prompt: Body
    variable: str
    min_digits: int
    max_digits: int
    terminator: str | None
    validators: tuple[Validator, ...]
    confirm: Say | None  # read-back: 1 accepts, 2 re-enters
    secure: bool
    ok: Body
    noinput: Escalation
    nomatch: Escalation
    exhausted: Body | None
    input: InputSettings
    words: tuple[int, int] | None = None  # free speech: fewest and most words; None: digits
    limit_exits: Mapping[str, Body] = field(default_factory=lambda: NO_EXITS)


@dataclass(frozen=True, slots=True)
class Lookup:
    name: str
    where: Where
    prompt: Body
    function: str
    args: tuple[Expression, ...]
    result: str | None
    timeout: float
    ok: Body
    error: Body | None  # None: the documented default


@dataclass(frozen=True, slots=True)
class Hold:
    """A queue transfer's `while waiting:` block: what the queued caller hears and may do
    until an agent answers (docs/language.md, "While the caller waits")."""

    where: Where
    music: str | None  # the music-on-hold class (Asterisk), or a URL the webhook plays
    every: float  # seconds between the periodic announcements
    announce: tuple[str, ...]  # "position", "ewt": said with each announcement
    message: Body  # say/play statements: the periodic message
    keys: Mapping[str, Body]  # a key that leaves the queue → where the caller goes


@dataclass(frozen=True, slots=True)
class Transfer:
    name: str
    where: Where
    body: Body  # runs first, with ewt/position known
    queue: str | None  # a declared queue, named in the flow
    destination: Expression | None  # a number, SIP URI or extension (see `kind`)
    priority: Expression | None
    skills: tuple[str, ...]
    announce: tuple[str, ...]  # "ewt", "position"
    on_result: Mapping[str, Body]  # busy, noanswer, full, failed
    kind: DestinationKind | None = None  # what `destination` is: number, sip, extension
    postdial: Expression | None = None  # keys sent once the far end answers
    queue_expr: Expression | None = None  # a queue chosen at run time (`queue target`)
    queues: tuple[str, ...] = ()  # every queue it may reach: (queue,), or `among`, or all
    max_wait: float | None = None  # seconds in the queue before the noanswer branch (overflow)
    hold: Hold | None = None  # `while waiting:`: the in-queue flow

    @property
    def to_queue(self) -> bool:
        return self.queue is not None or self.queue_expr is not None

    @property
    def expressions(self) -> tuple[Expression, ...]:
        """Every expression the transfer evaluates (its queue, destination, keys, priority)."""
        found = (self.queue_expr, self.destination, self.postdial, self.priority)
        return tuple(e for e in found if e is not None)


@dataclass(frozen=True, slots=True)
class CallbackOffer:
    name: str
    where: Where
    prompt: Body
    queue: str
    number: Expression  # defaults to ani
    confirm: Say | None
    window: str | tuple[dt.time, dt.time] | None  # an hours name or a time range
    accept: tuple[str, ...]  # keys and phrases that accept
    decline: tuple[str, ...]
    scheduled: Body
    declined: Body | None
    failed: Body | None
    noinput: Escalation
    nomatch: Escalation
    exhausted: Body | None
    input: InputSettings
    limit_exits: Mapping[str, Body] = field(default_factory=lambda: NO_EXITS)


@dataclass(frozen=True, slots=True)
class Record:
    """Record a message from the caller: `record voicemail:`. The host keeps the audio;
    the call keeps its reference in `into` and in the record."""

    name: str
    where: Where
    prompt: Body  # the consent notice first, then the state's own prompts
    into: str  # variable: {file, duration, ended_by, text}
    max_length: float  # seconds
    silence: float | None  # end after this long without sound; None: only keys and max
    finish: str  # keys that end the recording ("" none)
    beep: bool
    playback: bool  # play the message back before `ok`
    ok: Body
    silent: Body | None  # nothing was recorded; None: `ok` runs
    error: Body | None  # the host could not record; None: the documented default


State: TypeAlias = Step | Menu | Capture | Lookup | Transfer | CallbackOffer | Record

# What each kind of state is called where people read it (diagrams, reports).
STATE_KINDS: Mapping[type, str] = {
    Step: "step",
    Menu: "menu",
    Capture: "capture",
    Lookup: "lookup",
    Transfer: "transfer",
    CallbackOffer: "callback",
    Record: "record",
}


# ---------------------------------------------------------------- declarations


@dataclass(frozen=True, slots=True)
class Queue:
    name: str
    title: str | None
    skills: tuple[str, ...]
    priority: int
    where: Where


@dataclass(frozen=True, slots=True)
class NumberList:
    name: str
    numbers: frozenset[str]  # E.164 where the entry is a phone number, else as written
    source: str | None
    where: Where


@dataclass(frozen=True, slots=True)
class Closure:
    first: dt.date
    last: dt.date
    times: tuple[tuple[dt.time, dt.time], ...]  # empty: all day
    reason: str | None


@dataclass(frozen=True, slots=True)
class Calendar:
    """A maintained holiday calendar (the `holidays` library): BR-SP, its categories, exceptions."""

    code: str  # as written: "BR-SP"
    country: str
    subdivision: str | None
    categories: tuple[str, ...]  # always "public", then the ones the line adds
    excepted: frozenset[str] = frozenset()  # holiday names the center works on


@dataclass(frozen=True, slots=True)
class Hours:
    """Weekly schedule (0 = Monday) plus closures and calendars, read in `timezone`.

    A dated closure wins over a calendar's holiday on the same day (it says which hours close)."""

    name: str
    timezone: str
    weekly: Mapping[int, tuple[tuple[dt.time, dt.time], ...]]
    closures: tuple[Closure, ...]
    where: Where
    calendars: tuple[Calendar, ...] = ()


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    params: tuple[str, ...]
    timeout: float | None
    where: Where


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    text: Mapping[str, str]  # language tag → text
    where: Where


@dataclass(frozen=True, slots=True)
class FlowSettings:
    language: str = "en-US"
    voice: str | None = None
    timezone: str = "UTC"
    country: str | None = None
    input: InputSettings = field(
        default_factory=lambda: InputSettings(
            timeout=5.0, interdigit=3.0, retries=3, confidence=0.5
        )
    )
    barge_in: bool = True
    fuzzy: float = 0.8  # similarity a spoken phrase needs to match a choice


@dataclass(frozen=True, slots=True)
class Flow:
    name: str
    title: str | None
    description: str | None
    version: str | None
    path: str
    settings: FlowSettings
    variables: Mapping[str, Expression]  # `var` declarations: initial values
    states: Mapping[str, State]
    start: str
    queues: Mapping[str, Queue]
    lists: Mapping[str, NumberList]
    hours: Mapping[str, Hours]
    functions: Mapping[str, Function]
    prompts: Mapping[str, Prompt]
    secure_variables: frozenset[str]
    sources: tuple[str, ...]  # every file that went into it, main file first
    content_hash: str


__all__ = [
    "BUILTIN_VARIABLES",
    "builtin_values",
    "STATE_KINDS",
    "choice_label",
    "choice_name",
    "key_option",
    "KeyEntry",
    "KeyOption",
    "nested_bodies",
    "HANGUP",
    "NO_ESCALATION",
    "NO_EXITS",
    "REPEAT",
    "RETURN",
    "SPECIAL_TARGETS",
    "Assign",
    "BinOp",
    "Body",
    "Call",
    "CallSub",
    "CallbackOffer",
    "Capture",
    "Choice",
    "Calendar",
    "Closure",
    "Const",
    "Escalation",
    "Expression",
    "Flow",
    "FlowSettings",
    "Function",
    "Goto",
    "Hangup",
    "Hours",
    "HoursRef",
    "If",
    "InputSettings",
    "ListRef",
    "Lookup",
    "MakeList",
    "Match",
    "Menu",
    "Neg",
    "Not",
    "NumberList",
    "Play",
    "Prompt",
    "Queue",
    "Recognizer",
    "Record",
    "Return",
    "Say",
    "Split",
    "State",
    "Statement",
    "Step",
    "Switch",
    "Test",
    "Hold",
    "Transfer",
    "Validator",
    "Var",
    "Where",
]
