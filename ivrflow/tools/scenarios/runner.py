"""Playing a scenario on a `testing.Call`: each step in turn, each expectation as it comes.

The first expectation that does not hold stops the call; its `Failure` says what was
expected and what happened, with a diff of what the IVR said and the transcript so far.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...runtime.record import TRANSFER_TARGETS, Listener
from .data import (
    CALLER_STEPS,
    Expectation,
    Failure,
    Scenario,
    ScenarioError,
    ScenarioResult,
    Step,
)
from .loader import load

if TYPE_CHECKING:
    from ..testing import Call


class _Stop(Exception):
    def __init__(self, failure: Failure) -> None:
        self.failure = failure


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else _yamlish(value)


def _yamlish(value: Any) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return str(value).lower()
    return repr(value)


def _same(expected: Any, actual: Any) -> bool:
    """YAML values against call values: numbers by value, text as text, lists item by
    item, mappings by the keys the expectation names (others are ignored)."""
    if isinstance(expected, dict) and isinstance(actual, Mapping):  # the keys named must match
        return all(k in actual and _same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(map(_same, expected, actual))
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return abs(expected - actual) < 1e-9
    if isinstance(expected, dt.date | dt.time) and isinstance(actual, str):
        return expected.isoformat() == actual
    if isinstance(expected, str | int | float) and isinstance(actual, str | int | float):
        return str(expected) == str(actual)
    return bool(expected == actual)


_MISSING = object()


def _lookup_var(variables: Mapping[str, Any], dotted: str) -> Any:
    root, *attrs = dotted.split(".")
    value = variables.get(root, _MISSING)
    for a in attrs:
        if isinstance(value, Mapping) and a in value:
            value = value[a]
        else:
            return _MISSING
    return value


def say_diff(expected: str, said: str, regex: bool = False) -> list[str]:
    """A unified diff of the expected text against what the IVR said."""
    label = "expected (regex)" if regex else "expected"
    got = said.splitlines() or ["(nothing)"]
    return list(
        difflib.unified_diff(
            expected.splitlines() or [""], got, label, "said", lineterm="", n=len(got)
        )
    )


class Runner:
    """Plays one scenario on a `Call`, checking each expectation as it comes."""

    def __init__(self, scenario: Scenario, listeners: Iterable[Listener] = ()) -> None:
        self.scenario = scenario
        self.call = scenario.new_call(listeners)
        self.mark = 0  # transcript index of the last caller action

    def fail(self, step: Step | Expectation | None, label: str, message: str, **kw: Any) -> None:
        where = step.where if step is not None else None
        transcript = list(self.call.transcript)
        raise _Stop(Failure(label, where, message, transcript=transcript, **kw))

    def run(self) -> ScenarioResult:
        s = self.scenario
        result = ScenarioResult(s.path, s.name, call=self.call, flow_path=s.flow_path)
        try:
            self.call.start()
            for step in s.steps:
                self.step(step)
            self.finish()
        except _Stop as stop:
            result.failure = stop.failure
        except Exception as exc:  # a crash in the driver: report it, keep the run going
            import traceback

            tb = traceback.format_exc(limit=-3).rstrip().splitlines()
            result.failure = Failure(
                "(runner)",
                None,
                f"crashed: {type(exc).__name__}: {exc}",
                diff=tb,
                transcript=list(self.call.transcript),
            )
        return result

    def step(self, step: Step) -> None:
        call = self.call
        kind = step.kind
        if kind in CALLER_STEPS:
            if call.ended:
                self.fail(step, str(step), f"the call already ended ({_outcome(call)})")
            self.mark = len(call.transcript)
            if kind == "press":
                call.press(step.value)
            elif kind == "say":
                text, confidence = step.value
                call.say(text, confidence)
            elif kind == "record":
                if call.recording is None:
                    self.fail(step, str(step), f"nothing is recording (state {call.state})")
                text, ended_by = step.value
                call.leave_message(text, ended_by)
            elif kind == "wait":
                call.wait()
            else:
                call.hangup()
            return
        said = call.said(self.mark)
        if kind == "expect_say":
            if step.value not in said:
                self.fail(
                    step,
                    str(step),
                    "the IVR did not say it" + ("" if said else " (it said nothing)"),
                    diff=say_diff(step.value, said),
                )
        elif kind == "expect_say_regex":
            if not step.value.search(said):
                self.fail(
                    step,
                    str(step),
                    "nothing the IVR said matches" + ("" if said else " (it said nothing)"),
                    diff=say_diff(step.value.pattern, said, regex=True),
                )
        elif kind == "expect_play":
            played = call.played(self.mark)
            if not any(step.value in path for path in played):
                self.fail(
                    step,
                    str(step),
                    "the IVR did not play it"
                    + (f" (it played: {', '.join(played)})" if played else " (it played nothing)"),
                )
        elif kind == "expect_state":
            if call.state != step.value:
                ended = f" (the call ended: {_outcome(call)})" if call.ended else ""
                self.fail(step, str(step), f"expected state {step.value}, got {call.state}{ended}")
        else:  # expect_var
            variables = call.variables()
            wrong = []
            for name, want in step.value.items():
                got = _lookup_var(variables, name)
                if got is _MISSING:
                    wrong.append(f"expected {name}: {_show(want)}, it has no value yet")
                elif not _same(want, got):
                    wrong.append(_expected_got(name, _show(want), _show(got)))
            if wrong:
                self.fail(step, str(step), "\n".join(wrong))

    def finish(self) -> None:
        call, s = self.call, self.scenario
        if s.ended and not call.ended:
            where = s.expect[0] if s.expect else None
            listening = " (it is waiting for input)" if call.listening else ""
            self.fail(
                where,
                "expect.ended",
                f"the call did not end: it is in state {call.state}{listening}; "
                "end the steps with hangup, or expect ended: false",
            )
        outcome = call.outcome or {}
        for e in s.expect:
            label = f"expect.{e.key}"
            if e.key == "ended":
                if call.ended != e.value:
                    self.fail(e, label, f"expected ended: {_yamlish(e.value)}, got {call.ended}")
            elif e.key == "outcome":
                if outcome.get("kind") != e.value:
                    self.fail(e, label, f"expected outcome {e.value}, got {_outcome(call)}")
            elif e.key == "reason" or e.key in TRANSFER_TARGETS:
                got = outcome.get(e.key, _MISSING)
                if got is _MISSING or str(got) != e.value:
                    shown = "none" if got is _MISSING else _show(got)
                    self.fail(
                        e,
                        label,
                        f"expected {e.key} {e.value!r}, got {shown} ({_outcome(call)})",
                    )
            elif e.key == "callback":
                stored = bool(call.callbacks.pending())
                if stored != e.value:
                    what = "a callback to be stored" if e.value else "no callback stored"
                    self.fail(e, label, f"expected {what}, got {_callbacks(call)}")
            else:  # record.<field>
                name = e.key.split(".", 1)[1]
                record = call.record or {}
                got = record.get(name, _MISSING)
                if got is _MISSING or not _same(e.value, got):
                    shown = "nothing (the call has not ended)" if not record else _show(got)
                    self.fail(e, label, _expected_got(name, _show(e.value), shown))


def _expected_got(name: str, expected: str, got: str) -> str:
    if len(expected) + len(got) < 80:
        return f"expected {name}: {expected}, got {got}"
    return f"expected {name}:\n  {expected}\ngot:\n  {got}"


def _outcome(call: Call) -> str:
    o = call.outcome
    if not o:
        return "no outcome yet"
    details = " ".join(f"{k}={v}" for k, v in o.items() if k != "kind")
    return f"{o['kind']} {details}".strip()


def _callbacks(call: Call) -> str:
    n = len(call.callbacks.pending())
    return "none stored" if n == 0 else f"{n} stored"


def run(scenario: Scenario, listeners: Iterable[Listener] = ()) -> ScenarioResult:
    """Play a scenario; the result has the first failure, if any, and the call."""
    return Runner(scenario, listeners).run()


def run_file(
    path: str | Path,
    listeners: Iterable[Listener] = (),
    on_scenario: Callable[[Scenario], Iterable[Listener]] | None = None,
) -> ScenarioResult:
    """Load and play one file; load errors come back in `result.errors`."""
    import time

    began = time.perf_counter()
    try:
        scenario = load(path)
    except ScenarioError as exc:
        result = ScenarioResult(str(path), Path(path).stem, errors=exc.messages)
    else:
        extra = tuple(on_scenario(scenario)) if on_scenario else ()
        result = run(scenario, (*listeners, *extra))
    result.seconds = time.perf_counter() - began
    return result


__all__ = ["Runner", "run", "run_file", "say_diff"]
