"""Input collection and timing, the VoiceXML way (docs/runtime.md, "Input").

`listen` asks the driver to collect (keys typed ahead are taken first); `on_digits`,
`on_noinput` and `on_utterance` take what the caller did. What a key, an utterance or a
time-out means depends on the phase — a menu, a capture, a callback offer, or a yes/no
question — and each has its handler in a table by phase. A capture's entry ends on its
terminator, at its maximum length (extra keys are type-ahead) or at the inter-digit
time-out (what is there is taken).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from .. import model
from ..model import choice_label, speech, validators
from ..model.keypatterns import TERMINATOR, Decision
from . import actions as act
from . import events as ev
from .endings import record_input
from .escalation import on_failure
from .recognition import complete, speech_language
from .results import ASK, BRANCH_END, Result
from .services import (
    callback_accepted,
    callback_declined,
    number_done,
    number_keys,
    store_callback,
)
from .speaking import say, say_default
from .state import (
    CAPTURE,
    CAPTURE_CONFIRM,
    DID_YOU_SAY,
    INPUT_PHASES,
    MAX_DIGITS,
    MAX_UTTERANCE,
    MENU,
    OFFER,
    OFFER_CONFIRM,
    OFFER_NUMBER,
    TYPE_AHEAD_PHASES,
    CallState,
    Phase,
)
from .statements import enter, run_body

_VALID_KEYS = frozenset("0123456789*#")
# The question each kind of input state asks with its own prompt.
_COLLECT_PHASE: dict[type, Phase] = {
    model.Menu: MENU,
    model.Capture: CAPTURE,
    model.CallbackOffer: OFFER,
}
# A collect spec is an immutable value: built once per state, phase and barge-in, shared by
# every call (keyed by id, checked by identity).
_SPECS: dict[tuple[Any, ...], tuple[model.State, act.Collect]] = {}


# ---------------------------------------------------------------- asking
def listen(call: CallState, phase: Phase | None = None) -> Result | None:
    """Ask the driver to collect (`phase` None: the state's own question, its prompt
    played); type-ahead already buffered is used first."""
    if phase is None:
        phase = _COLLECT_PHASE[type(call.flow.states[call.state])]
    call.phase = phase
    if call.typeahead:
        keys, call.typeahead = call.typeahead, ""
        result = on_keys(call, keys, False)
        if result is not None or call.phase is not phase or call.ended:
            return result
    state = call.flow.states[call.state]
    call.out.append(_remaining(call, _spec(call, state, phase)))
    return None


def listening(call: CallState) -> act.Collect | None:
    """What the call waits for from the caller now, or None."""
    if call.ended or call.phase not in INPUT_PHASES:
        return None
    state = call.flow.states[call.state]
    return _remaining(call, _spec(call, state, call.phase))


def _remaining(call: CallState, spec: act.Collect) -> act.Collect:
    """Keys already in started the entry: collect the rest, with the inter-digit timeout."""
    if not call.buffer:
        return spec
    have = len(call.buffer)
    state = call.flow.states[call.state]
    if call.phase is MENU and isinstance(state, model.Menu) and state.entry is not None:
        low, high = state.entry.remaining(call.buffer)  # what the options still left can take
        return dataclasses.replace(spec, min_digits=low, max_digits=high, timeout=spec.interdigit)
    return dataclasses.replace(
        spec,
        min_digits=max(0, spec.min_digits - have),
        max_digits=max(1, spec.max_digits - have),
        timeout=spec.interdigit,
    )


def _spec(call: CallState, state: model.State, phase: Phase) -> act.Collect:
    barge = call.flow.settings.barge_in  # unless the prompt just played says otherwise
    out = call.out
    if out and isinstance(out[-1], act.Say | act.Play):  # the usual case: a prompt, then this
        barge = out[-1].barge_in
    else:
        for a in reversed(out):
            if isinstance(a, act.Say | act.Play):
                barge = a.barge_in
                break
    language = speech_language(call, state)
    key = (id(state), phase, barge, language)
    cached = _SPECS.get(key)
    if cached is not None and cached[0] is state:
        return cached[1]
    if len(_SPECS) > 20_000:
        _SPECS.clear()
    inp = getattr(state, "input", call.flow.settings.input)
    spec = complete(_SPEC_OF[phase](state, inp, barge), state, phase, language)
    _SPECS[key] = (state, spec)
    return spec


def _capture_spec(cap: model.Capture, inp: model.InputSettings, barge: bool) -> act.Collect:
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


def _number_spec(state: model.State, inp: model.InputSettings, barge: bool) -> act.Collect:
    return act.Collect(("dtmf",), 8, 15, "#", inp.timeout, inp.interdigit, barge)


def _menu_spec(menu: model.Menu, inp: model.InputSettings, barge: bool) -> act.Collect:
    phrases = tuple(p for c in menu.choices for p in c.phrases)
    kinds = ("dtmf", "speech") if phrases else ("dtmf",)
    if menu.entry is not None:  # multi-key options: from the shortest to the longest entry
        low, high = menu.entry.remaining("")
        end = None if menu.entry.is_hash_option() else TERMINATOR
        return act.Collect(kinds, low, high, end, inp.timeout, inp.interdigit, barge, phrases)
    return act.Collect(kinds, 1, 1, None, inp.timeout, inp.interdigit, barge, phrases)


def _offer_spec(offer: model.CallbackOffer, inp: model.InputSettings, barge: bool) -> act.Collect:
    phrases = tuple(a for a in offer.accept + offer.decline if len(a) > 1)
    return act.Collect(("dtmf", "speech"), 1, 1, None, inp.timeout, inp.interdigit, barge, phrases)


def _yes_no_spec(state: model.State, inp: model.InputSettings, barge: bool) -> act.Collect:
    """Yes/no confirmations: 1 / 2 or spoken."""
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


_SPEC_OF: dict[Phase, Callable[[Any, model.InputSettings, bool], act.Collect]] = {
    MENU: _menu_spec,
    CAPTURE: _capture_spec,
    OFFER: _offer_spec,
    OFFER_NUMBER: _number_spec,
    CAPTURE_CONFIRM: _yes_no_spec,
    DID_YOU_SAY: _yes_no_spec,
    OFFER_CONFIRM: _yes_no_spec,
}


# ---------------------------------------------------------------- keys
def on_digits(call: CallState, e: ev.Digits) -> Result | None:
    keys = _keys(e.keys)
    if call.swallow is not None:
        if keys[:1] == call.swallow:
            keys = keys[1:]
            if not keys:
                call.swallow = None
                return None
        call.swallow = None
    phase = call.phase
    if phase in INPUT_PHASES:
        if _refuses(call, "dtmf"):
            return on_failure(call, "nomatch")  # keys where the state hears speech only
        return on_keys(call, keys, e.terminated, raw=e.keys)
    if phase in TYPE_AHEAD_PHASES:
        call.typeahead = (call.typeahead + keys)[:MAX_DIGITS]
    return None  # keys while a transfer rings are not ours


def _refuses(call: CallState, kind: str) -> bool:
    """The state listens, but not for this kind of input (`input speech`, `input dtmf`)."""
    inp = getattr(call.flow.states[call.state], "input", None)
    if inp is None or inp.modes is None:
        return False  # the kind's own default: it takes both
    spec = listening(call)
    return spec is not None and kind not in spec.kinds


def _keys(raw: str) -> str:
    if raw in _VALID_KEYS:  # one key, the common case
        return raw
    return "".join(k for k in str(raw)[:MAX_DIGITS] if k in _VALID_KEYS)


def on_keys(call: CallState, keys: str, terminated: bool, raw: str | None = None) -> Result | None:
    if not keys:
        if terminated and call.phase in (CAPTURE, OFFER_NUMBER):
            keys = "#"  # a gateway that strips the terminator: the entry was just "#"
        else:
            return on_failure(call, "nomatch") if raw else None
    return _KEYS_IN[call.phase](call, call.flow.states[call.state], keys, terminated)


def _one_key(call: CallState, state: model.State, keys: str, terminated: bool) -> Result | None:
    """A menu, an offer or a question takes one key; the rest is type-ahead."""
    key, call.typeahead = keys[0], (keys[1:] + call.typeahead)[:MAX_DIGITS]
    record_input(call, "dtmf", key)
    return _CHOOSE[call.phase](call, state, key, None)


def _menu_keys(call: CallState, menu: model.Menu, keys: str, terminated: bool) -> Result | None:
    """A menu takes one key, unless it has multi-key options: then the keys so far are
    matched against them all, and it decides at once when no longer option can still match
    (VoiceXML); while one can, it waits for more keys or the inter-digit time-out."""
    entry = menu.entry
    if entry is None:
        return _one_key(call, menu, keys, terminated)
    call.buffer = (call.buffer + keys)[:MAX_DIGITS]
    decision = entry.finish(call.buffer) if terminated else entry.feed(call.buffer)
    if decision.outcome == "wait":
        return None  # keep collecting: the inter-digit timeout now applies
    return _menu_decided(call, menu, decision)


def _menu_decided(
    call: CallState, menu: model.Menu, d: Decision, how: str | None = None
) -> Result | None:
    """A multi-key entry ended: its keys chose an option, or none (keys after the ones the
    menu decided on are type-ahead; after a no-match they are dropped with the entry)."""
    assert menu.entry is not None
    rest, call.buffer = call.buffer[d.used :], ""
    record_input(call, "dtmf", d.keys, how="terminator" if d.used > len(d.keys) else how)
    if d.option is None:
        return on_failure(call, "nomatch")
    call.typeahead = (rest + call.typeahead)[:MAX_DIGITS]
    choice = menu.choices[menu.entry.owners[d.option]]
    return _choose(call, menu, choice, d.keys)


def _choose(call: CallState, menu: model.Menu, choice: model.Choice, keys: str | None) -> Result:
    """Run a menu's choice; `into` holds the keys that chose it (untouched for a phrase)."""
    _valid(call, menu)
    if menu.into is not None and keys is not None:
        call.vars[menu.into] = keys
    return run_body(call, choice.body, BRANCH_END, choice_label(choice))


