"""What the explorer tries: call setups (callers, times, holidays, split seeds), capture
entries (valid and invalid, regex samples), phone numbers, and the host's answers it
invents (generic look-up results, the error reasons a flow tells apart)."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Container, Iterator, Mapping
from typing import Any

from ... import model
from ...host.fixtures import Fixtures
from ...model import calendars, phone, validators
from ...model import hours as hours_mod
from ...model.walk import bodies, walk
from ...runtime.session import Session
from ..testing import DEFAULT_AT
from .exprs import _expressions, _subexpressions, _texts
from .fmt import _ordinal
from .tree import Setup

# ---------------------------------------------------------------- call setups


def default_setups(flow: model.Flow, fixtures: Fixtures) -> list[Setup]:
    """Callers × times: the fixtures' callers (or generated ones) at office hours, at night,
    on a holiday, and with each hours' emergency switch on."""
    callers = _callers(flow, fixtures)
    times = _times(flow)
    seeds = _seeds_for_splits(flow)
    return [
        Setup(name, ani, dnis, at, when, emergency, named, seed, note)
        for seed, note in seeds
        for at, when, emergency in times
        for name, ani, dnis, named in callers
    ]


def _seeds_for_splits(flow: model.Flow) -> list[tuple[int, str]]:
    """Seed 0, plus for each branch of each A/B split that seed 0 does not pick first, the
    smallest seed that does."""
    splits = [
        (name, stmt)
        for name, state in flow.states.items()
        for body in bodies(state)
        for stmt in walk(body)
        if isinstance(stmt, model.Split)
    ]
    if not splits:
        return [(0, "")]
    out: list[tuple[int, str]] = []
    for state, split in splits:
        wanted = {id(body): i for i, (_, body) in enumerate(split.branches)}
        found: dict[int, int] = {}
        for seed in range(0, 2000):
            probe = Session(flow, call_id="seed", ani=None, dnis=None, at=0.0, seed=seed)
            branch = wanted[id(probe._draw(split))]
            found.setdefault(branch, seed)
            if len(found) == len(wanted):
                break
        for branch, seed in sorted(found.items(), key=lambda x: x[1]):
            weight = split.branches[branch][0]
            note = f"the split in {state} draws its {_ordinal(branch + 1)} branch, {weight:g}%"
            if all(s != seed for s, _ in out):
                out.append((seed, note))
    return out


def _callers(
    flow: model.Flow, fixtures: Fixtures
) -> list[tuple[str, str | None, str | None, bool]]:
    if fixtures.calls:
        return [(name, c.get("ani"), c.get("dnis"), True) for name, c in fixtures.calls.items()]
    out: list[tuple[str, str | None, str | None, bool]] = [
        ("caller", "+5511912345678", None, False),
        ("withheld", None, None, False),
    ]
    for var, name in _list_uses(flow):
        numbers = sorted(flow.lists[name].numbers)
        if not numbers:
            continue
        ani, dnis = (numbers[0], None) if var == "ani" else ("+5511912345678", numbers[0])
        out.append((f"{var} in {name}", ani, dnis, False))
    return out


def _list_uses(flow: model.Flow) -> list[tuple[str, str]]:
    """(`ani`|`dnis`, list name) for every `ani in list` / `dnis in list` the flow tests."""
    found: list[tuple[str, str]] = []
    for expr in _expressions(flow):
        for e in _subexpressions(expr):
            if (
                isinstance(e, model.BinOp)
                and e.op in ("in", "not in")
                and isinstance(e.left, model.Var)
                and e.left.name in ("ani", "dnis")
                and isinstance(e.right, model.ListRef)
            ):
                pair = (e.left.name, e.right.name)
                if pair not in found and e.right.name in flow.lists:
                    found.append(pair)
    return found


