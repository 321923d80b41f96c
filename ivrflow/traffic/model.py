"""The traffic model: how callers behave and how the center is staffed, read from YAML.

Every problem is reported with the file, the line and the YAML path of the
value (`billing.yaml:14: states.main_menu.choices: shares must be numbers`), and
`check_against(flow)` names states, choices, look-ups and queues the flow lacks.
The format is documented, with an example a test loads, in docs/traffic.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .. import model as fm
from ..errors import IvrflowError, did_you_mean
from .queue import QueueSpec

__all__ = [
    "CallerSegment",
    "LookupModel",
    "LookupOutcome",
    "ModelError",
    "StateModel",
    "TrafficModel",
    "check_against",
    "load_model",
    "parse_model",
]

DEFAULT_WPM = 150.0  # words per minute of text-to-speech when the model gives none


class ModelError(IvrflowError):
    """A traffic model that cannot be used; the message names file, line and YAML path."""


@dataclass(frozen=True, slots=True)
class CallerSegment:
    share: float
    ani: str | None
    dnis: str | None


@dataclass(frozen=True, slots=True)
class StateModel:
    """What callers do at one input state (menus, captures, callback offers) per attempt."""

    choices: Mapping[str, float] = field(default_factory=dict)  # choice key → share
    noinput: float | None = None  # None: the model-wide default
    nomatch: float | None = None
    hangup: float | None = None
    accept: float | None = None  # callback offers: share that accepts
    confirm: float = 0.95  # captures with a read-back: share that says yes


@dataclass(frozen=True, slots=True)
class LookupOutcome:
    share: float
    result: Any = None  # the value bound to `as`; None with `error`
    error: str | None = None
    known: bool = True  # False: the model gives no result value (its fields are unknown)


@dataclass(frozen=True, slots=True)
class LookupModel:
    latency: float
    outcomes: tuple[LookupOutcome, ...]


@dataclass(frozen=True, slots=True)
class TrafficModel:
    path: str
    start: dt.date
    days: int
    warmup: float  # seconds at the start whose queue figures are dropped
    per_hour: tuple[float, ...]  # calls per hour, 24 values, the flow's local time
    weekdays: tuple[float, ...]  # factor per weekday, Monday first
    callers: tuple[CallerSegment, ...]
    noinput: float
    nomatch: float
    hangup: float
    think: float  # seconds from the end of a prompt to the caller's key
    key_time: float  # seconds per key in a capture
    states: Mapping[str, StateModel]
    lookups: Mapping[str, LookupModel]
    default_latency: float
    conditions: Mapping[str, float]  # "state: condition text" → P(true)
    unknown_condition: float
    wpm: Mapping[str, float]  # language tag (or its base) → words per minute
    default_wpm: float
    audio: Mapping[str, float]  # play path → seconds
    queues: Mapping[str, QueueSpec]
    sl_target: float  # share, e.g. 0.8
    sl_threshold: float  # seconds, e.g. 20
    emergency: frozenset[str]
    lines: Mapping[str, int] = field(default_factory=dict)  # YAML path → line

    def line_of(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path.rpartition(".")[0]
        return None

    def where(self, path: str) -> str:
        line = self.line_of(path)
        return f"{self.path}:{line}" if line else self.path


def _lines(node: yaml.Node, prefix: str, out: dict[str, int]) -> None:
    out.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = f"{prefix}.{key.value}" if prefix else str(key.value)
            out[name] = key.start_mark.line + 1
            _lines(value, name, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, f"{prefix}.{i}" if prefix else str(i), out)


class _Reader:
    """Typed access to the YAML data, each error with its path and line."""

    def __init__(self, path: str, lines: dict[str, int]) -> None:
        self.path, self.lines = path, lines

    def fail(self, where: str, message: str) -> ModelError:
        probe = where
        while probe and probe not in self.lines:
            probe = probe.rpartition(".")[0]
        line = self.lines.get(probe)
        at = f"{self.path}:{line}" if line else self.path
        return ModelError(f"{at}: {where or 'model'}: {message}")

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(where, "expected a mapping (key: value)")
        return {str(k): v for k, v in value.items()}

    def number(self, value: Any, where: str, low: float = 0.0, high: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(where, f"expected a number, got {value!r}")
        if value < low or (high is not None and value > high):
            bounds = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            raise self.fail(where, f"must be {bounds}, got {value!r}")
        return float(value)

    def share(self, value: Any, where: str) -> float:
        return self.number(value, where, 0.0, 1.0)

    def duration(self, value: Any, where: str) -> float:
        """Seconds as a number, or '5m', '30s', '1h'."""
        if isinstance(value, str):
            text = value.strip()
            units = {"s": 1.0, "m": 60.0, "h": 3600.0}
            if text and text[-1] in units:
                try:
                    return self.number(float(text[:-1]), where) * units[text[-1]]
                except ValueError:
                    pass
            raise self.fail(where, f"expected seconds or a duration like 5m, got {value!r}")
        return self.number(value, where)


_TOP = {
    "start", "days", "warmup", "arrivals", "callers", "caller", "states", "lookups",
    "conditions", "speech", "queues", "target", "emergency",
}  # fmt: skip


def load_model(path: str | Path) -> TrafficModel:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(f"{p}: cannot read the model: {exc.strerror}") from None
    return parse_model(text, str(p))


def parse_model(text: str, path: str = "<model>") -> TrafficModel:
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{path}:{mark.line + 1}" if mark is not None else path
        raise ModelError(f"{at}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    lines: dict[str, int] = {}
    if node is not None:
        _lines(node, "", lines)
    r = _Reader(path, lines)
    top = r.mapping(data, "")
    for key in top:
        if key not in _TOP:
            hint = did_you_mean(key, _TOP)
            raise r.fail(key, "unknown key" + (f"; {hint}" if hint else ""))

    start = top.get("start", dt.date(2026, 11, 23))
    if isinstance(start, str):
        try:
            start = dt.date.fromisoformat(start)
        except ValueError:
            raise r.fail("start", f"expected a date like 2026-11-23, got {start!r}") from None
    if not isinstance(start, dt.date):
        raise r.fail("start", f"expected a date like 2026-11-23, got {start!r}")
    days = int(r.number(top.get("days", 7), "days", 1, 3660))

    arrivals = r.mapping(top.get("arrivals"), "arrivals")
    per_hour_raw = arrivals.get("per_hour")
    if per_hour_raw is None:
        rate = r.number(arrivals.get("rate", 60), "arrivals.rate")
        per_hour: tuple[float, ...] = (rate,) * 24
    else:
        if not isinstance(per_hour_raw, list) or len(per_hour_raw) != 24:
            raise r.fail("arrivals.per_hour", "expected a list of 24 calls-per-hour figures")
        per_hour = tuple(r.number(v, f"arrivals.per_hour.{i}") for i, v in enumerate(per_hour_raw))
    weekdays_raw = arrivals.get("weekdays", [1.0] * 7)
    if not isinstance(weekdays_raw, list) or len(weekdays_raw) != 7:
        raise r.fail("arrivals.weekdays", "expected 7 factors, Monday to Sunday")
    weekdays = tuple(r.number(v, f"arrivals.weekdays.{i}") for i, v in enumerate(weekdays_raw))

    callers_raw = top.get("callers", [{"share": 1.0, "ani": "+15555550100", "dnis": None}])
    if not isinstance(callers_raw, list) or not callers_raw:
        raise r.fail("callers", "expected a list of {share, ani, dnis}")
    callers = []
    for i, c in enumerate(callers_raw):
        cm = r.mapping(c, f"callers.{i}")
        callers.append(
            CallerSegment(
                r.number(cm.get("share", 1.0), f"callers.{i}.share"),
                None if cm.get("ani") is None else str(cm["ani"]),
                None if cm.get("dnis") is None else str(cm["dnis"]),
            )
        )
    if sum(c.share for c in callers) <= 0:
        raise r.fail("callers", "the shares add up to 0")

    caller = r.mapping(top.get("caller"), "caller")
    states: dict[str, StateModel] = {}
    for name, raw in r.mapping(top.get("states"), "states").items():
        sm = r.mapping(raw, f"states.{name}")
        choices = {
            str(k): r.number(v, f"states.{name}.choices.{k}")
            for k, v in r.mapping(sm.get("choices"), f"states.{name}.choices").items()
        }
        opt = {
            k: r.share(sm[k], f"states.{name}.{k}")
            for k in ("noinput", "nomatch", "hangup", "accept")
            if sm.get(k) is not None
        }
        unknown = set(sm) - {"choices", "noinput", "nomatch", "hangup", "accept", "confirm"}
        if unknown:
            raise r.fail(f"states.{name}.{sorted(unknown)[0]}", "unknown key")
        failing = sum(opt.get(k, 0.0) for k in ("noinput", "nomatch", "hangup"))
        if failing > 1.0:
            raise r.fail(f"states.{name}", "noinput + nomatch + hangup exceed 1")
        states[name] = StateModel(
            choices=choices,
            confirm=r.share(sm.get("confirm", 0.95), f"states.{name}.confirm"),
            **opt,
        )

    lookups: dict[str, LookupModel] = {}
    for fname, raw in r.mapping(top.get("lookups"), "lookups").items():
        lm = r.mapping(raw, f"lookups.{fname}")
        outcomes = []
        outs = lm.get("outcomes", [{"share": 1.0}])
        if not isinstance(outs, list) or not outs:
            raise r.fail(f"lookups.{fname}.outcomes", "expected a list of {share, result|error}")
        for i, o in enumerate(outs):
            om = r.mapping(o, f"lookups.{fname}.outcomes.{i}")
            share = r.number(om.get("share", 1.0), f"lookups.{fname}.outcomes.{i}.share")
            if "error" in om:
                outcomes.append(LookupOutcome(share, None, str(om["error"])))
            else:
                outcomes.append(LookupOutcome(share, om.get("result"), None, "result" in om))
        latency = r.duration(lm.get("latency", 0.5), f"lookups.{fname}.latency")
        lookups[fname] = LookupModel(latency, tuple(outcomes))

    conditions = {
        str(k): r.share(v, f"conditions.{k}")
        for k, v in r.mapping(top.get("conditions"), "conditions").items()
    }
    unknown_condition = conditions.pop("default", 0.5)

    speech = r.mapping(top.get("speech"), "speech")
    wpm = {
        str(k): r.number(v, f"speech.wpm.{k}", 1.0)
        for k, v in r.mapping(speech.get("wpm"), "speech.wpm").items()
    }
    audio = {
        str(k): r.duration(v, f"speech.audio.{k}")
        for k, v in r.mapping(speech.get("audio"), "speech.audio").items()
    }

    queues: dict[str, QueueSpec] = {}
    for qname, raw in r.mapping(top.get("queues"), "queues").items():
        qm = r.mapping(raw, f"queues.{qname}")
        w = f"queues.{qname}"
        if "agents" not in qm or "aht" not in qm:
            raise r.fail(w, "a queue needs agents and aht (average handle time)")
        handle = str(qm.get("handle", "exponential"))
        if handle not in ("exponential", "lognormal"):
            raise r.fail(f"{w}.handle", "expected exponential or lognormal")
        pdist = str(qm.get("patience_distribution", "exponential"))
        if pdist not in ("exponential", "lognormal"):
            raise r.fail(f"{w}.patience_distribution", "expected exponential or lognormal")
        patience = qm.get("patience")
        schedule = None
        if isinstance(qm["agents"], list):  # agents per hour of the day
            if len(qm["agents"]) != 24:
                raise r.fail(f"{w}.agents", "expected a number, or 24 (agents per hour of the day)")
            schedule = tuple(
                int(r.number(v, f"{w}.agents.{i}")) for i, v in enumerate(qm["agents"])
            )
        queues[qname] = QueueSpec(
            name=qname,
            agents=max(schedule) if schedule else int(r.number(qm["agents"], f"{w}.agents")),
            schedule=schedule,
            aht=r.duration(qm["aht"], f"{w}.aht") or 1.0,
            patience=None if patience is None else (r.duration(patience, f"{w}.patience") or 1.0),
            handle=handle,
            handle_cv=r.number(qm.get("handle_cv", 1.0), f"{w}.handle_cv"),
            patience_distribution=pdist,
            callback_dial=r.duration(qm.get("callback_dial", 30), f"{w}.callback_dial"),
        )

    target, threshold = parse_target(str(top.get("target", "80/20")), r)
    emergency = top.get("emergency", [])
    if not isinstance(emergency, list):
        raise r.fail("emergency", "expected a list of hours names")
    return TrafficModel(
        path=path,
        start=start,
        days=days,
        warmup=r.duration(top.get("warmup", 0), "warmup"),
        per_hour=per_hour,
        weekdays=weekdays,
        callers=tuple(callers),
        noinput=r.share(caller.get("noinput", 0.05), "caller.noinput"),
        nomatch=r.share(caller.get("nomatch", 0.03), "caller.nomatch"),
        hangup=r.share(caller.get("hangup", 0.01), "caller.hangup"),
        think=r.duration(caller.get("think", 2.0), "caller.think"),
        key_time=r.duration(caller.get("key_time", 0.4), "caller.key_time"),
        states=states,
        lookups=lookups,
        default_latency=r.duration(caller.get("latency", 0.5), "caller.latency"),
        conditions=conditions,
        unknown_condition=unknown_condition,
        wpm=wpm,
        default_wpm=r.number(speech.get("default_wpm", DEFAULT_WPM), "speech.default_wpm", 1.0),
        audio=audio,
        queues=queues,
        sl_target=target,
        sl_threshold=threshold,
        emergency=frozenset(str(e) for e in emergency),
        lines=lines,
    )


def parse_target(text: str, reader: _Reader | None = None) -> tuple[float, float]:
    """'80/20' → (0.8, 20.0): 80 % answered within 20 seconds."""
    share, _, seconds = text.partition("/")
    try:
        s, t = float(share), float(seconds)
    except ValueError:
        s = t = -1.0
    if not (0 < s <= 100 and t >= 0):
        message = f"expected a service-level target like 80/20, got {text!r}"
        raise reader.fail("target", message) if reader else ModelError(message)
    return s / 100.0, t


def check_against(m: TrafficModel, flow: fm.Flow) -> list[str]:
    """Problems between the model and the flow: names the flow does not have."""
    problems: list[str] = []

    def bad(path: str, message: str, name: str, known: Any) -> None:
        hint = did_you_mean(name, known)
        problems.append(f"{m.where(path)}: {path}: {message}" + (f"; {hint}" if hint else ""))

    for name, sm in m.states.items():
        state = flow.states.get(name)
        if state is None:
            bad(f"states.{name}", f"flow '{flow.name}' has no state '{name}'", name, flow.states)
            continue
        if not isinstance(state, fm.Menu | fm.Capture | fm.CallbackOffer):
            problems.append(
                f"{m.where(f'states.{name}')}: states.{name}: '{name}' does not listen to the "
                "caller (only menus, captures and callback offers do)"
            )
            continue
        keys = choice_keys(state) if isinstance(state, fm.Menu) else []
        for key in sm.choices:
            if key not in keys:
                bad(
                    f"states.{name}.choices.{key}",
                    f"menu '{name}' has no choice '{key}'",
                    key,
                    keys,
                )
    for fname in m.lookups:
        if fname not in flow.functions:
            bad(
                f"lookups.{fname}",
                f"flow '{flow.name}' has no function '{fname}'",
                fname,
                flow.functions,
            )
    for hname in m.emergency:
        if hname not in flow.hours:
            bad("emergency", f"flow '{flow.name}' has no hours '{hname}'", hname, flow.hours)
    used = {q for s in flow.states.values() if isinstance(s, fm.Transfer) for q in s.queues}
    used |= {s.queue for s in flow.states.values() if isinstance(s, fm.CallbackOffer)}
    for q in sorted(used - set(m.queues)):
        problems.append(
            f"{m.path}: queues: the flow sends calls to queue '{q}', the model has no such queue"
        )
    return problems


def choice_keys(menu: fm.Menu) -> list[str]:
    """How the model names a menu's choices: the first key, else the first key sequence or
    pattern (`_4XX`), else the first phrase (`model.choice_name`)."""
    return [fm.choice_name(c) for c in menu.choices]