def _capture_keys(
    call: CallState, cap: model.Capture, keys: str, terminated: bool
) -> Result | None:
    call.buffer = (call.buffer + keys)[:MAX_DIGITS]
    buffer = call.buffer
    end = cap.terminator
    at_end = buffer.find(end) if end is not None else -1
    if terminated and (at_end < 0 and len(buffer) > cap.max_digits or at_end > cap.max_digits):
        # A gateway collected one entry, longer than allowed: not the first keys of it.
        call.buffer = ""
        record_input(call, "dtmf", keys, cap.secure, "too long")
        return on_failure(call, "nomatch")
    if 0 <= at_end <= cap.max_digits:  # the terminator came first: the entry is before it
        value, rest = buffer[:at_end], buffer[at_end + 1 :]
        call.typeahead = rest + call.typeahead
        return _capture_done(call, cap, value, "terminator")
    if len(buffer) >= cap.max_digits:  # full: extra keys are type-ahead
        value, rest = buffer[: cap.max_digits], buffer[cap.max_digits :]
        if end is not None and rest.startswith(end):
            rest = rest[1:]  # the terminator the caller added out of habit
        elif not rest:
            call.swallow = end  # … or that arrives with the next key event
        call.typeahead = rest + call.typeahead
        return _capture_done(call, cap, value, "max")
    if terminated:
        return _capture_done(call, cap, buffer, "terminator")
    return None  # keep collecting: the inter-digit timeout now applies


