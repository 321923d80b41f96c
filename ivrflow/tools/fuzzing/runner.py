"""Run random callers against a flow and check every invariant on every call.

`fuzz_flow(flow, calls, seed)` is the public entry point (the CLI's `ivrflow fuzz` and
`bench/reliability.py` use it); `replay(path)` plays a scenario the fuzzer wrote and
checks the invariants again.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ... import model
from ...host import fixtures as fx
from ...runtime.session import Session
from ..testing import Call
from . import invariants as inv
from .callers import PERSONAS, CallerStep, RandomCaller, Secrets, digit_runs, digits_of
from .faults import TIMES, Setup, draw_setup
from .leaks import LogCapture, SecretAudit, TraceListener, strings
from .repro import scenario_yaml

__all__ = ["FuzzReport", "FuzzedCall", "Violation", "fuzz_flow", "fuzzed_calls", "replay"]

SNAPSHOT_KEY = b"ivrflow-fuzz-snapshot-key"
SNAPSHOT_EVERY = 3  # caller steps between two snapshot round trips (the first step always)


@dataclass
class Violation:
    """One broken invariant on one call, with a scenario that replays the call."""

    seed: int
    call: int  # the call's index in the run, 0-based
    invariant: str  # one of invariants.INVARIANTS
    message: str
    scenario_yaml: str  # flow path relative to the current directory; see repro.write

    def __str__(self) -> str:
        return f"seed={self.seed} call={self.call} {self.invariant}: {self.message}"


@dataclass
class FuzzReport:
    """What a fuzz run saw. Field names are stable (bench/reliability.py reads them).

    - `calls`: calls placed; `records`: calls that ended with exactly one record;
      `records_lost` = calls − records (must be 0);
    - `secrets_leaked`: secure values seen in clear (calls with a leak);
      `secure_calls`: calls where the caller keyed a secure value the audit looked for;
    - `violations`: every broken invariant (`Violation`: seed, call, invariant, message,
      scenario_yaml);
    - `outcomes`: Counter of the records' outcome kinds; `personas`: of caller kinds;
    - `steps`: caller steps taken; `seconds`: wall time of the run; `calls_per_second`;
    - `states`: Counter of the states the calls entered (`state_coverage`: the share of the
      flow's states any call reached);
    - `interrupted`: the run stopped early when asked (`stop`), after `calls` calls.
    """

    flow: str
    seed: int
    calls: int = 0
    records: int = 0
    records_lost: int = 0
    secrets_leaked: int = 0
    secure_calls: int = 0
    violations: list[Violation] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    personas: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)
    state_count: int = 0  # states in the flow
    steps: int = 0
    seconds: float = 0.0
    silence_bound: inv.SilenceBound | None = None
    interrupted: bool = False

    @property
    def calls_per_second(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0

    @property
    def state_coverage(self) -> float:
        return len(self.states) / self.state_count if self.state_count else 0.0

    @property
    def ok(self) -> bool:
        return not self.violations and self.records_lost == 0


@dataclass
class _Outcome:
    """One call's result: its steps and what broke."""

    steps: list[CallerStep]
    problems: list[tuple[str, str]]  # (invariant, message)
    record: dict[str, Any] | None
    records: int
    leaked: bool
    observed: dict[str, Any]
    audited: int  # secure values the audit looked for


class _Checker:
    """Drives one `Call` step by step and checks the invariants as it goes."""

    def __init__(
        self, call: Call, flow: model.Flow, setup_emergency: Sequence[str], ignore: frozenset[str]
    ) -> None:
        self.call = call
        self.flow = flow
        self.emergency = frozenset(setup_emergency)
        self.trace = TraceListener()
        call.session.listeners = (self.trace,)
        self.audit = SecretAudit(ignore=ignore)
        self.problems: list[tuple[str, str]] = []
        self.steps: list[CallerStep] = []
        self.bound = _bound(flow)
        self._snapshot_turn = 0
        self.active_at = call.now  # when the caller last did something other than wait
        self.active_path = 0  # how many states the call had entered by then

    # ------------------------------------------------------------ steps
    def perform(self, step: CallerStep) -> None:
        call, session = self.call, self.call.session
        kind, value = step
        state = self.flow.states.get(session.state)
        if isinstance(state, model.Capture) and state.secure and session.phase == "capture":
            self._note_secret(value if kind == "press" else value[0] if kind == "say" else "")
        self.steps.append(step)
        if kind == "press":
            call.press(value)
        elif kind == "say":
            call.say(value[0], value[1])
        elif kind == "wait":
            call.wait()
        else:
            call.hangup()
        for name in self.flow.secure_variables:
            self.audit.add(call.session.vars.get(name))
        if kind != "wait":
            self.active_at = call.now
            self.active_path = len(call.session.path)

    def _note_secret(self, entry: str) -> None:
        digits = "".join(k for k in entry if k.isdigit()) or digits_of(entry)
        self.audit.add(digits)

    def after_step(self, snapshots: bool) -> None:
        session = self.call.session
        # A record state waits for the recorder, not for a collect.
        if not session.ended and session.listening() is None and session.phase != "recording":
            self.problems.append(
                (
                    "not-stalled",
                    f"the call waits for nothing in state '{session.state}' (phase {session.phase})",
                )
            )
        if snapshots and (self._snapshot_turn % SNAPSHOT_EVERY == 0 or session.ended):
            self._round_trip(session)
        self._snapshot_turn += 1

    def _round_trip(self, session: Session) -> None:
        where = f"after step {len(self.steps)}"
        plain = session.to_dict()
        self.audit.scan_snapshot(f"to_dict() {where}", plain, keyed=False)
        sealed = session.to_dict(key=SNAPSHOT_KEY)
        self.audit.scan_snapshot(f"to_dict(key) {where}", sealed, keyed=True)
        try:
            text = json.dumps(sealed)
            twin = Session.from_dict(
                self.flow, json.loads(text), key=SNAPSHOT_KEY, emergency=self.emergency
            )
            again = json.loads(json.dumps(twin.to_dict()))
        except Exception as exc:
            self.problems.append(("snapshot-round-trip", f"{where}: {type(exc).__name__}: {exc}"))
            return
        if again != json.loads(json.dumps(plain)):
            diff = sorted(k for k in plain if again.get(k) != json.loads(json.dumps(plain[k])))
            self.problems.append(
                ("snapshot-round-trip", f"{where}: restored session differs in {diff}")
            )

    # ------------------------------------------------------------ silence
    def silent_until_end(self) -> None:
        """The caller gives no more input: wait until the call ends, within the bound."""
        call = self.call
        trailing = 0
        for kind, _ in reversed(self.steps):
            if kind != "wait":
                break
            trailing += 1
        began = self.active_at
        path_mark = max(0, self.active_path - 1)
        while not call.ended:
            if trailing >= self.bound.waits or call.now - began > self.bound.seconds:
                path = [s for s, _ in call.session.path[path_mark:]]
                loop = " → ".join(path[-12:])
                self.problems.append(
                    (
                        "ends-when-silent",
                        f"still in '{call.session.state}' after {trailing} no-inputs and "
                        f"{call.now - began:.0f}s of silence (bound: {self.bound.waits} "
                        f"no-inputs, {self.bound.seconds:.0f}s); path: {loop}",
                    )
                )
                return
            if call.session.listening() is None and call.session.phase != "recording":
                return  # reported by after_step as not-stalled
            self.perform(("wait", None))
            trailing += 1
            self.after_step(snapshots=False)

    # ------------------------------------------------------------ the end
    def finish(self, logs: Sequence[str]) -> _Outcome:
        call = self.call
        record = call.record
        records = 0
        observed: dict[str, Any] = {"ended": call.ended}
        if call.ended:
            if record is None:
                self.problems.append(("one-record", "the call ended without a record"))
            elif self.trace.ended_calls != 1:
                self.problems.append(
                    ("one-record", f"the call ended {self.trace.ended_calls} times")
                )
            else:
                records = 1
            if record is not None:
                try:
                    json.dumps(record)
                except (TypeError, ValueError) as exc:
                    self.problems.append(("one-record", f"the record is not JSON: {exc}"))
                    records = 0
                bad = inv.check_outcome(record)
                if bad:
                    self.problems.append(("valid-outcome", bad))
                internal = inv.internal_errors(record)
                if internal:
                    self.problems.append(("no-internal-error", "; ".join(internal)[:500]))
                    observed["clean_errors"] = [
                        e for e in record.get("errors", []) if e not in internal
                    ]
        audit = self.audit
        audit.scan(
            "action",
            "transcript",
            (f"{x.kind} {x.text}" for x in call.transcript if x.who == "ivr"),
        )
        if record is not None:
            audit.scan("record", "record", strings(record))
        audit.scan("trace", "listener", (f"{h} {t}" for h, t in self.trace.texts))
        audit.scan("log", "logging", logs)
        for leak in audit.leaks:
            self.problems.append(("no-secret-leak", str(leak)))
        return _Outcome(
            self.steps,
            self.problems,
            record,
            records,
            bool(audit.leaks),
            observed,
            len(audit.secrets),
        )


def _flow_of(path_or_flow: str | Path | model.Flow) -> model.Flow:
    if isinstance(path_or_flow, model.Flow):
        return path_or_flow
    from ...compiler import load

    return load(str(path_or_flow))


def _avoid(flow: model.Flow, base: fx.Fixtures) -> set[str]:
    runs: set[str] = set()
    for source in flow.sources:
        with contextlib.suppress(OSError):
            runs |= digit_runs(Path(source).read_text(encoding="utf-8"))
    fixture_file = Path(flow.path).parent / "fixtures" / f"{Path(flow.path).stem}.yaml"
    if fixture_file.is_file():
        runs |= digit_runs(fixture_file.read_text(encoding="utf-8"))
    for t in TIMES:
        runs |= digit_runs(t)
    runs |= digit_runs(json.dumps({"l": base.lookups, "c": base.calls}, default=repr))
    return runs


_BOUNDS: dict[int, tuple[model.Flow, inv.SilenceBound]] = {}


def _bound(flow: model.Flow) -> inv.SilenceBound:
    """The flow's silence bound, computed once per flow object."""
    cached = _BOUNDS.get(id(flow))
    if cached is None or cached[0] is not flow:
        if len(_BOUNDS) > 64:
            _BOUNDS.clear()
        cached = _BOUNDS[id(flow)] = (flow, inv.silence_bound(flow))
    return cached[1]


def _setup_digits(setup: Setup) -> set[str]:
    """Digit runs of a call's setup that may be spoken or recorded (its ANI, time, queue
    figures, look-up answers): secure values keyed in that call avoid them. A list result
    is left out: the session refuses long ones, and a short one is never said as a run."""
    answers = [
        rule
        for rules in setup.lookups.values()
        for rule in rules
        if not isinstance(rule.get("result"), list)
    ]
    return digit_runs(f"{setup.ani} {setup.at} {answers} {setup.queues}")


def _known_digits(base: fx.Fixtures) -> set[str]:
    """Digit strings the fixtures answer for: account numbers, cards, dates of birth."""
    out: set[str] = set()
    for rules in base.lookups.values():
        for rule in rules:
            out.update(v for v in rule.when.values() if v.isdigit())
    return out


def _play(
    flow: model.Flow,
    fixtures: fx.Fixtures,
    options: dict[str, Any],
    next_step: Callable[[Session], CallerStep | None],
    logs: LogCapture,
    snapshots: bool,
    ignore: frozenset[str],
) -> _Outcome:
    """One call: `options` are `testing.Call`'s keyword arguments (a scenario's `call:`)."""
    call = Call(flow, fixtures=fixtures, **options)
    checker = _Checker(call, flow, options.get("emergency", ()), ignore)
    mark = len(logs.lines)
    try:
        call.start()
        checker.after_step(snapshots)
        while not call.ended and not checker.problems:
            step = next_step(call.session)
            if step is None:
                checker.silent_until_end()
                break
            checker.perform(step)
            checker.after_step(snapshots)
    except Exception as exc:
        tb = traceback.format_exception(exc)[-3:]
        checker.problems.append(("no-crash", f"{type(exc).__name__}: {exc} | {''.join(tb)}"))
    return checker.finish(logs.lines[mark:])


@dataclass
class FuzzedCall:
    """One call of a run: its index, caller persona, setup and what the checks saw."""

    index: int
    persona: str
    setup: Setup
    result: _Outcome


def fuzzed_calls(
    flow: model.Flow,
    calls: int,
    seed: int,
    faults: bool = True,
    max_turns: int = 30,
    snapshots: bool = True,
) -> Iterator[FuzzedCall]:
    """The calls of a run, one by one (`fuzz_flow` sums them up)."""
    base = fx.for_flow(flow)
    avoid = _avoid(flow, base)
    known = _known_digits(base)
    visits: Counter[str] = Counter()
    with LogCapture() as logs:
        for k in range(calls):
            rng = random.Random(f"{seed}:{k}")
            persona = rng.choices(PERSONAS, [p.share for p in PERSONAS])[0]
            setup = draw_setup(rng, flow, base, faults)
            seen = frozenset(avoid | _setup_digits(setup))
            # Some callers go silent early, some never before the call ends.
            turns = rng.randint(0, max_turns)
            caller = RandomCaller(rng, persona, known, Secrets(set(seen)), turns, visits)
            fixtures = setup.fixtures(base)
            options = setup.call_options()
            result = _play(flow, fixtures, options, caller.next_step, logs, snapshots, seen)
            if result.record is not None:
                visits.update(p["state"] for p in result.record["path"])
            if len(logs.lines) > 10_000:
                del logs.lines[:]
            yield FuzzedCall(k, persona.name, setup, result)


def fuzz_flow(
    path_or_flow: str | Path | model.Flow,
    calls: int,
    seed: int,
    *,
    faults: bool = True,
    max_turns: int = 30,
    snapshots: bool = True,
    on_violation: Callable[[Violation], None] | None = None,
    on_call: Callable[[int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> FuzzReport:
    """Place `calls` random calls against a flow and check every invariant on each.

    Deterministic: the same flow, `calls` and `seed` give the same calls and the same
    report (call K draws everything from `random.Random(f"{seed}:{K}")`). Look-ups are
    answered by the flow's fixtures (flows/fixtures/<flow>.yaml), and with `faults` some
    fail, time out or return malformed data; queues report odd figures, transfers end
    busy/full/failed, the callback store fails. `max_turns`: caller turns before it goes
    silent. `snapshots`: round-trip the session through `to_dict`/`from_dict` every few
    steps. Returns a `FuzzReport`; `on_violation` sees each violation as it is found,
    `on_call` the number of calls placed after each; when `stop()` turns true the run ends
    after the call in progress, its report marked `interrupted`.
    """
    flow = _flow_of(path_or_flow)
    report = FuzzReport(
        flow=flow.path,
        seed=seed,
        silence_bound=inv.silence_bound(flow),
        state_count=len(flow.states),
    )
    began = time.perf_counter()
    for call in fuzzed_calls(flow, calls, seed, faults, max_turns, snapshots):
        k, persona, setup, result = call.index, call.persona, call.setup, call.result
        report.calls += 1
        report.steps += len(result.steps)
        report.personas[persona] += 1
        report.records += result.records
        report.secrets_leaked += int(result.leaked)
        report.secure_calls += int(result.audited > 0)
        if result.record is not None:
            report.outcomes[str(result.record.get("outcome", {}).get("kind"))] += 1
            report.states.update(p["state"] for p in result.record["path"])
        first: dict[str, str] = {}
        for invariant, message in result.problems:  # one violation per invariant per call
            first.setdefault(invariant, message)
        for invariant, message in first.items():
            violation = Violation(
                seed,
                k,
                invariant,
                message,
                scenario_yaml(
                    flow_path=_relative(flow.path),
                    setup=setup,
                    steps=result.steps,
                    seed=seed,
                    call=k,
                    invariant=invariant,
                    message=message,
                    observed=result.observed,
                ),
            )
            report.violations.append(violation)
            if on_violation is not None:
                on_violation(violation)
        if on_call is not None:
            on_call(report.calls)
        if stop is not None and stop():
            report.interrupted = True
            break
    report.records_lost = report.calls - report.records
    report.seconds = time.perf_counter() - began
    return report


def _relative(path: str) -> str:
    import os

    try:
        rel = Path(os.path.relpath(path)).as_posix()
    except ValueError:  # another drive (Windows)
        return path
    return path if rel.startswith("../") else rel


def replay(path: str | Path, *, snapshots: bool = True) -> list[tuple[str, str]]:
    """Play a scenario file as a caller who then goes silent; every broken invariant as
    (invariant, message). Load problems raise `scenarios.ScenarioError`."""
    from .. import scenarios

    scenario = scenarios.load(path)
    steps = [(s.kind, s.value) for s in scenario.steps if s.kind in scenarios.CALLER_STEPS]

    def next_step(session: Session) -> CallerStep | None:
        return steps.pop(0) if steps else None

    options = dict(scenario.options)
    ani = options.get("ani")
    ignore = frozenset(_avoid(scenario.flow, scenario.fixtures) | digit_runs(str(ani)))
    with LogCapture() as logs:
        outcome = _play(
            scenario.flow, scenario.fixtures, options, next_step, logs, snapshots, ignore
        )
    return outcome.problems