def _times(flow: model.Flow) -> list[tuple[str, str, tuple[str, ...]]]:
    """(ISO time, description, emergency hours) for each time setup."""
    tz = hours_mod.zone(flow.settings.timezone)
    if not flow.hours:
        return [(DEFAULT_AT, "default time", ())]
    base = dt.datetime.fromisoformat(DEFAULT_AT).astimezone(tz).date()
    day = base
    for _ in range(60):  # a weekday that no hours close
        if day.weekday() < 5 and not any(
            hours_mod.day_closure(h, day) for h in flow.hours.values()
        ):
            break
        day += dt.timedelta(days=1)

    def opened(d: dt.date, hour: int) -> int:
        at = dt.datetime.combine(d, dt.time(hour), tz).timestamp()
        return sum(hours_mod.is_open(h, at) for h in flow.hours.values())

    counts = {hour: opened(day, hour) for hour in range(24)}
    office = min(range(24), key=lambda h: (-counts[h], h))
    night_order = [
        23,
        22,
        21,
        0,
        1,
        2,
        3,
        4,
        5,
        6,
        7,
        20,
        19,
        8,
        9,
        10,
        11,
        12,
        13,
        14,
        15,
        16,
        17,
        18,
    ]
    night = min(night_order, key=lambda h: (counts[h], night_order.index(h)))

    def iso(d: dt.date, hour: int) -> str:
        return dt.datetime.combine(d, dt.time(hour), tz).isoformat()

    out: list[tuple[str, str, tuple[str, ...]]] = [(iso(day, office), "office hours", ())]
    if counts[night] < counts[office]:
        out.append((iso(day, night), "night", ()))
    holiday = _holiday(flow, base)
    if holiday is not None:
        date, reason = holiday
        out.append((iso(date, office), f"holiday{' ' + reason if reason else ''}", ()))
    for name in flow.hours:
        out.append((iso(day, office), f"emergency {name}", (name,)))
    return out


def _holiday(flow: model.Flow, base: dt.date) -> tuple[dt.date, str | None] | None:
    """A whole-day closure (dated or from a calendar) in the year from `base`, else any dated
    one: the day most hours close, then the earliest; and its reason."""
    year = base + dt.timedelta(days=366)
    days: dict[dt.date, str | None] = {}
    for h in flow.hours.values():
        for c in h.closures:
            if not c.times:
                days.setdefault(c.first, c.reason)
        for calendar in h.calendars:
            for day, name in calendars.holidays_between(calendar, base, year):
                days.setdefault(day, name)
    if not days:
        return None

    def closed(day: dt.date) -> int:
        return sum(
            (c := hours_mod.day_closure(h, day)) is not None and not c.times
            for h in flow.hours.values()
        )

    later = [d for d in days if d >= base] or list(days)
    chosen = min(later, key=lambda d: (-closed(d), d))
    return chosen, days[chosen]


# ---------------------------------------------------------------- entries


def accepts(cap: model.Capture, value: str) -> bool:
    """Would the capture take `value` as its entry (length, digits, every validator)?"""
    if not cap.min_digits <= len(value) <= cap.max_digits:
        return False
    if not value or any(k not in "0123456789" for k in value):
        return False
    return all(validators.BUILTIN[v.name].func(value, *v.args) for v in cap.validators)


FILLER = [
    "I",
    "would",
    "like",
    "to",
    "talk",
    "about",
    "my",
    "last",
    "bill",
    "and",
    "the",
    "payment",
    "I",
    "made",
    "for",
    "it",
]