def _capture_done(call: CallState, cap: model.Capture, value: str, how: str) -> Result | None:
    call.buffer = ""
    record_input(call, "dtmf", value, cap.secure, how)
    if len(value) < cap.min_digits:
        return on_failure(call, "nomatch" if value or how == "terminator" else "noinput")
    for v in cap.validators:
        if not validators.BUILTIN[v.name].func(value, *v.args):
            return on_failure(call, "nomatch")
    return _entry_taken(call, cap, value)


def _entry_taken(call: CallState, cap: model.Capture, value: str) -> Result | None:
    """A capture's entry passed its checks (keyed digits, or words said): keep it, then read
    it back or go on."""
    _valid(call, cap)
    call.vars[cap.variable] = value
    call.vars["last_input"] = "****" if cap.secure else value
    if cap.confirm is not None:
        say(call, cap.confirm)
        return ASK[CAPTURE_CONFIRM]
    return run_body(call, cap.ok, BRANCH_END, "ok")


# How keys are taken, by phase.
_KEYS_IN: dict[Phase, Callable[[CallState, Any, str, bool], Result | None]] = {
    MENU: _menu_keys,
    CAPTURE: _capture_keys,
    OFFER: _one_key,
    OFFER_NUMBER: number_keys,
    CAPTURE_CONFIRM: _one_key,
    DID_YOU_SAY: _one_key,
    OFFER_CONFIRM: _one_key,
}


