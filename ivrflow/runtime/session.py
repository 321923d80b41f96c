"""One call through a flow: a deterministic, sans-IO state machine.

`Session(flow, call_id=…, ani=…, dnis=…, at=…)`, then `start()` and
`send(event)` return the actions the driver must perform. The session never
reads a clock, sleeps or touches a file or socket: time arrives with events,
look-ups and transfers are actions answered by events. Whatever happens — a
bad event, a failing template, a loop in the flow — the call ends with exactly
one outcome and a record (`session.record`); nothing escapes `send`.

The rules (VoiceXML-style input collection, escalation, defaults) are written
down in docs/runtime.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Container, Iterator, Mapping, Sequence
from typing import Any

from .. import model
from ..model import choice_label, phone, prompts, speech, templates, validators
from ..model import hours as hours_mod
from ..model.index import body_index
from ..model.walk import ends
from . import actions as act
from . import events as ev
from .evaluate import EvaluationError, evaluate, truthy
from .record import Listener, build_record, mask

# One `send` may run at most this many statements and state entries: a flow
# that loops without waiting for the caller ends with an `error` outcome.
STEP_BUDGET = 1000
MAX_DIGITS = 64  # digits buffered before input is cut
MAX_UTTERANCE = 1000  # characters of an utterance that are looked at
# A look-up result is the host's data, kept in the call's variables and snapshots: one nested
# deeper than this, or with more items, is refused as malformed (the look-up's error branch).
MAX_RESULT_DEPTH = 64
MAX_RESULT_ITEMS = 100_000

# ("goto", target) | ("hangup", reason, outcome) | ("return",) | ("end", role)
Result = tuple[Any, ...]


class _BudgetExceeded(Exception):
    pass


class Session:
    """The state of one call. Plain data (see `to_dict`), plus the flow it runs."""

    __slots__ = (
        "flow", "call_id", "ani", "dnis", "started_at", "now", "vars", "state", "phase",
        "noinput", "nomatch", "total_noinput", "total_nomatch", "buffer", "typeahead",
        "pending", "pending_since", "seq", "calls", "rng", "outcome", "ended", "ended_at",
        "path", "inputs", "failures", "lookups", "errors", "choice", "listeners", "emergency",
        "mask_ani", "_out", "_budget", "_in_error", "_label", "_swallow",
    )  # fmt: skip

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
        country = flow.settings.country
        self.flow = flow
        self.call_id = call_id
        self.ani = phone.normalize(ani, country)
        self.dnis = phone.normalize(dnis, country)
        self.started_at = self.now = float(at)
        self.vars: dict[str, Any] = {
            "ani": self.ani,
            "dnis": self.dnis,
            "call_id": call_id,
            "language": flow.settings.language,
            "voice": flow.settings.voice,
            "ewt": None,
            "position": None,
            "queue": None,
            "callback_number": None,
            "last_input": None,
            "error": None,
        }
        self.state = flow.start
        self.phase = "new"
        self.noinput = self.nomatch = self.total_noinput = self.total_nomatch = 0
        self.buffer = self.typeahead = ""
        self.pending: str | None = None
        self.pending_since = 0.0
        self.seq = 0
        # (state, body role, return frames, that state's no-input/no-match counts, branch label)
        self.calls: list[tuple[str, str, list[tuple[int, int]], tuple[int, int], str]] = []
        self.rng = (seed or 0x9E3779B9) & 0xFFFFFFFF
        self.outcome: dict[str, Any] | None = None
        self.ended = False
        self.ended_at: float | None = None
        self.path: list[tuple[str, float]] = []
        self.inputs: list[tuple[str, str, str, float, str | None]] = []
        self.failures: list[tuple[str, str, float]] = []  # (state, noinput|nomatch, t) each
        self.lookups: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.choice = -1
        self.listeners = tuple(listeners)
        self.emergency = emergency
        self.mask_ani = mask_ani
        self._out: list[act.Action] = []
        self._budget = STEP_BUDGET
        self._in_error = False
        self._label = ""
        self._swallow: str | None = None  # a terminator to drop after an entry filled up
        self.vars.update(variables or {})

    # ------------------------------------------------------------ public API
    def start(self) -> list[act.Action]:
        """The first actions of the call: the flow runs from its start state."""
        if self.phase != "new":
            return []
        self.phase = "running"
        return self._guarded(self._begin)

    def _begin(self) -> None:
        for name, expr in self.flow.variables.items():
            if name not in self.vars:
                self.vars[name] = evaluate(expr, self)
        self._follow(self._enter(self.flow.start))

    def send(self, event: ev.Event) -> list[act.Action]:
        """Feed one event; get the actions to perform. Never raises."""
        if self.phase == "new":
            return self.start() + self.send(event)
        if self.ended:
            return []
        at = getattr(event, "at", None)
        # A clock that steps back is held still; NaN compares false and is ignored too.
        if isinstance(at, (int, float)) and self.now < at < _LATEST:
            self.now = float(at)
        handler = _HANDLERS.get(type(event))
        if handler is None:
            return self._guarded(self._fail, f"unexpected event {event!r:.80}")
        out = self._out = []
        self._budget = STEP_BUDGET
        try:
            handler(self, event)
        except Exception as exc:  # the same guard as _guarded, inlined: this is the hot path
            self._recover(exc)
        return out

    @property
    def record(self) -> dict[str, Any] | None:
        """The call record, once the call has ended."""
        return build_record(self) if self.ended else None

    # ------------------------------------------------------------ scope (for expressions)
    def variable(self, name: str) -> Any:
        if name == "now":
            return hours_mod.local_time(self.now, self.flow.settings.timezone)
        try:
            value = self.vars[name]
        except KeyError:
            raise EvaluationError(f"'{name}' has no value yet") from None
        if value is _UNAVAILABLE:
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

    # ------------------------------------------------------------ the driving loop
    def _guarded(self, run: Any, *args: Any) -> list[act.Action]:
        out = self._out = []
        self._budget = STEP_BUDGET
        try:
            run(*args)
        except Exception as exc:
            self._recover(exc)
        return out

    def _recover(self, exc: Exception) -> None:
        """A call must never crash: the error path runs instead, and the call still ends."""
        if isinstance(exc, _BudgetExceeded):
            self._end_error(
                f"step budget exceeded in state '{self.state}': the flow loops without "
                "waiting for the caller",
                say=True,
            )
            return
        try:
            self._fail(_describe(exc))
        except Exception as inner:
            self._end_error(f"{_describe(exc)}; then {_describe(inner)}", say=True)

    def _follow(self, result: Result | None) -> None:
        while result is not None and not self.ended:
            kind = result[0]
            if kind == "goto":
                target = result[1]
                for listener in self.listeners:
                    self._notify(listener, "edge", self.state, target, self._label)
                if target == model.REPEAT:
                    result = self._enter(self.state, repeat=True)
                elif target == model.HANGUP:
                    result = ("hangup", None, "self_served")
                elif target == model.RETURN:
                    result = ("return",)
                else:
                    result = self._enter(target)
            elif kind == "hangup":
                for listener in self.listeners:
                    end = "(error)" if result[2] == "error" else model.HANGUP
                    self._notify(listener, "edge", self.state, end, self._label)
                reason = result[1] or "flow ended the call"
                if result[2] == "error":
                    self.errors.append(reason)
                    self._end("error", reason=reason, state=self.state)
                else:
                    self._end("self_served", reason=reason)
                self._out.append(act.Hangup(result[1] or "done"))
                result = None
            elif kind == "return":
                if not self.calls:
                    raise EvaluationError(
                        f"'return' in state '{self.state}' with no call to return to"
                    )
                for listener in self.listeners:
                    self._notify(listener, "edge", self.state, model.RETURN, self._label)
                state, role, frames, counts, label = self.calls.pop()
                self.state = state
                self.noinput, self.nomatch = counts  # the caller's visit of that state goes on
                self._label = label
                index = body_index(self.flow)
                result = self._resume([(index.bodies[b], i) for b, i in frames], role)
            else:  # ("end", role): a body ran to its end
                result = self._fallthrough(result[1])

    def _enter(self, name: str, repeat: bool = False) -> Result | None:
        self._budget -= 1
        if self._budget < 0:
            raise _BudgetExceeded
        state = self.flow.states[name]
        if not repeat:
            self.noinput = self.nomatch = 0
            self.state = name
            self.path.append((name, self.now))
            for listener in self.listeners:
                self._notify(listener, "state_entered", name, self.now)
        self.buffer = ""
        self.phase = "running"
        self._label = ""
        t = type(state)
        if t is model.Step:
            return self._exec(state.body, "step")  # type: ignore[union-attr]
        if t is model.Transfer:
            tr: model.Transfer = state  # type: ignore[assignment]
            if tr.queue is not None:
                self.phase = "queue_status"
                self._out.append(act.GetQueueStatus(tr.queue))
                return None
            return self._exec(tr.body, "transfer")
        if t is model.Lookup:
            return self._exec(state.prompt, "lookup")  # type: ignore[union-attr]
        return self._exec(state.prompt, "prompt")  # type: ignore[union-attr]

    def _exec(self, body: model.Body, role: str, label: str = "") -> Result:
        self._label = label  # which branch runs, for coverage and traces
        result = self._run(body, 0)
        if result is None:
            return ("end", role)
        return result if result[0] != "call" else self._finish(result, role, [])

    def _resume(self, frames: list[tuple[model.Body, int]], role: str) -> Result:
        """Continue after a `call` returned: the innermost body first, then outward."""
        for k in range(len(frames) - 1, -1, -1):
            body, index = frames[k]
            result = self._run(body, index)
            if result is not None:
                return self._finish(result, role, frames[:k])
        return ("end", role)

    def _finish(
        self, result: Result | None, role: str, outer: list[tuple[model.Body, int]]
    ) -> Result:
        if result is None:
            return ("end", role)
        if result[0] == "call":  # remember where to come back, as stable body numbers
            index = body_index(self.flow)
            chain = outer + result[2][::-1]
            frames = [(index.ids[id(b)], j) for b, j in chain]
            counts = (self.noinput, self.nomatch)
            self.calls.append((self.state, role, frames, counts, self._label))
            self._label = "call"
            return ("goto", result[1])
        return result

    def _run(self, body: model.Body, start: int) -> Result | None:
        """Run statements from `start`; a result when one leaves the body, else None."""
        for i in range(start, len(body)):
            stmt = body[i]
            self._budget -= 1
            if self._budget < 0:
                raise _BudgetExceeded
            if isinstance(stmt, model.Say):
                self._say(stmt)
            elif isinstance(stmt, model.Goto):
                return ("goto", stmt.target)
            elif isinstance(stmt, model.Assign):
                self.vars[stmt.name] = evaluate(stmt.value, self)
            elif isinstance(stmt, model.Hangup):
                return ("hangup", stmt.reason, stmt.outcome)
            elif isinstance(stmt, model.Play):
                self._emit_prompt(act.Play(stmt.path, self._barge_in(stmt.barge_in)))
            elif isinstance(stmt, model.CallSub):
                return ("call", stmt.target, [(body, i + 1)])
            elif isinstance(stmt, model.Return):
                return ("return",)
            else:  # If, Switch, Split: run the chosen block, then carry on here
                result = self._run(self._choose_block(stmt), 0)
                if result is not None:
                    if result[0] == "call":
                        result[2].append((body, i + 1))
                    return result
        return None

    def _choose_block(self, stmt: model.If | model.Switch | model.Split) -> model.Body:
        if isinstance(stmt, model.If):
            for cond, branch in stmt.branches:
                if cond is None or truthy(evaluate(cond, self)):
                    return branch
            return ()
        if isinstance(stmt, model.Switch):
            subject = evaluate(stmt.subject, self)
            for values, branch in stmt.cases:
                if not values or subject in values:
                    return branch
            return ()
        return self._draw(stmt)

    def _notify(self, listener: Listener, hook: str, *args: Any) -> None:
        """Call a listener's hook; a broken listener is noted, never allowed to break a call."""
        try:
            getattr(listener, hook)(self, *args)
        except Exception as exc:
            failed = f"listener {type(listener).__name__}.{hook} failed: {exc!r:.200}"
            self.errors.append(self._scrub(failed))

    def _edge(self, target: str, label: str) -> None:
        """Tell listeners the call ends through a pseudo-state (see flowgraph.TERMINALS)."""
        for listener in self.listeners:
            self._notify(listener, "edge", self.state, target, label)

    def _fallthrough(self, role: str) -> Result | None:
        state = self.flow.states[self.state]
        if role == "prompt":
            self._listen(state)
            return None
        if role == "lookup":
            self._request_lookup(state)  # type: ignore[arg-type]
            return None
        if role == "transfer":
            self._transfer(state)  # type: ignore[arg-type]
            return None
        if role == "handler":  # the escalation prompt played; the state asks again
            for listener in self.listeners:
                self._notify(listener, "edge", self.state, self.state, self._label)
            return self._after_failure(state)
        raise EvaluationError(f"state '{self.state}' ended without going anywhere")

    # ------------------------------------------------------------ prompts
    def _language(self) -> str:
        return str(self.vars.get("language") or self.flow.settings.language)

    def _barge_in(self, flag: bool | None) -> bool:
        return self.flow.settings.barge_in if flag is None else flag

    def _say(self, say: model.Say) -> None:
        variables = self.vars
        language = say.language or variables["language"] or self.flow.settings.language
        voice = say.voice or variables["voice"]
        barge_in = self.flow.settings.barge_in if say.barge_in is None else say.barge_in
        key = (id(say), language, voice, barge_in)
        cached = _SAID.get(key)
        if cached is None or cached[0] is not say:
            cached = _SAID[key] = (say, self._prepare_say(say, language, voice, barge_in))
            if len(_SAID) > 20_000:
                _SAID.clear()
        prepared = cached[1]
        if isinstance(prepared, str):  # a template: render it for this call
            try:
                text = templates.render(prepared, _TemplateScope(self), language)
            except Exception as exc:
                raise EvaluationError(f"{say.where}: prompt template failed: {exc}") from exc
            prepared = act.Say(text, language, voice, barge_in)
        self._out.append(prepared)
        for listener in self.listeners:
            self._notify(listener, "prompt", prepared)

    def _prepare_say(
        self,
        say: model.Say,
        language: str,
        voice: str | None,
        barge_in: bool,
    ) -> act.Say | str:
        """Per statement and language, once: the action of a constant prompt, or the
        template text to render each time."""
        text = say.text.get("") if "" in say.text else prompts.in_language(say.text, language)
        if text is None:
            raise EvaluationError(f"{say.where}: the prompt has no text in {language}")
        if templates.is_template(text):
            return text
        return act.Say(text, language, voice, barge_in)

    def _emit_prompt(self, action: act.Say | act.Play) -> None:
        self._out.append(action)
        for listener in self.listeners:
            self._notify(listener, "prompt", action)

    def _say_default(self, key: str, **values: str) -> None:
        language = self._language()
        self._emit_prompt(
            act.Say(
                prompts.default(key, language, **values), language, self.vars.get("voice"), True
            )
        )

    def _draw(self, split: model.Split) -> model.Body:
        # xorshift32: deterministic per seed, and the state is one integer in snapshots.
        x = self.rng
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self.rng = x
        point = (x % 10_000) / 100.0
        total = 0.0
        for weight, body in split.branches:
            total += weight
            if point < total:
                return body
        return split.branches[-1][1]

    # ------------------------------------------------------------ input collection
    def _listen(self, state: model.State, sub: str | None = None) -> None:
        """Ask the driver to collect; type-ahead already buffered is used first."""
        phase = self.phase = sub or _COLLECT_PHASE[type(state)]
        if self.typeahead:
            keys, self.typeahead = self.typeahead, ""
            result = self._on_keys(keys, False)
            if result is not None or self.phase != phase or self.ended:
                self._follow(result)
                return
        self._out.append(self._remaining(self._collect_spec(state, phase)))

    def _remaining(self, spec: act.Collect) -> act.Collect:
        """Keys already in started the entry: collect the rest, with the inter-digit timeout."""
        if not self.buffer:
            return spec
        have = len(self.buffer)
        return dataclasses.replace(
            spec,
            min_digits=max(0, spec.min_digits - have),
            max_digits=max(1, spec.max_digits - have),
            timeout=spec.interdigit,
        )

    def listening(self) -> act.Collect | None:
        """What the session waits for from the caller now, or None.

        A driver that dropped the rest of a batch (the caller barged in with the first
        keys of an entry) asks this to go on collecting the remaining keys.
        """
        if self.ended or self.phase not in _INPUT_PHASES:
            return None
        state = self.flow.states[self.state]
        return self._remaining(self._collect_spec(state, self.phase))

    def _collect_spec(self, state: model.State, phase: str) -> act.Collect:
        barge = self._barge_in(None)
        out = self._out
        if out and isinstance(out[-1], act.Say | act.Play):  # the usual case: a prompt, then this
            barge = out[-1].barge_in
        else:
            for a in reversed(out):
                if isinstance(a, act.Say | act.Play):
                    barge = a.barge_in
                    break
        key = (id(state), phase, barge)
        cached = _SPECS.get(key)
        if cached is not None and cached[0] is state:
            return cached[1]
        if len(_SPECS) > 20_000:
            _SPECS.clear()
        spec = self._build_spec(state, phase, barge)
        _SPECS[key] = (state, spec)
        return spec

    def _build_spec(self, state: model.State, phase: str, barge: bool) -> act.Collect:
        inp = getattr(state, "input", self.flow.settings.input)
        if phase == "capture":
            cap: model.Capture = state  # type: ignore[assignment]
            return act.Collect(
                ("dtmf", "speech"),
                cap.min_digits,
                cap.max_digits,
                cap.terminator,
                inp.timeout,
                inp.interdigit,
                barge,
                (),
                cap.secure,
            )
        if phase == "offer_number":
            return act.Collect(("dtmf",), 8, 15, "#", inp.timeout, inp.interdigit, barge)
        if phase == "menu":
            menu: model.Menu = state  # type: ignore[assignment]
            phrases = tuple(p for c in menu.choices for p in c.phrases)
            kinds = ("dtmf", "speech") if phrases else ("dtmf",)
            return act.Collect(kinds, 1, 1, None, inp.timeout, inp.interdigit, barge, phrases)
        if phase == "offer":
            offer: model.CallbackOffer = state  # type: ignore[assignment]
            phrases = tuple(a for a in offer.accept + offer.decline if len(a) > 1)
            return act.Collect(
                ("dtmf", "speech"), 1, 1, None, inp.timeout, inp.interdigit, barge, phrases
            )
        # Yes/no confirmations: 1 / 2 or spoken.
        return act.Collect(
            ("dtmf", "speech"),
            1,
            1,
            None,
            inp.timeout,
            inp.interdigit,
            barge,
            ("yes", "no", "sim", "não"),
        )

    def _on_digits(self, e: ev.Digits) -> None:
        phase = self.phase
        keys = _keys(e.keys)
        if self._swallow is not None:
            if keys[:1] == self._swallow:
                keys = keys[1:]
                if not keys:
                    self._swallow = None
                    return
            self._swallow = None
        if phase in _INPUT_PHASES:
            result = self._on_keys(keys, e.terminated, raw=e.keys)
            if result is not None:
                self._follow(result)
        elif phase in ("lookup", "queue_status", "callback_store"):
            self.typeahead = (self.typeahead + keys)[:MAX_DIGITS]  # type-ahead
        # else: keys while a transfer rings are not ours

    def _on_keys(self, keys: str, terminated: bool, raw: str | None = None) -> Result | None:
        state = self.flow.states[self.state]
        if not keys:
            if terminated and self.phase in ("capture", "offer_number"):
                keys = "#"  # a gateway that strips the terminator: the entry was just "#"
            else:
                return self._failure("nomatch") if raw else None
        if self.phase == "capture":
            return self._capture_keys(state, keys, terminated)  # type: ignore[arg-type]
        if self.phase == "offer_number":
            return self._number_keys(state, keys, terminated)  # type: ignore[arg-type]
        key, self.typeahead = keys[0], (keys[1:] + self.typeahead)[:MAX_DIGITS]
        self._record_input("dtmf", key)
        return self._choose(state, key, None)

    def _choose(self, state: model.State, key: str | None, answer: bool | None) -> Result | None:
        """A single key (or a yes/no) in a menu, an offer or a confirmation."""
        phase = self.phase
        if phase == "menu":
            menu: model.Menu = state  # type: ignore[assignment]
            for choice in menu.choices:
                if key in choice.keys:
                    return self._exec(choice.body, "branch", choice_label(choice))
            return self._failure("nomatch")
        if phase == "offer":
            offer: model.CallbackOffer = state  # type: ignore[assignment]
            if key in offer.accept:
                return self._callback_accepted(offer)
            if key in offer.decline:
                return self._callback_declined(offer)
            return self._failure("nomatch")
        yes = answer if answer is not None else {"1": True, "2": False}.get(key or "")
        if yes is None:
            return self._failure("nomatch")
        if phase == "did_you_say":
            menu = state  # type: ignore[assignment]
            if yes:
                choice = menu.choices[self.choice]
                return self._exec(choice.body, "branch", choice_label(choice))
            return self._failure("nomatch")
        if phase == "capture_confirm":
            cap: model.Capture = state  # type: ignore[assignment]
            return (
                self._exec(cap.ok, "branch", "ok") if yes else self._enter(self.state, repeat=True)
            )
        if phase == "offer_confirm":
            if yes:
                return self._store_callback(state)  # type: ignore[arg-type]
            self._say_default("callback_number")
            self._listen(state, "offer_number")
            return None
        return None

    def _capture_keys(self, cap: model.Capture, keys: str, terminated: bool) -> Result | None:
        self.buffer = (self.buffer + keys)[:MAX_DIGITS]
        end = cap.terminator
        at_end = self.buffer.find(end) if end is not None else -1
        if terminated and (
            at_end < 0 and len(self.buffer) > cap.max_digits or at_end > cap.max_digits
        ):
            # A gateway collected one entry, longer than allowed: not the first keys of it.
            self.buffer = ""
            self._record_input("dtmf", keys, cap.secure, "too long")
            return self._failure("nomatch")
        if 0 <= at_end <= cap.max_digits:  # the terminator came first: the entry is before it
            value, rest = self.buffer[:at_end], self.buffer[at_end + 1 :]
            self.typeahead = rest + self.typeahead
            return self._capture_done(cap, value, "terminator")
        if len(self.buffer) >= cap.max_digits:  # full: extra keys are type-ahead
            value, rest = self.buffer[: cap.max_digits], self.buffer[cap.max_digits :]
            if end is not None and rest.startswith(end):
                rest = rest[1:]  # the terminator the caller added out of habit
            elif not rest:
                self._swallow = end  # … or that arrives with the next key event
            self.typeahead = rest + self.typeahead
            return self._capture_done(cap, value, "max")
        if terminated:
            return self._capture_done(cap, self.buffer, "terminator")
        return None  # keep collecting: the inter-digit timeout now applies

    def _capture_done(self, cap: model.Capture, value: str, how: str) -> Result | None:
        self.buffer = ""
        self._record_input("dtmf", value, cap.secure, how)
        if len(value) < cap.min_digits:
            return self._failure("nomatch" if value or how == "terminator" else "noinput")
        for v in cap.validators:
            if not validators.BUILTIN[v.name].func(value, *v.args):
                return self._failure("nomatch")
        self.vars[cap.variable] = value
        self.vars["last_input"] = "****" if cap.secure else value
        if cap.confirm is not None:
            self._say(cap.confirm)
            self._listen(cap, "capture_confirm")
            return None
        return self._exec(cap.ok, "branch", "ok")

    def _on_noinput(self, e: ev.NoInput | ev.TimerFired) -> None:
        if self.phase not in _INPUT_PHASES:
            return
        state = self.flow.states[self.state]
        if self.phase == "capture" and self.buffer:
            # Inter-digit timeout with keys buffered: VoiceXML takes what is there.
            self._follow(self._capture_done(state, self.buffer, "interdigit"))  # type: ignore[arg-type]
            return
        if self.phase == "offer_number" and self.buffer:
            self._follow(self._number_done(state, self.buffer))  # type: ignore[arg-type]
            return
        self._follow(self._failure("noinput"))

    def _on_utterance(self, e: ev.Utterance) -> None:
        if self.phase not in _INPUT_PHASES:
            return
        text = str(e.text)[:MAX_UTTERANCE]
        state = self.flow.states[self.state]
        self._record_input("speech", text, getattr(state, "secure", False))
        if self.phase in ("capture", "offer_number"):
            digits = _spoken_digits(text)
            self._follow(
                self._on_keys(digits, True, raw=text) if digits else self._failure("nomatch")
            )
            return
        key = speech.spoken_key(text)
        if self.phase == "menu":
            menu: model.Menu = state  # type: ignore[assignment]
            if key is not None:
                self._follow(self._choose(menu, key, None))
                return
            match = speech.best_match(
                text, [c.phrases for c in menu.choices], self.flow.settings.fuzzy
            )
            if match is None:
                self._follow(self._failure("nomatch"))
                return
            index, phrase, _ = match
            if _confidence(e.confidence) < menu.input.confidence:
                self.choice = index
                self._say_default("did_you_say", phrase=phrase)
                self._listen(menu, "did_you_say")
                return
            choice = menu.choices[index]
            self._follow(self._exec(choice.body, "branch", choice_label(choice)))
            return
        if self.phase == "offer":
            offer: model.CallbackOffer = state  # type: ignore[assignment]
            norm = speech.normalize(text)
            accept = [speech.normalize(a) for a in offer.accept]
            decline = [speech.normalize(d) for d in offer.decline]
            answer = speech.yes_no(text)
            if norm in accept or (answer is True and norm not in decline):
                self._follow(self._callback_accepted(offer))
            elif norm in decline or answer is False:
                self._follow(self._callback_declined(offer))
            else:
                self._follow(self._failure("nomatch"))
            return
        self._follow(self._choose(state, key, speech.yes_no(text)))

    def _failure(self, kind: str) -> Result | None:
        """A no-input or no-match: count it, run the escalation, then retry or give up."""
        state = self.flow.states[self.state]
        self.buffer = ""
        self.failures.append((self.state, kind, round(self.now - self.started_at, 3)))
        if kind == "noinput":
            self.noinput += 1
            self.total_noinput += 1
            count = self.noinput
        else:
            self.nomatch += 1
            self.total_nomatch += 1
            count = self.nomatch
        if self.phase in _QUESTIONS:  # a yes/no or a number: the state's prompts don't fit
            self._say_default(kind)
            return self._after_failure(state)
        escalation: model.Escalation = getattr(state, kind, model.NO_ESCALATION)
        inp = getattr(state, "input", self.flow.settings.input)
        handler = escalation.for_count(count)
        last = self.noinput + self.nomatch >= inp.retries
        if last and handler is not None and not ends(handler):
            # The last failure: no re-prompt follows, so a handler meant to re-prompt
            # ("press 1 for …") is skipped. One written for the retries-th time
            # (`noinput 3` with retries 3) is a goodbye and plays; one that leads on runs.
            declared = next((n for n, b in escalation.by_count.items() if b is handler), 0)
            if declared < inp.retries:
                handler = None
        if handler is None:
            if self.noinput + self.nomatch < inp.retries:
                self._say_default(kind)
            return self._after_failure(state)
        declared = next((n for n, b in escalation.by_count.items() if b is handler), 0)
        return self._exec(handler, "handler", f"{kind} {declared}" if declared else kind)

    def _after_failure(self, state: model.State) -> Result | None:
        inp = getattr(state, "input", self.flow.settings.input)
        if self.noinput + self.nomatch >= inp.retries:
            exhausted = getattr(state, "exhausted", None)
            if exhausted is not None:
                return self._exec(exhausted, "branch", "exhausted")
            self._say_default("exhausted")
            self._edge("(error)", "exhausted")
            self._end("error", reason="retries exhausted", state=self.state)
            self._out.append(act.Hangup("exhausted"))
            return None
        if self.phase == "did_you_say":  # "no" (or no answer): back to the menu
            return self._enter(self.state, repeat=True)
        if self.phase in _QUESTIONS:  # ask the same question again, in full
            self._ask_again(state)
            return None
        return self._enter(self.state, repeat=True)

    def _ask_again(self, state: model.State) -> None:
        phase = self.phase
        confirm = getattr(state, "confirm", None)  # captures and callback offers
        if phase in ("capture_confirm", "offer_confirm") and confirm is not None:
            self._say(confirm)
        elif phase == "offer_number":
            self._say_default("callback_number")
        self._listen(state, phase)

    # ------------------------------------------------------------ look-ups
    def _request_lookup(self, lk: model.Lookup) -> None:
        self.seq += 1
        self.pending = f"{self.call_id}:{self.seq}"
        self.pending_since = self.now
        self.phase = "lookup"
        args = tuple(evaluate(a, self) for a in lk.args)
        self._out.append(act.Lookup(self.pending, lk.function, args, lk.timeout))

    def _on_lookup(self, e: ev.LookupResult | ev.LookupFailed) -> None:
        if self.phase != "lookup" or e.request != self.pending:
            return  # a late answer to a request we no longer wait for
        lk: model.Lookup = self.flow.states[self.state]  # type: ignore[assignment]
        self.pending = None
        latency = round((self.now - self.pending_since) * 1000, 1)
        if isinstance(e, ev.LookupResult) and (problem := _oversized(e.value)) is not None:
            e = ev.LookupFailed(e.at, e.request, f"malformed result: {problem}")
        if isinstance(e, ev.LookupResult):
            self._record_lookup(lk.function, "ok", latency)
            if lk.result:
                self.vars[lk.result] = e.value
            self._follow(self._exec(lk.ok, "branch", "ok"))
            return
        status = "timeout" if e.timed_out else "error"
        reason = self._scrub(str(e.reason))
        self._record_lookup(lk.function, status, latency, reason)
        self.vars["error"] = reason  # the host's words: flows switch on them
        if lk.error is not None:
            self._follow(self._exec(lk.error, "branch", "error"))
        else:
            self._edge("(error)", "error")
            self._end_error(f"look-up {lk.function} failed: {reason}", say=True)

    # ------------------------------------------------------------ transfers
    def _on_queue_status(self, e: ev.QueueStatus) -> None:
        if self.phase != "queue_status":
            return
        tr: model.Transfer = self.flow.states[self.state]  # type: ignore[assignment]
        # The provider is outside the flow: a nonsensical figure is "unknown", not a crash.
        ewt = e.ewt if isinstance(e.ewt, (int, float)) and 0 <= e.ewt < 1e7 else None
        position = e.position if isinstance(e.position, int) and e.position >= 0 else None
        self.vars["ewt"] = ewt
        self.vars["position"] = position
        self.vars["queue"] = tr.queue
        self.phase = "running"
        self._follow(self._exec(tr.body, "transfer"))

    def _transfer(self, tr: model.Transfer) -> None:
        self.phase = "transfer"
        if tr.number is not None:
            value = evaluate(tr.number, self)
            number = phone.normalize(str(value), self.flow.settings.country) if value else None
            if number is None:  # nothing dialable: the transfer fails here, not at the gateway
                self._follow(self._transfer_failed(tr, "failed", f"no number to dial ({value!r})"))
                return
            self.vars["transfer_number"] = number
            self._out.append(act.TransferToNumber(number))
            return
        assert tr.queue is not None
        ewt, position = self.vars.get("ewt"), self.vars.get("position")
        language = self._language()
        if "ewt" in tr.announce and ewt is not None:
            from ..model import sayas

            self._say_default("ewt", ewt=sayas.duration(ewt, language))
        if "position" in tr.announce and position is not None:
            self._say_default("position", position=str(position))
        queue = self.flow.queues[tr.queue]
        priority = evaluate(tr.priority, self) if tr.priority is not None else queue.priority
        self._out.append(act.TransferToQueue(tr.queue, int(priority or 0), tr.skills, ewt))

    def _on_transfer(self, e: ev.TransferResult) -> None:
        if self.phase != "transfer":
            return
        tr: model.Transfer = self.flow.states[self.state]  # type: ignore[assignment]
        if e.status in ("answered", "queued"):
            self._edge("(transfer)", "")
            if tr.queue is not None:
                self._end("transferred", queue=tr.queue)
            else:
                self._end("transferred", number=str(self.vars.get("transfer_number")))
            return
        self._follow(self._transfer_failed(tr, e.status, e.detail))

    def _transfer_failed(
        self, tr: model.Transfer, status: str, detail: str | None
    ) -> Result | None:
        self.vars["error"] = self._scrub(f"transfer {status}" + (f": {detail}" if detail else ""))
        branch = status if status in tr.on_result else "failed"
        body = tr.on_result.get(branch)
        if body is not None:
            return self._exec(body, "branch", branch)
        self._end_error(str(self.vars["error"]), say=True)
        return None

    # ------------------------------------------------------------ callbacks
    def _callback_accepted(self, offer: model.CallbackOffer) -> Result | None:
        number = evaluate(offer.number, self)
        number = phone.normalize(str(number), self.flow.settings.country) if number else None
        if number is None:
            self._say_default("callback_number")
            self._listen(offer, "offer_number")
            return None
        self.vars["callback_number"] = number
        if offer.confirm is not None:
            self._say(offer.confirm)
            self._listen(offer, "offer_confirm")
            return None
        return self._store_callback(offer)

    def _callback_declined(self, offer: model.CallbackOffer) -> Result | None:
        if offer.declined is not None:
            return self._exec(offer.declined, "branch", "declined")
        self._say_default("callback_declined")
        return ("hangup", "callback declined", "self_served")

    def _number_keys(
        self, offer: model.CallbackOffer, keys: str, terminated: bool
    ) -> Result | None:
        self.buffer = (self.buffer + keys)[:MAX_DIGITS]
        if "#" in self.buffer or terminated or len(self.buffer) >= 15:
            value = self.buffer.split("#")[0]
            return self._number_done(offer, value)
        return None

    def _number_done(self, offer: model.CallbackOffer, value: str) -> Result | None:
        self.buffer = ""
        number = phone.normalize(value, self.flow.settings.country)
        if number is None or len(value) < 8:
            return self._failure("nomatch")
        self.vars["callback_number"] = number
        if offer.confirm is not None:  # a keyed number is the one most likely to be wrong
            self._say(offer.confirm)
            self._listen(offer, "offer_confirm")
            return None
        return self._store_callback(offer)

    def _store_callback(self, offer: model.CallbackOffer) -> Result | None:
        self.phase = "callback_store"
        self._out.append(
            act.StoreCallback(
                self.call_id,
                str(self.vars["callback_number"]),
                offer.queue,
                self.ani,
                _window(offer, self),
                self.now,
            )
        )
        return None

    def _on_callback(self, e: ev.CallbackStored | ev.CallbackFailed) -> None:
        if self.phase != "callback_store":
            return
        offer: model.CallbackOffer = self.flow.states[self.state]  # type: ignore[assignment]
        if isinstance(e, ev.CallbackStored):
            self._edge("(callback)", "")
            self.outcome = {
                "kind": "callback_scheduled",
                "queue": offer.queue,
                "number": mask(str(self.vars["callback_number"])),
                "reference": e.reference,
            }
            self._follow(self._exec(offer.scheduled, "branch", "scheduled"))
            return
        self.vars["error"] = self._scrub(f"callback not stored: {e.reason}")
        if offer.failed is not None:
            self._follow(self._exec(offer.failed, "branch", "failed"))
        else:
            self._end_error(str(self.vars["error"]), say=True)

    # ------------------------------------------------------------ endings
    def _on_hangup(self, e: ev.Hangup) -> None:
        self._end("abandoned", state=self.state)

    def _end(self, kind: str, **details: Any) -> None:
        if self.ended:
            return
        # A callback stored earlier stays the outcome, whatever ends the call after it.
        if self.outcome is None or kind == "transferred":
            self.outcome = {"kind": kind, **details}
        self.ended = True
        self.ended_at = self.now
        self.phase = "ended"
        if self.listeners:
            record = build_record(self)
            for listener in self.listeners:
                self._notify(listener, "ended", record)

    def _scrub(self, text: str) -> str:
        """`text` with the values of secure captures masked: an error message may quote
        the value it failed on ("date: '1228' is not a date"), a host's reason the card."""
        for name in self.flow.secure_variables:
            value = self.vars.get(name)
            if isinstance(value, str) and len(value) >= 3 and value in text:
                text = text.replace(value, "****")
        return text

    def _end_error(self, reason: str, say: bool) -> None:
        reason = self._scrub(reason)
        self.errors.append(reason)
        if say:
            self._say_default("error")
        self._out.append(act.Hangup("error"))
        self._end("error", reason=reason, state=self.state)

    def _fail(self, reason: str) -> None:
        """A runtime problem: the flow's `error` state if it has one, else apologize and end."""
        if self.ended:
            return
        reason = self._scrub(reason)
        self.errors.append(reason)
        self.vars["error"] = reason
        if "error" in self.flow.states and not self._in_error:
            self._in_error = True
            self._follow(("goto", "error"))
            return
        self.errors.pop()
        self._end_error(reason, say=True)

    # ------------------------------------------------------------ records
    def _record_input(
        self,
        kind: str,
        value: str,
        secure: bool = False,
        how: str | None = None,
    ) -> None:
        shown = "****" if secure else value
        # A compact row per input (a session holds many); the record makes dicts of them.
        self.inputs.append((self.state, kind, shown, round(self.now - self.started_at, 3), how))
        if not secure:
            self.vars["last_input"] = value
        for listener in self.listeners:
            self._notify(listener, "input", kind, shown, self.now)

    def _record_lookup(self, function: str, status: str, latency: float, reason: str = "") -> None:
        entry = {"function": function, "status": status, "latency_ms": latency}
        if reason:
            entry["reason"] = reason
        self.lookups.append(entry)
        for listener in self.listeners:
            self._notify(listener, "lookup", function, status, latency)

    def abort(self, reason: str, at: float | None = None) -> list[act.Action]:
        """End the call now with outcome `error` (the driver failed, not the flow).

        The record says why; a call already ended is left as it was.
        """
        if self.ended:
            return []
        if at is not None and self.now < at < _LATEST:
            self.now = float(at)
        out = self._out = []
        self._end_error(reason, say=False)
        return out

    def copy(self) -> Session:
        """An independent copy in this process (what a snapshot round trip gives, without
        the encoding): containers are copied, values shared — the session replaces values,
        it never changes one in place. The explorer forks calls with it."""
        twin = Session.__new__(Session)
        for name in Session.__slots__:
            try:
                value = getattr(self, name)
            except AttributeError:
                continue
            setattr(twin, name, value.copy() if type(value) in (list, dict, set) else value)
        return twin

    # snapshots live in snapshot.py; these two are the public face.
    def to_dict(self, key: bytes | None = None) -> dict[str, Any]:
        from .snapshot import dump

        return dump(self, key)

    @classmethod
    def from_dict(
        cls, flow: model.Flow, data: Mapping[str, Any], key: bytes | None = None, **host: Any
    ) -> Session:
        from .snapshot import load

        return load(cls, flow, data, key, **host)