def free_speech_answers(cap: model.Capture) -> tuple[str, str]:
    """What a caller says to a capture of words: an answer that fits, and one too long."""
    assert cap.words is not None
    low, high = cap.words
    count = max(low, min(high, 4))
    words = FILLER * (high // len(FILLER) + 2)
    return " ".join(words[:count]), " ".join(words[: high + 1])


def valid_entry(cap: model.Capture, avoid: Container[str] = ()) -> str | None:
    """A value the capture accepts (and not in `avoid`), generated from its length and
    validation rules."""
    for seed in _seeds(cap):
        for candidate in _variants(seed):
            if candidate not in avoid and accepts(cap, candidate):
                return candidate
    low, high = cap.min_digits, min(cap.max_digits, 5)
    for n in range(max(1, low), high + 1):  # last resort: every string of a small length
        for digits in itertools.product("0123456789", repeat=n):
            candidate = "".join(digits)
            if candidate not in avoid and accepts(cap, candidate):
                return candidate
    return None


def invalid_entry(cap: model.Capture, valid: str | None) -> tuple[str, str] | None:
    """(keys, why) for an entry the capture rejects: a broken check, too short, or empty."""
    if valid is not None and cap.validators:
        for position in range(len(valid) - 1, -1, -1):
            for digit in "1234567890":
                if digit == valid[position]:
                    continue
                broken = valid[:position] + digit + valid[position + 1 :]
                failed = [
                    v.name
                    for v in cap.validators
                    if not validators.BUILTIN[v.name].func(broken, *v.args)
                ]
                if failed:
                    return broken, "fails " + "/".join(dict.fromkeys(failed))
    if cap.min_digits > 1:
        short = (valid or "1234567890" * 7)[: cap.min_digits - 1]
        return short, "too short"
    if cap.terminator is not None:
        return "", "empty"
    return None


def _entry_steps(cap: model.Capture, value: str) -> tuple[tuple[str, str | None], ...]:
    """The caller's steps to key `value` in: with the terminator, or a pause to end it."""
    if len(value) >= cap.max_digits:
        return (("press", value),)
    if cap.terminator is not None:
        return (("press", value + cap.terminator),)
    return (("press", value), ("wait", None))


def _entry_label(cap: model.Capture, value: str) -> str:
    if len(value) >= cap.max_digits:
        return value
    if cap.terminator is not None:
        return value + cap.terminator
    return f"{value} + wait"


def _seeds(cap: model.Capture) -> Iterator[str]:
    lengths = list(range(cap.min_digits, cap.max_digits + 1))
    if cap.terminator is None:
        lengths.reverse()  # the full length ends the entry without a pause
    lengths = [n for n in lengths if n > 0][:8]
    for v in cap.validators:
        if v.name == "regex":
            yield from _regex_samples(str(v.args[0]))
        elif v.name == "range":
            low = int(v.args[0])
            for n in lengths:
                yield str(low).zfill(n)
        elif v.name == "date":
            yield _date_entry(str(v.args[0]))
    pattern = "1234567890" * 7
    for n in lengths:
        yield pattern[:n]


def _variants(seed: str) -> Iterator[str]:
    """The seed, then the seed with its last one, two or three digits changed."""
    yield seed
    for tail in (1, 2, 3):
        if len(seed) < tail:
            return
        for digits in itertools.product("0123456789", repeat=tail):
            yield seed[:-tail] + "".join(digits)


def _date_entry(fmt: str) -> str:
    when = dt.date(2028, 3, 15)  # a real date, in the future of any test clock
    return (
        fmt.replace("YYYY", f"{when.year:04d}")
        .replace("YY", f"{when.year % 100:02d}")
        .replace("MM", f"{when.month:02d}")
        .replace("DD", f"{when.day:02d}")
    )


def _regex_samples(pattern: str, limit: int = 400) -> list[str]:
    """Strings of digits the pattern fully matches, built from its parse (simple patterns)."""
    import importlib

    try:
        parser: Any = importlib.import_module("re._parser")
        parsed = list(parser.parse(pattern))
    except Exception:
        return []
    compiled = re.compile(pattern)
    return [s for s in itertools.islice(_sequence(parsed), limit) if compiled.fullmatch(s)]


def _sequence(items: list[Any]) -> Iterator[str]:
    options = [_alternatives(op, av) for op, av in items]
    for combo in itertools.product(*options):
        yield "".join(combo)


def _alternatives(op: Any, av: Any) -> list[str]:
    name = getattr(op, "name", str(op))
    if name == "LITERAL":
        return [chr(av)]
    if name == "NOT_LITERAL":
        return [d for d in "0123456789" if ord(d) != av][:2]
    if name == "ANY":
        return ["1"]
    if name == "IN":
        return _charset(av)[:2] or [""]
    if name == "BRANCH":
        return [s for p in av[1] for s in itertools.islice(_sequence(list(p)), 4)]
    if name == "SUBPATTERN":
        return list(itertools.islice(_sequence(list(av[-1])), 8))
    if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        low, high, sub = av
        subs = list(itertools.islice(_sequence(list(sub)), 2)) or [""]
        counts = range(low, min(high, low + 12) + 1)
        out = [subs[0] * n for n in counts]
        if len(subs) > 1 and low > 0:
            out.append(subs[1] * low)
        return out
    return [""]  # anchors, look-arounds, anything else: no characters


def _charset(items: list[Any]) -> list[str]:
    negate = False
    allowed: set[str] = set()
    for op, av in items:
        name = getattr(op, "name", str(op))
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            allowed.add(chr(av))
        elif name == "RANGE":
            allowed.update(chr(c) for c in range(av[0], min(av[1], av[0] + 200) + 1))
        elif name == "CATEGORY":
            cat = getattr(av, "name", str(av))
            if cat in ("CATEGORY_DIGIT", "CATEGORY_WORD"):
                allowed.update("0123456789")
    digits = "0123456789"
    if negate:
        return [d for d in digits if d not in allowed]
    return [d for d in digits if d in allowed] or sorted(allowed)


def _phone_number(country: str | None) -> str:
    for number in ("11987654321", "2025550123", "2079460000", "0612345678"):
        if phone.normalize(number, country) is not None:
            return number
    return "2025550123"


# ---------------------------------------------------------------- host answers


def _generic_result(flow: model.Flow, function: str) -> Any:
    """A result for a look-up the fixtures cannot answer: the attributes the flow reads."""
    names = [
        s.result
        for s in flow.states.values()
        if isinstance(s, model.Lookup) and s.function == function and s.result
    ]
    attrs: dict[str, Any] = {}
    for name in names:
        for expr in _expressions(flow):
            for e in _subexpressions(expr):
                if isinstance(e, model.Var) and e.name == name and e.attrs:
                    attrs.setdefault(e.attrs[0], 1)
        for state in flow.states.values():
            for body in bodies(state):
                for stmt in walk(body):
                    if (
                        isinstance(stmt, model.Switch)
                        and isinstance(stmt.subject, model.Var)
                        and stmt.subject.name == name
                        and stmt.subject.attrs
                    ):
                        first = next((v for values, _ in stmt.cases for v in values), None)
                        if first is not None:
                            attrs[stmt.subject.attrs[0]] = first
        for text in _texts(flow):
            for m in re.finditer(rf"\b{re.escape(name)}\.(\w+)", text):
                attrs.setdefault(m.group(1), 1)
    return attrs or {"result": "ok"}


def _error_literals(body: model.Body) -> list[str]:
    """The reasons a look-up's error branch tells apart (`switch error: "not found" …`)."""
    out: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, str) and value not in out:
            out.append(value)

    for stmt in walk(body):
        if isinstance(stmt, model.Switch) and _is_error_var(stmt.subject):
            for values, _ in stmt.cases:
                for v in values:
                    add(v)
        elif isinstance(stmt, model.If):
            for cond, _ in stmt.branches:
                if cond is None:
                    continue
                for e in _subexpressions(cond):
                    if isinstance(e, model.BinOp) and e.op in ("==", "!=", "in", "not in"):
                        other = (
                            e.right
                            if _is_error_var(e.left)
                            else e.left
                            if _is_error_var(e.right)
                            else None
                        )
                        if isinstance(other, model.Const):
                            add(other.value)
                        elif isinstance(other, model.MakeList):
                            for item in other.items:
                                if isinstance(item, model.Const):
                                    add(item.value)
    return out


def _is_error_var(e: model.Expression) -> bool:
    return isinstance(e, model.Var) and e.name == "error" and not e.attrs


def _shape(value: Any) -> Any:
    """A body's structure without source positions, to compare two branches."""
    if isinstance(value, tuple | list):
        return tuple(_shape(v) for v in value)
    if isinstance(value, model.Where):
        return None
    slots = getattr(type(value), "__slots__", None)
    if slots and hasattr(value, "__dataclass_fields__"):
        return (type(value).__name__,) + tuple(
            _shape(getattr(value, f)) for f in value.__dataclass_fields__ if f != "where"
        )
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), _shape(v)) for k, v in value.items()))
    return value
