"""Running a state's statements during the traffic walk, and how long they take.

The walk (`walk.Walker`) forks a visit wherever the model decides; here a body's statements
run for real with the flow's own evaluator over the variables the walk knows: `set`, `if`,
`switch` and `split` fork with the model's shares, a condition on a value the model does not
give is guessed (and listed in `assumed`), and every `say` and `play` adds its seconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from .. import model as fm
from ..model import prompts
from ..runtime.evaluate import EvaluationError, evaluate, truthy
from .durations import PLAY_DEFAULT, audio_seconds, speech_seconds, wpm_for
from .flowinfo import expr_text
from .model import TrafficModel

__all__ = ["UNKNOWN", "BodyRunner", "Env", "Leaf", "Scope", "Unknowable"]


class _UnknownValue:
    __slots__ = ()

    def __repr__(self) -> str:
        return "unknown"


UNKNOWN: Any = _UnknownValue()  # a value the model does not give (a captured number, …)


class Unknowable(Exception):
    """Evaluation reached a value the model does not give."""


Env: TypeAlias = dict[str, Any]


class Scope:
    """What a condition sees during the walk; unknown values raise `Unknowable`."""

    __slots__ = ("flow", "env", "hours")

    def __init__(self, flow: fm.Flow, env: Env, hours: Mapping[str, tuple[bool, bool, bool]]):
        self.flow, self.env, self.hours = flow, env, hours

    def variable(self, name: str) -> Any:
        if name == "now":
            raise Unknowable
        try:
            value = self.env[name]
        except KeyError:
            raise EvaluationError(f"'{name}' has no value yet") from None
        if value is UNKNOWN:
            raise Unknowable
        return value

    def number_list(self, name: str) -> Any:
        return self.flow.lists[name].numbers

    def hours_status(self, name: str, function: str) -> bool:
        is_open, holiday, emergency = self.hours[name]
        if function == "emergency":
            return emergency
        if function == "holiday":
            return holiday
        return is_open if function == "open" else not is_open


@dataclass(frozen=True, slots=True)
class Leaf:
    p: float
    seconds: float
    env: Env
    result: tuple[Any, ...]  # ("goto", t) ("hangup", reason, outcome) ("call", t, frames)
    # ("return",) ("end",) ("error", reason)


class BodyRunner:
    """The statements part of `Walker`: what it needs of the walker are these attributes."""

    flow: fm.Flow
    model: TrafficModel
    assumed: dict[str, float]
    base: Path

    # ------------------------------------------------------------ statements
    def _run(
        self,
        body: fm.Body,
        start: int,
        rest: tuple[tuple[fm.Body, int], ...],
        env: Env,
        p: float,
        seconds: float,
        state: str,
        hours: Mapping[str, tuple[bool, bool, bool]],
    ) -> Iterator[Leaf]:
        """Run statements from `start`, forking where the model decides; one leaf per way out."""
        i = start
        while i < len(body):
            stmt = body[i]
            i += 1
            if isinstance(stmt, fm.Say):
                seconds += self._say_seconds(stmt, env)
            elif isinstance(stmt, fm.Play):
                seconds += self._play_seconds(stmt.path)
            elif isinstance(stmt, fm.Assign):
                try:
                    value = evaluate(stmt.value, Scope(self.flow, env, hours))
                except Unknowable:
                    value = UNKNOWN
                except EvaluationError as exc:
                    yield Leaf(p, seconds, env, ("error", str(exc)))
                    return
                env = {**env, stmt.name: value}
            elif isinstance(stmt, fm.Goto):
                yield Leaf(p, seconds, env, ("goto", stmt.target))
                return
            elif isinstance(stmt, fm.Hangup):
                yield Leaf(p, seconds, env, ("hangup", stmt.reason, stmt.outcome))
                return
            elif isinstance(stmt, fm.CallSub):
                yield Leaf(p, seconds, env, ("call", stmt.target, ((body, i), *rest)))
                return
            elif isinstance(stmt, fm.Return):
                yield Leaf(p, seconds, env, ("return",))
                return
            else:
                try:
                    blocks = self._choose(stmt, env, state, hours)
                except EvaluationError as exc:
                    yield Leaf(p, seconds, env, ("error", str(exc)))
                    return
                outer = ((body, i), *rest)
                for share, block in blocks:
                    yield from self._run(block, 0, outer, env, p * share, seconds, state, hours)
                return
        if rest:
            (b, j), *more = rest
            yield from self._run(b, j, tuple(more), env, p, seconds, state, hours)
        else:
            yield Leaf(p, seconds, env, ("end",))

    def _choose(
        self,
        stmt: fm.If | fm.Switch | fm.Split,
        env: Env,
        state: str,
        hours: Mapping[str, tuple[bool, bool, bool]],
    ) -> list[tuple[float, fm.Body]]:
        scope = Scope(self.flow, env, hours)
        if isinstance(stmt, fm.Split):
            return [(w / 100.0, b) for w, b in stmt.branches]
        if isinstance(stmt, fm.If):
            out: list[tuple[float, fm.Body]] = []
            left = 1.0
            for cond, block in stmt.branches:
                if cond is None:
                    out.append((left, block))
                    return out
                try:
                    if truthy(evaluate(cond, scope)):
                        out.append((left, block))
                        return out
                except Unknowable:
                    share = self._assume(f"{state}: {expr_text(cond)}")
                    out.append((left * share, block))
                    left *= 1 - share
            out.append((left, ()))
            return out
        try:
            subject = evaluate(stmt.subject, scope)
        except Unknowable:
            self._assume(f"{state}: switch {expr_text(stmt.subject)}", equal=True)
            blocks = [b for _, b in stmt.cases]
            if not any(v == () for v, _ in stmt.cases):
                blocks.append(())
            return [(1.0 / len(blocks), b) for b in blocks]
        for values, block in stmt.cases:
            if not values or subject in values:
                return [(1.0, block)]
        return [(1.0, ())]

    def _assume(self, key: str, equal: bool = False) -> float:
        share = self.model.conditions.get(key)
        if share is None:
            share = self.model.unknown_condition
            self.assumed[key] = -1.0 if equal else share
        return share

    # ------------------------------------------------------------ durations
    def _say_seconds(self, say: fm.Say, env: Env) -> float:
        language = say.language or env.get("language") or self.flow.settings.language
        if not isinstance(language, str):
            language = self.flow.settings.language
        text = prompts.in_language(say.text, language) or ""
        rate = wpm_for(language, self.model.wpm, self.model.default_wpm)
        return speech_seconds(text, rate)

    def _play_seconds(self, path: str) -> float:
        if path in self.model.audio:
            return self.model.audio[path]
        measured = audio_seconds(str(self.base / path))
        return measured if measured is not None else PLAY_DEFAULT

    def _default_seconds(self, key: str, env: Env) -> float:
        language = env.get("language")
        language = language if isinstance(language, str) else self.flow.settings.language
        override = self.flow.prompts.get(key)  # the flow's own text for it, as the call says
        text = (
            prompts.in_language(override.text, language) or ""
            if override is not None
            else prompts.default(key, language, ewt="três minutos", position="4", phrase="x")
        )
        return speech_seconds(text, wpm_for(language, self.model.wpm, self.model.default_wpm))