def _valid(call: CallState, state: model.Menu | model.Capture | model.CallbackOffer) -> None:
    """A valid input: with `counts reset` the failures before it are forgiven (a later
    `-> repeat` or a read-back answered "no" starts from zero); by default they are kept."""
    if state.input.reset:
        call.noinput = call.nomatch = 0


# ---------------------------------------------------------------- one key or a yes/no
def _menu_choice(
    call: CallState, menu: model.Menu, key: str | None, answer: bool | None
) -> Result | None:
    for choice in menu.choices:
        if key in choice.keys:
            return _choose(call, menu, choice, key)
    return on_failure(call, "nomatch")


def _offer_choice(
    call: CallState, offer: model.CallbackOffer, key: str | None, answer: bool | None
) -> Result | None:
    if key in offer.accept:
        _valid(call, offer)
        return callback_accepted(call, offer)
    if key in offer.decline:
        _valid(call, offer)
        return callback_declined(call, offer)
    return on_failure(call, "nomatch")


def _yes(key: str | None, answer: bool | None) -> bool | None:
    return answer if answer is not None else {"1": True, "2": False}.get(key or "")


def _did_you_say(
    call: CallState, menu: model.Menu, key: str | None, answer: bool | None
) -> Result | None:
    yes = _yes(key, answer)
    if yes:
        choice = menu.choices[call.choice]
        _valid(call, menu)
        return run_body(call, choice.body, BRANCH_END, choice_label(choice))
    if yes is False:  # "no": the menu did not get its choice, its own no-match handling runs
        call.phase = MENU
    return on_failure(call, "nomatch")  # neither: the question's default, then the menu


def _capture_confirmed(
    call: CallState, cap: model.Capture, key: str | None, answer: bool | None
) -> Result | None:
    yes = _yes(key, answer)
    if yes is None:
        return on_failure(call, "nomatch")
    return run_body(call, cap.ok, BRANCH_END, "ok") if yes else enter(call, call.state, True)


def _number_confirmed(
    call: CallState, offer: model.CallbackOffer, key: str | None, answer: bool | None
) -> Result | None:
    yes = _yes(key, answer)
    if yes is None:
        return on_failure(call, "nomatch")
    if yes:
        store_callback(call, offer)
        return None
    say_default(call, "callback_number")
    return ASK[OFFER_NUMBER]


# What a single key (or a spoken yes/no) means, by phase.
_CHOOSE: dict[Phase, Callable[[CallState, Any, str | None, bool | None], Result | None]] = {
    MENU: _menu_choice,
    OFFER: _offer_choice,
    DID_YOU_SAY: _did_you_say,
    CAPTURE_CONFIRM: _capture_confirmed,
    OFFER_CONFIRM: _number_confirmed,
}


# ---------------------------------------------------------------- silence
def on_noinput(call: CallState, e: ev.NoInput) -> Result | None:
    if call.phase not in INPUT_PHASES:
        return None
    partial = _PARTIAL.get(call.phase)
    if partial is not None and call.buffer:
        # Inter-digit timeout with keys buffered: VoiceXML takes what is there.
        return partial(call, call.flow.states[call.state], call.buffer)
    return on_failure(call, "noinput")


def _capture_interdigit(call: CallState, cap: model.Capture, value: str) -> Result | None:
    return _capture_done(call, cap, value, "interdigit")


def _menu_interdigit(call: CallState, menu: model.Menu, value: str) -> Result | None:
    """The inter-digit time-out of a multi-key entry: the keys there decide."""
    assert menu.entry is not None
    return _menu_decided(call, menu, menu.entry.finish(value), "interdigit")


# An entry under way when the time-out comes, by phase.
_PARTIAL: dict[Phase, Callable[[CallState, Any, str], Result | None]] = {
    CAPTURE: _capture_interdigit,
    MENU: _menu_interdigit,
    OFFER_NUMBER: number_done,
}


