"""Random callers: what a fuzzed caller presses or says next, given what the IVR waits for.

A caller is a `Persona` (how it behaves over the whole call) and a random source. At each
turn it looks at the session — the phase (menu, capture, offer, a yes/no question, a
callback number) and the state's choices — and picks one scenario step: `press`, `say`,
`wait` or `hangup`, exactly the steps a scenario YAML can hold, so every fuzzed call can
be written back as a scenario that `ivrflow test` replays.

Secure captures are answered with *distinctive* digits (see `Secrets`): values that appear
nowhere in the flow, its fixtures or the call's setup, so that finding one later in a
prompt, a record or a log is a leak and not a coincidence.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ... import model
from ...model import keypatterns, validators
from ...runtime.session import Session

__all__ = [
    "PERSONAS",
    "CallerStep",
    "Persona",
    "RandomCaller",
    "Secrets",
    "digit_runs",
    "digits_of",
    "valid_entries",
]

# A scenario step: ("press", "12#"), ("say", (text, confidence)), ("wait", None), ("hangup", None)
CallerStep = tuple[str, Any]

SPOKEN = {
    "pt": ["zero", "um", "dois", "três", "quatro", "cinco", "seis", "sete", "oito", "nove"],
    "en": ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
}
GARBAGE_WORDS = ("hmm", "alô", "hello?", "uh", "blá", "xyzzy", "qwerty", "ééé", "🙂", "%%", "{{")
TEMPLATE_BAIT = ("{{ ''.__class__.__mro__ }}", "{% for x in range(9) %}x{% endfor %}", "{{ 7*7 }}")
LONG_UTTERANCE = 5000  # characters: far past the session's MAX_UTTERANCE
LONG_KEYS = 200  # keys in one press: far past the session's MAX_DIGITS


# What fuzzed callers say into a `record` state (the text stands for the audio).
MESSAGES = ("Maria Souza, sobre a fatura de novembro", "oi", "John, call me back please")


@dataclass(frozen=True, slots=True)
class Persona:
    """Weights of what a caller does at a turn; `share`: how often a call gets this one."""

    name: str
    share: float
    valid: float
    invalid: float
    typeahead: float
    partial: float
    silence: float
    speech: float
    hostile: float
    hangup: float  # per turn


PERSONAS: tuple[Persona, ...] = (
    #        name         share valid inval  ahead  part   silent speech hostile hangup
    Persona("cooperative", 0.30, 0.92, 0.01, 0.03, 0.01, 0.01, 0.02, 0.00, 0.002),
    Persona("random", 0.15, 0.30, 0.20, 0.10, 0.10, 0.10, 0.15, 0.05, 0.03),
    Persona("speaker", 0.10, 0.20, 0.05, 0.00, 0.00, 0.05, 0.70, 0.00, 0.01),
    Persona("typeahead", 0.15, 0.35, 0.05, 0.45, 0.10, 0.03, 0.02, 0.00, 0.01),
    Persona("silent", 0.10, 0.15, 0.00, 0.00, 0.00, 0.85, 0.00, 0.00, 0.00),
    Persona("impatient", 0.10, 0.50, 0.10, 0.05, 0.05, 0.05, 0.05, 0.00, 0.20),
    Persona("hostile", 0.10, 0.15, 0.20, 0.10, 0.10, 0.05, 0.10, 0.30, 0.02),
)


class Secrets:
    """Digits a caller keys into secure captures, chosen to be recognisable anywhere.

    `avoid` holds every digit run of the flow's sources, fixtures and the call's setup: a
    value made of none of them cannot show up in a prompt or a record by coincidence.
    """

    def __init__(self, avoid: set[str]) -> None:
        self.avoid = avoid

    def fresh(self, rng: random.Random, length: int, check: Any = None) -> str:
        for _ in range(400):
            value = "".join(rng.choice("123456789") for _ in range(length))
            if check is not None:
                value = check(value)
                if value is None:
                    continue
            if not any(value in run for run in self.avoid if len(run) >= len(value)):
                return value
        return value  # a very crowded flow: the audit may then report a coincidence


_DIGIT_RUN = re.compile(r"\d+")


def digit_runs(text: str) -> set[str]:
    return set(_DIGIT_RUN.findall(text))


def _luhn_fix(value: str) -> str:
    """The same digits with the last one made a Luhn check digit."""
    body = value[:-1]
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return body + str((10 - total % 10) % 10)


def _passes(cap: model.Capture, value: str) -> bool:
    return cap.min_digits <= len(value) <= cap.max_digits and all(
        validators.BUILTIN[v.name].func(value, *v.args) for v in cap.validators
    )


def valid_entries(cap: model.Capture, known: set[str], rng: random.Random) -> list[str]:
    """Entries a capture accepts: digit runs of the fixtures first, then generated ones."""
    found = sorted(v for v in known if _passes(cap, v))
    names = {v.name for v in cap.validators}
    for _ in range(300 if not found else 60):
        n = rng.randint(max(1, cap.min_digits), max(1, cap.max_digits))
        value = "".join(rng.choice("0123456789") for _ in range(n))
        if "luhn" in names:
            value = _luhn_fix(value)
        if _passes(cap, value):
            found.append(value)
            if len(found) >= 8:
                break
    return found


@dataclass
class RandomCaller:
    """One caller for one call: `next_step(session)` until it returns None (goes silent)."""

    rng: random.Random
    persona: Persona
    known_digits: set[str]  # digit runs of the fixtures (account numbers, cards …)
    secrets: Secrets
    max_turns: int = 30
    # States entered over the whole run (shared by its callers): valid choices lean to the
    # least visited targets, so deep states (a card payment) are reached, not just menus.
    visits: Counter[str] = field(default_factory=Counter)
    turns: int = 0
    pending: list[CallerStep] = field(default_factory=list)
    _entries: dict[str, list[str]] = field(default_factory=dict)

    def next_step(self, session: Session) -> CallerStep | None:
        """The caller's next step, or None once it has stopped giving input."""
        if self.pending:
            return self.pending.pop(0)
        if self.turns >= self.max_turns:
            return None
        self.turns += 1
        p = self.persona
        r = self.rng.random()
        if r < p.hangup:
            return ("hangup", None)
        weights = (p.valid, p.invalid, p.typeahead, p.partial, p.silence, p.speech, p.hostile)
        kind = self.rng.choices(
            ("valid", "invalid", "typeahead", "partial", "silence", "speech", "hostile"), weights
        )[0]
        if kind == "silence":
            return ("wait", None)
        phase = session.phase
        state = session.flow.states[session.state]
        step: CallerStep = getattr(self, "_" + kind)(session, state, phase)
        return step

    # ------------------------------------------------------------ what is valid here
    def _choices(self, state: model.State, phase: str) -> tuple[list[str], list[str]]:
        """(keys, phrases) that answer the current question."""
        if phase == "menu" and isinstance(state, model.Menu):
            keys = [k for c in state.choices for k in c.keys]
            phrases = [p for c in state.choices for p in c.phrases]
            return keys, phrases
        if phase == "offer" and isinstance(state, model.CallbackOffer):
            items = state.accept + state.decline
            return [k for k in items if len(k) == 1], [p for p in items if len(p) > 1]
        if phase in ("capture_confirm", "did_you_say", "offer_confirm"):
            return ["1", "2"], ["sim", "não", "yes", "no"]
        return [], []

    def _entry(self, session: Session, state: model.State, phase: str) -> str:
        if phase == "offer_number":
            # a mobile, a landline, too short, with the country code
            return self.rng.choice(["11987654321", "1130030001", "5511", "551199998888"])
        assert isinstance(state, model.Capture)
        if state.secure:
            return self._secure_entry(state)
        entries = self._entries.get(state.name)
        if entries is None:
            entries = self._entries[state.name] = valid_entries(state, self.known_digits, self.rng)
        if not entries:
            return "".join(self.rng.choice("0123456789") for _ in range(state.max_digits))
        known = [e for e in entries if e in self.known_digits]
        if known and self.rng.random() < 0.6:  # one the fixtures answer for: the call goes on
            return self.rng.choice(known)
        return self.rng.choice(entries)

    def _secure_entry(self, cap: model.Capture) -> str:
        def check(value: str) -> str | None:
            if any(v.name == "luhn" for v in cap.validators):
                value = _luhn_fix(value)
            return value if _passes(cap, value) else None

        pool = [v for v in self.known_digits if _passes(cap, v)]
        if pool and self.rng.random() < 0.5:  # a fixture's card or PIN: the look-up approves it
            return self.rng.choice(sorted(pool))
        length = self.rng.randint(max(3, cap.min_digits), max(3, cap.max_digits))
        value = self.secrets.fresh(self.rng, length, check)
        if not _passes(cap, value):  # validators no random value passes (dates): a near one
            value = self.secrets.fresh(self.rng, length)
        return value

    # ------------------------------------------------------------ the kinds of turn
    def _valid(self, session: Session, state: model.State, phase: str) -> CallerStep:
        if phase == "recording":  # a record state: the caller speaks a message
            return ("say", (self.rng.choice(MESSAGES), 1.0))
        if phase in ("capture", "offer_number"):
            entry = self._entry(session, state, phase)
            terminator = getattr(state, "terminator", "#") if phase == "capture" else "#"
            if terminator and self.rng.random() < 0.6:
                entry += terminator
            return ("press", entry)
        if phase == "menu" and isinstance(state, model.Menu) and state.choices:
            weights = [1.0 / (1 + self.visits[_target(c.body)]) for c in state.choices]
            choice = self.rng.choices(state.choices, weights)[0]
            if choice.phrases and (not choice.keys or self.rng.random() < 0.3):
                return ("say", (self.rng.choice(choice.phrases), 1.0))
            if choice.sequences and (not choice.keys or self.rng.random() < 0.7):
                return self._extension(state, choice)
            if choice.keys:
                return ("press", self.rng.choice(choice.keys))
        if phase in ("capture_confirm", "did_you_say", "offer_confirm"):  # mostly "yes"
            yes = self.rng.random() < 0.8
            if self.rng.random() < 0.3:
                return ("say", (self.rng.choice(["sim", "yes"] if yes else ["não", "no"]), 1.0))
            return ("press", "1" if yes else "2")
        keys, phrases = self._choices(state, phase)
        if phrases and self.rng.random() < 0.3:
            return ("say", (self.rng.choice(phrases), 1.0))
        if keys:
            return ("press", self.rng.choice(keys))
        return ("wait", None)

    def _extension(self, menu: model.Menu, choice: model.Choice) -> CallerStep:
        """Keys for a multi-key option; when the menu would wait for more, the caller ends
        the entry with # or lets the inter-digit timeout pass."""
        keys = keypatterns.sample(self.rng.choice(choice.sequences), self.rng.choice)
        if menu.entry is not None and menu.entry.feed(keys).outcome == "wait":
            if self.rng.random() < 0.5:
                keys += "#"
            else:
                self.pending.append(("wait", None))
        return ("press", keys)

    def _invalid(self, session: Session, state: model.State, phase: str) -> CallerStep:
        if phase == "capture" and isinstance(state, model.Capture):
            roll = self.rng.random()
            if roll < 0.3:  # too short, with the terminator
                n = self.rng.randint(0, max(0, state.min_digits - 1))
                return ("press", self._digits(n) + (state.terminator or ""))
            if roll < 0.6:  # too long
                return ("press", self._digits(state.max_digits + self.rng.randint(1, 5)))
            entry = self._entry(session, state, phase)  # a wrong check digit
            last = str((int(entry[-1]) + self.rng.randint(1, 9)) % 10) if entry else "0"
            return ("press", entry[:-1] + last + (state.terminator or ""))
        keys, _ = self._choices(state, phase)
        wrong = [k for k in "0123456789*#" if k not in keys]
        return ("press", self.rng.choice(wrong or ["*"]))

    def _typeahead(self, session: Session, state: model.State, phase: str) -> CallerStep:
        first = self._valid(session, state, phase)
        if first[0] != "press":
            return first
        extra = self.rng.choice(
            [self._digits(self.rng.randint(1, 12)), "#", "1", "0#", self._digits(11) + "#"]
        )
        return ("press", first[1] + extra)

    def _partial(self, session: Session, state: model.State, phase: str) -> CallerStep:
        """Some keys, then a gap longer than the inter-digit timeout."""
        if phase in ("capture", "offer_number"):
            entry = self._entry(session, state, phase)
            cut = self.rng.randint(1, max(1, len(entry) - 1))
            self.pending.append(("wait", None))
            return ("press", entry[:cut])
        if phase == "menu" and isinstance(state, model.Menu) and state.entry is not None:
            keys = keypatterns.sample(self.rng.choice(state.entry.options), self.rng.choice)
            self.pending.append(("wait", None))  # half an extension, then silence
            return ("press", keys[: self.rng.randint(1, len(keys))])
        return self._valid(session, state, phase)

    def _speech(self, session: Session, state: model.State, phase: str) -> CallerStep:
        keys, phrases = self._choices(state, phase)
        confidence = self.rng.choice([1.0, 1.0, 0.9, 0.55, 0.3, 0.0])
        roll = self.rng.random()
        if phase in ("capture", "offer_number"):
            entry = self._entry(session, state, phase)
            words = SPOKEN["pt" if self.rng.random() < 0.5 else "en"]
            return ("say", (" ".join(words[int(d)] for d in entry if d.isdigit()), confidence))
        if phrases and roll < 0.45:
            return ("say", (self.rng.choice(phrases), confidence))
        if phrases and roll < 0.7:
            return ("say", (_near_miss(self.rng, self.rng.choice(phrases)), confidence))
        if roll < 0.85:
            words = self.rng.choices(GARBAGE_WORDS, k=self.rng.randint(1, 6))
            return ("say", (" ".join(words), confidence))
        return ("say", (f"I want {self.rng.choice(phrases or ['help'])} please", confidence))

    def _hostile(self, session: Session, state: model.State, phase: str) -> CallerStep:
        roll = self.rng.random()
        if roll < 0.25:
            return ("press", self._digits(LONG_KEYS, "0123456789*#"))
        if roll < 0.4:
            return ("press", "#" * self.rng.randint(1, 80))
        if roll < 0.55:
            return ("press", "*" * self.rng.randint(1, 80))
        if roll < 0.75:
            word = self.rng.choice(["segunda via ", "a", "9", "{{ x }} "])
            return ("say", ((word * LONG_UTTERANCE)[:LONG_UTTERANCE], self.rng.random()))
        if roll < 0.9:
            return ("say", (self.rng.choice(TEMPLATE_BAIT), 1.0))
        return ("say", ("", self.rng.choice([0.0, 1.0])))

    def _digits(self, n: int, alphabet: str = "0123456789") -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))


def _target(body: model.Body) -> str:
    """Where a choice leads: its first `-> state` (inside an `if` too), else ''."""
    for stmt in body:
        if isinstance(stmt, model.Goto):
            return stmt.target
        if isinstance(stmt, model.If):
            for _, branch in stmt.branches:
                found = _target(branch)
                if found:
                    return found
    return ""


def digits_of(text: str) -> str:
    out = []
    for word in text.split():
        for words in SPOKEN.values():
            if word in words:
                out.append(str(words.index(word)))
                break
        else:
            if word.isdigit():
                out.append(word)
    return "".join(out)


def _near_miss(rng: random.Random, phrase: str) -> str:
    """A phrase with one typo: a dropped, doubled or swapped letter."""
    if len(phrase) < 3:
        return phrase + phrase[-1:]
    i = rng.randrange(len(phrase) - 1)
    roll = rng.random()
    if roll < 0.33:
        return phrase[:i] + phrase[i + 1 :]
    if roll < 0.66:
        return phrase[:i] + phrase[i] + phrase[i:]
    return phrase[:i] + phrase[i + 1] + phrase[i] + phrase[i + 2 :]
