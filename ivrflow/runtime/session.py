"""One call through a flow: a deterministic, sans-IO state machine.

`Session(flow, call_id=…, ani=…, dnis=…, at=…)`, then `start()` and
`send(event)` return the actions the driver must perform. The session never
reads a clock, sleeps or touches a file or socket: time arrives with events,
look-ups and transfers are actions answered by events. Whatever happens — a
bad event, a failing template, a loop in the flow — the call ends with exactly
one outcome and a record (`session.record`); nothing escapes `send`.

`Session` is the public face; the call's data is `state.CallState`, and the interpreter
is split by concern, each module returning typed results to the trampoline:

    interpreter   the trampoline (follow), the event handler table, the guard
    collect       input collection and timing: keys, type-ahead, captures, speech
    services      look-ups, queue figures and transfers, stored callbacks
    escalation    no-input / no-match: the rule, and retrying or giving up
    statements    entering a state, running a body, if / switch / split, call
    endings       the call's end and what it notes for the record
    speaking      say, play and the default prompts

The rules (VoiceXML-style input collection, escalation, defaults) are written
down in docs/runtime.md.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from dataclasses import fields
from typing import Any

from .. import model
from . import actions as act
from . import events as ev
from .collect import listening
from .endings import end_error, fail
from .interpreter import HANDLERS, begin, follow, guarded, recover
from .listener import Listener
from .record import build_record
from .services import MAX_RESULT_DEPTH, MAX_RESULT_ITEMS
from .snapshot import Key, dump, load
from .state import MAX_DIGITS, MAX_UTTERANCE, NEW, RUNNING, CallState
from .statements import STEP_BUDGET, draw

_LATEST = 32503680000.0  # year 3000: a later event time is a broken clock, not a call
_FIELDS = tuple(f.name for f in fields(CallState))
# Bound by assignment, not by the import: Python 3.11 compiles a method call on an imported
# name (`HANDLERS.get(…)`) as an attribute load that makes a bound method per event.
_HANDLERS = HANDLERS


class Session(CallState):
    """The state of one call (plain data, see `to_dict`), plus the flow it runs."""

    __slots__ = ()

    def __init__(
        self,
        flow: model.Flow,
        *,
        call_id: str,
        ani: str | None,
        dnis: str | None,
        at: float,
        variables: Mapping[str, Any] | None = None,
        seed: int = 0,
        emergency: Container[str] = frozenset(),
        listeners: Sequence[Listener] = (),
        mask_ani: bool = False,
    ) -> None:
        values = model.builtin_values(flow, ani=ani, dnis=dnis, call_id=call_id)
        # Each field set here, not by the dataclass's __init__: a call's setup is on the
        # hot path of every driver.
        self.flow = flow
        self.call_id = call_id
        self.ani = values["ani"]
        self.dnis = values["dnis"]
        self.started_at = self.now = float(at)
        self.vars = values
        self.state = flow.start
        self.phase = NEW
        self.noinput = self.nomatch = self.total_noinput = self.total_nomatch = 0
        self.buffer = self.typeahead = ""
        self.pending = None
        self.pending_since = 0.0
        self.seq = 0
        self.calls = []
        self.rng = (seed or 0x9E3779B9) & 0xFFFFFFFF
        self.outcome = None
        self.ended = False
        self.ended_at = None
        self.path = []
        self.inputs = []
        self.failures = []
        self.lookups = []
        self.queue_legs = []
        self.recordings = []
        self.errors = []
        self.choice = -1
        self.mask_ani = mask_ani
        self.in_error = False
        self.swallow = None
        self.listeners = tuple(listeners)
        self.emergency = emergency
        self.out = []
        self.budget = STEP_BUDGET
        self.label = ""
        if variables:
            values.update(variables)

    # ------------------------------------------------------------ public API
    def start(self) -> list[act.Action]:
        """The first actions of the call: the flow runs from its start state."""
        if self.phase is not NEW:
            return []
        self.phase = RUNNING
        return guarded(self, begin)

    def send(self, event: ev.Event) -> list[act.Action]:
        """Feed one event; get the actions to perform. Never raises."""
        if self.phase is NEW:
            return self.start() + self.send(event)
        if self.ended:
            return []
        handler = _HANDLERS.get(type(event))
        if handler is None:
            self._clock(getattr(event, "at", None))
            return guarded(self, fail, f"unexpected event {event!r:.80}")
        at = event.at
        # A clock that steps back is held still; NaN compares false and is ignored too.
        if isinstance(at, (int, float)) and self.now < at < _LATEST:
            self.now = float(at)
        out = self.out = []
        self.budget = STEP_BUDGET
        try:  # the guard of interpreter.guarded, inlined: this is the hot path
            result = handler(self, event)
            if result is not None:
                follow(self, result)
        except Exception as exc:
            recover(self, exc)
        return out

    def _clock(self, at: Any) -> None:
        """Move the clock to an event's time (`send` does it inline)."""
        if isinstance(at, (int, float)) and self.now < at < _LATEST:
            self.now = float(at)

    @property
    def record(self) -> dict[str, Any] | None:
        """The call record, once the call has ended."""
        return build_record(self) if self.ended else None

    def listening(self) -> act.Collect | None:
        """What the session waits for from the caller now, or None.

        A driver that dropped the rest of a batch (the caller barged in with the first
        keys of an entry) asks this to go on collecting the remaining keys.
        """
        return listening(self)

    def abort(self, reason: str, at: float | None = None) -> list[act.Action]:
        """End the call now with outcome `error` (the driver failed, not the flow).

        The record says why; a call already ended is left as it was.
        """
        if self.ended:
            return []
        if at is not None and self.now < at < _LATEST:
            self.now = float(at)
        out = self.out = []
        end_error(self, reason, say=False)
        return out

    def copy(self) -> Session:
        """An independent copy in this process (what a snapshot round trip gives, without
        the encoding): containers are copied, values shared — the session replaces values,
        it never changes one in place. The explorer forks calls with it."""
        twin = Session.__new__(Session)
        for name in _FIELDS:
            try:
                value = getattr(self, name)
            except AttributeError:
                continue
            setattr(twin, name, value.copy() if type(value) in (list, dict, set) else value)
        return twin

    def _draw(self, split: model.Split) -> model.Body:
        # The explorer (tools/explore/inputs.py) finds a seed for each branch with this.
        return draw(self, split)

    # snapshots live in snapshot.py; these two are the public face.
    def to_dict(self, key: Key | None = None) -> dict[str, Any]:
        return dump(self, key)

    @classmethod
    def from_dict(
        cls,
        flow: model.Flow,
        data: Mapping[str, Any],
        key: Key | None = None,
        *,
        emergency: Container[str] = frozenset(),
        listeners: Sequence[Listener] = (),
    ) -> Session:
        """Continue a call from `to_dict`'s data; the host's settings are given again."""
        return load(cls, flow, data, key, emergency=emergency, listeners=listeners)


__all__ = [
    "MAX_DIGITS",
    "MAX_RESULT_DEPTH",
    "MAX_RESULT_ITEMS",
    "MAX_UTTERANCE",
    "STEP_BUDGET",
    "Session",
]