# ---------------------------------------------------------------- speech
def on_utterance(call: CallState, e: ev.Utterance) -> Result | None:
    if call.phase not in INPUT_PHASES:
        return None
    if _refuses(call, "speech"):
        return on_failure(call, "nomatch")  # speech where the state keys only: not recorded
    text = str(e.text)[:MAX_UTTERANCE]
    state = call.flow.states[call.state]
    heard = round(_confidence(e.confidence), 3)
    record_input(call, "speech", text, getattr(state, "secure", False), confidence=heard)
    return _HEARD[call.phase](call, state, text, e.confidence)


def _spoken_entry(call: CallState, state: model.State, text: str, confidence: Any) -> Result | None:
    """Digits said for a capture or a callback number: as if keyed, ended; the words
    themselves for a capture of words."""
    if isinstance(state, model.Capture) and state.words is not None:
        return _free_speech(call, state, text, confidence)
    digits = _spoken_digits(text)
    return on_keys(call, digits, True, raw=text) if digits else on_failure(call, "nomatch")


def _free_speech(call: CallState, cap: model.Capture, text: str, confidence: Any) -> Result | None:
    """What the caller said, as said: no-match when empty, unsure or too long or short."""
    assert cap.words is not None
    words = text.split()
    low, high = cap.words
    if not words or _confidence(confidence) < cap.input.confidence:
        return on_failure(call, "nomatch")
    if not low <= len(words) <= high:
        return on_failure(call, "nomatch")
    return _entry_taken(call, cap, " ".join(words))


def _menu_heard(call: CallState, menu: model.Menu, text: str, confidence: Any) -> Result | None:
    if menu.entry is not None:  # "one zero zero": digits said for a multi-key option
        digits = _spoken_digits(text)
        d = menu.entry.finish(digits) if len(digits) > 1 else None
        if d is not None and d.option is not None and d.used == len(digits):
            return _choose(call, menu, menu.choices[menu.entry.owners[d.option]], d.keys)
    key = speech.spoken_key(text)
    if key is not None:
        return _menu_choice(call, menu, key, None)
    match = speech.best_match(text, [c.phrases for c in menu.choices], call.flow.settings.fuzzy)
    if match is None:
        return on_failure(call, "nomatch")
    index, phrase, _ = match
    if _confidence(confidence) < menu.input.confidence:
        call.choice = index
        say_default(call, "did_you_say", phrase=phrase)
        return ASK[DID_YOU_SAY]
    choice = menu.choices[index]
    _valid(call, menu)
    return run_body(call, choice.body, BRANCH_END, choice_label(choice))


def _offer_heard(
    call: CallState, offer: model.CallbackOffer, text: str, confidence: Any
) -> Result | None:
    norm = speech.normalize(text)
    accept = [speech.normalize(a) for a in offer.accept]
    decline = [speech.normalize(d) for d in offer.decline]
    answer = speech.yes_no(text)
    if norm in accept or (answer is True and norm not in decline):
        _valid(call, offer)
        return callback_accepted(call, offer)
    if norm in decline or answer is False:
        _valid(call, offer)
        return callback_declined(call, offer)
    return on_failure(call, "nomatch")


def _answer_heard(call: CallState, state: model.State, text: str, confidence: Any) -> Result | None:
    return _CHOOSE[call.phase](call, state, speech.spoken_key(text), speech.yes_no(text))


# What an utterance means, by phase.
_HEARD: dict[Phase, Callable[[CallState, Any, str, Any], Result | None]] = {
    MENU: _menu_heard,
    CAPTURE: _spoken_entry,
    OFFER: _offer_heard,
    OFFER_NUMBER: _spoken_entry,
    CAPTURE_CONFIRM: _answer_heard,
    DID_YOU_SAY: _answer_heard,
    OFFER_CONFIRM: _answer_heard,
}


def _spoken_digits(text: str) -> str:
    out = []
    for word in speech.normalize(text).split():
        if word.isdigit():
            out.append(word)
        elif word in speech.SPOKEN_DIGITS:
            out.append(speech.SPOKEN_DIGITS[word])
    return "".join(out)[:MAX_DIGITS]


def _confidence(value: Any) -> float:
    """A recognizer's confidence as 0..1; a missing or garbled one (None, "high", NaN) is
    0, so the caller is asked "did you say …?" rather than the call failing."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:
        return min(1.0, max(0.0, float(value)))
    return 0.0


__all__ = ["listen", "listening", "on_digits", "on_keys", "on_noinput"]