class _Unavailable:
    def __repr__(self) -> str:
        return "<secure value not restored>"


_UNAVAILABLE = _Unavailable()

_COLLECT_PHASE: dict[type, str] = {
    model.Menu: "menu",
    model.Capture: "capture",
    model.CallbackOffer: "offer",
}
_QUESTIONS = frozenset({"capture_confirm", "did_you_say", "offer_confirm", "offer_number"})
_INPUT_PHASES = frozenset({"menu", "capture", "offer", "capture_confirm", "did_you_say",
                           "offer_confirm", "offer_number"})  # fmt: skip
_VALID_KEYS = frozenset("0123456789*#")
_LATEST = 32503680000.0  # year 3000: a later event time is a broken clock, not a call


def _keys(raw: str) -> str:
    if raw in _VALID_KEYS:  # one key, the common case
        return raw
    return "".join(k for k in str(raw)[:MAX_DIGITS] if k in _VALID_KEYS)


# Actions are immutable values, so a constant prompt or a collect spec is built once per
# statement/state and shared by every call (keyed by id, checked by identity).
_SAID: dict[tuple[Any, ...], tuple[model.Say, act.Say | str]] = {}
_SPECS: dict[tuple[Any, ...], tuple[model.State, act.Collect]] = {}


class _TemplateScope(Mapping[str, Any]):
    """What a prompt template sees: the call's variables and `now`, read lazily."""

    __slots__ = ("session",)

    def __init__(self, session: Session) -> None:
        self.session = session

    def __getitem__(self, name: str) -> Any:
        if name == "now":
            return self.session.variable("now")
        value = self.session.vars[name]
        if value is _UNAVAILABLE:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        names = [k for k, v in self.session.vars.items() if v is not _UNAVAILABLE]
        return iter([*names, "now"])

    def __len__(self) -> int:
        return len(self.session.vars) + 1


def _confidence(value: Any) -> float:
    """A recognizer's confidence as 0..1; a missing or garbled one (None, "high", NaN) is
    0, so the caller is asked "did you say …?" rather than the call failing."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return min(1.0, max(0.0, float(value)))
    return 0.0


def _oversized(value: Any) -> str | None:
    """Why a look-up result is too deep or too big to keep, or None. Iterative: a result
    nested a thousand levels must not exhaust the stack of the code that checks it."""
    stack = [(value, 0)]
    items = 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list | tuple):
            children = node
        else:
            continue
        if depth >= MAX_RESULT_DEPTH:
            return f"nested more than {MAX_RESULT_DEPTH} levels"
        items += len(node)
        if items > MAX_RESULT_ITEMS:
            return f"more than {MAX_RESULT_ITEMS} items"
        stack.extend((child, depth + 1) for child in children)
    return None


def _spoken_digits(text: str) -> str:
    out = []
    for word in speech.normalize(text).split():
        if word.isdigit():
            out.append(word)
        elif word in speech.SPOKEN_DIGITS:
            out.append(speech.SPOKEN_DIGITS[word])
    return "".join(out)[:MAX_DIGITS]


def _window(offer: model.CallbackOffer, session: Session) -> tuple[str, str] | None:
    """The next callback window as ISO datetimes in the flow's time zone."""
    if offer.window is None:
        return None
    if isinstance(offer.window, str):
        h = session.flow.hours[offer.window]
        local = hours_mod.local_time(session.now, h.timezone)
        for days in range(15):
            day = local.date() + dt.timedelta(days=days)
            for start, end in hours_mod.open_spans(h, day):
                s = dt.datetime.combine(day, start, local.tzinfo)
                e = dt.datetime.combine(day, end, local.tzinfo)
                if e > local:
                    return (
                        max(s, local).isoformat(timespec="minutes"),
                        e.isoformat(timespec="minutes"),
                    )
        return None
    start, end = offer.window
    local = hours_mod.local_time(session.now, session.flow.settings.timezone)
    day = (
        local.date() if local.time().replace(tzinfo=None) < end else local.date() + dt.timedelta(1)
    )
    s = dt.datetime.combine(day, start, local.tzinfo)
    return (
        max(s, local).isoformat(timespec="minutes"),
        dt.datetime.combine(day, end, local.tzinfo).isoformat(timespec="minutes"),
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, EvaluationError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


_HANDLERS: dict[type, Any] = {
    ev.Digits: Session._on_digits,
    ev.NoInput: Session._on_noinput,
    ev.TimerFired: Session._on_noinput,
    ev.Utterance: Session._on_utterance,
    ev.Hangup: Session._on_hangup,
    ev.LookupResult: Session._on_lookup,
    ev.LookupFailed: Session._on_lookup,
    ev.QueueStatus: Session._on_queue_status,
    ev.TransferResult: Session._on_transfer,
    ev.CallbackStored: Session._on_callback,
    ev.CallbackFailed: Session._on_callback,
}

__all__ = ["MAX_RESULT_DEPTH", "MAX_RESULT_ITEMS", "STEP_BUDGET", "Session"]
