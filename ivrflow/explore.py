"""Enumerate the paths through a flow without a phone: `explore(flow)`.

The explorer drives `ivrflow.testing.Call` and forks it at every point where
the call waits for something (a fork copies the session's containers; with
`snapshots=True` it goes through `Session.to_dict`/`from_dict` instead, with a
key so secure captures survive — same tree, slower):

- the caller: each menu choice (its first key, or its first phrase when it has
  no key), an invalid key, a no-input; for captures the fixtures' look-up
  arguments the capture feeds, a valid entry generated from the length and the
  validation rules and an invalid one (a broken check, else too short, else
  empty); 1, 2 and an invalid key for yes/no questions; accept, decline and an
  invalid key for callback offers; and a hang-up (once per state and setup);
- the host: a look-up succeeds (the fixtures' result when one matches, else
  another of their results, else a stand-in built from what the flow reads) or
  fails (with each reason the flow tells apart, and one more); a queue reports
  the fixtures' wait or none; a transfer is answered or busy (or fails another
  way the transfer handles apart); a callback is stored or the store fails.

Host answers are decided once per path and kept (the same look-up arguments
always get the same answer, every transfer of a path the same result, a queue
the same wait), so each path can be written as a scenario file that
`ivrflow test` replays (`write_scenarios`).

ANI, DNIS, hours and A/B splits are explored over call setups: the fixtures'
example callers (or generated ones: a caller, a withheld one, one per list the
flow tests `ani`/`dnis` against) at office hours, at night, on a holiday and
with each hours' emergency switch on, and one seed per split branch. Each setup
is a root of the tree.

Two paths that reach the same call state share one subtree: the later one is a
"joined" leaf pointing at the node where it was explored. The call state is the
state and phase, the retry counters, the variables the rest of the call may
still read (`Liveness`), the answers of the hours questions the flow asks, and
the sticky transfer, store and queue answers — the clock aside.

Bounds: the depth (caller inputs per path), loop unrolling (the same state with
the same counters — retry counts and whole-number variables still read — at
most `max_loops` times per path), and `max_paths` (complete paths, then stop).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import deque
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import actions as act
from . import hours as hours_mod
from . import model, phone, validators
from .callbacks import MemoryCallbackStore
from .compiler.analysis import bodies, walk
from .fixtures import Fixtures, Rule
from .records import OUTCOMES
from .session import Session
from .testing import DEFAULT_AT, Call

SNAPSHOT_KEY = b"ivrflow-explore"  # forks keep secure captures (sealed in the snapshot)
DEFAULT_MAX_DEPTH = 40
DEFAULT_MAX_LOOPS = 2
KEYS = "0123456789*#"

# How a leaf ends.
ENDED = "ended"  # the call ended: an outcome
JOINED = "joined"  # the same call state was explored on another path
LOOP = "loop"  # the loop bound cut the path
DEPTH = "depth"  # the depth bound cut the path
STOPPED = "stopped"  # --max-paths was reached before this node was explored
STUCK = "stuck"  # the call neither ended nor waits for anything (an interpreter problem)
LEAF_KINDS = (ENDED, JOINED, LOOP, DEPTH, STOPPED, STUCK)


# ---------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Setup:
    """How one explored call starts: who calls, which number, when."""

    caller: str  # a name: the fixtures' call name, or a generated one
    ani: str | None
    dnis: str | None
    at: str  # ISO time with its UTC offset
    when: str  # "office hours", "night", "holiday Natal", "emergency office"
    emergency: tuple[str, ...] = ()
    from_fixtures: bool = False  # `caller` names one of the fixtures' calls
    seed: int = 0  # the A/B split draws
    seed_note: str = ""  # which split branch the seed picks first

    @property
    def label(self) -> str:
        numbers = f"ani {self.ani or 'withheld'}" + (f", dnis {self.dnis}" if self.dnis else "")
        seed = f", seed {self.seed} ({self.seed_note})" if self.seed_note else ""
        return f"{self.caller} ({numbers}) — {self.when}, {_show_time(self.at)}{seed}"


@dataclass(frozen=True, slots=True)
class LookupAnswer:
    function: str
    args: tuple[str, ...]  # as the fixtures compare them (strings; None is "")
    params: tuple[str, ...]
    ok: bool
    value: Any = field(compare=False, hash=False)  # the result, or the error reason
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Decisions:
    """The host's answers chosen so far on a path."""

    transfer: str | None = None  # answered | busy | …
    store: str | None = None  # memory | fail
    lookups: tuple[LookupAnswer, ...] = ()
    queues: tuple[tuple[str, float | None, int | None], ...] = ()  # (queue, ewt, position)

    def lookup(self, function: str, args: tuple[str, ...]) -> LookupAnswer | None:
        return next((a for a in self.lookups if a.function == function and a.args == args), None)


@dataclass(frozen=True, slots=True)
class Option:
    """One thing the caller can do at a listening point."""

    label: str  # as shown: "1", "79927398713#", "wait", "hangup", '"sim"'
    note: str  # "", "invalid", "no input", "fails luhn", "from fixtures", …
    steps: tuple[tuple[str, str | None], ...]  # ("press", "1"), ("wait", None), ("say", "sim")


@dataclass
class Node:
    """A node of the tree: a caller input or a host answer, and where the call got to."""

    kind: str  # start | input | host
    label: str
    note: str
    state: str
    steps: tuple[tuple[str, str | None], ...] = ()
    end: str | None = None  # one of LEAF_KINDS for leaves
    outcome: dict[str, Any] | None = None
    detail: str = ""  # why a path was cut
    children: list[Node] = field(default_factory=list)
    decisions: Decisions | None = None  # ended leaves: the host answers of the path
    number: int = 0  # ended leaves: the path's number, in tree order
    same_as: Node | None = None  # joined leaves: the node where that call state was explored
    anchor: int = 0  # nodes other leaves join: their number, in tree order

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "input": self.label}
        if self.note:
            out["note"] = self.note
        if self.steps:
            out["steps"] = [_step_text(s) for s in self.steps]
        out["state"] = self.state
        if self.end is not None:
            out["end"] = self.end
        if self.outcome is not None:
            out["outcome"] = _public_outcome(self.outcome)
            out["path"] = self.number
        if self.detail:
            out["detail"] = self.detail
        if self.anchor:
            out["anchor"] = self.anchor
        if self.same_as is not None:
            out["same_as"] = self.same_as.anchor
        if self.children:
            out["children"] = [c.as_json() for c in self.children]
        return out


@dataclass
class SetupTree:
    setup: Setup
    root: Node


@dataclass
class Exploration:
    """What `explore` found: one tree per setup, counts, what was never reached."""

    flow: model.Flow
    path: str
    trees: list[SetupTree]
    max_depth: int
    max_loops: int
    max_paths: int | None
    stopped: bool = False
    reached_states: set[str] = field(default_factory=set)
    fixtures: Fixtures = field(default_factory=Fixtures)
    fixtures_path: str | None = None  # given instead of the flow's own fixtures file

    def leaves(self) -> Iterator[tuple[Setup, list[Node]]]:
        """Every leaf with the nodes from its root, in tree order."""
        for tree in self.trees:
            stack: list[tuple[Node, list[Node]]] = [(tree.root, [tree.root])]
            while stack:
                node, trail = stack.pop()
                if not node.children:
                    yield tree.setup, trail
                for child in reversed(node.children):
                    stack.append((child, [*trail, child]))

    def paths(self) -> Iterator[tuple[Setup, list[Node]]]:
        """The complete paths: leaves where the call ended."""
        return ((s, t) for s, t in self.leaves() if t[-1].end == ENDED)

    @property
    def outcome_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for _, trail in self.paths():
            kind = str((trail[-1].outcome or {}).get("kind"))
            counts[kind] = counts.get(kind, 0) + 1
        return counts

    @property
    def leaf_counts(self) -> dict[str, int]:
        counts = dict.fromkeys(LEAF_KINDS, 0)
        for _, trail in self.leaves():
            end = trail[-1].end
            if end is not None:
                counts[end] += 1
        return counts

    @property
    def never_reached_states(self) -> list[str]:
        return [s for s in self.flow.states if s not in self.reached_states]

    @property
    def never_reached_outcomes(self) -> list[str]:
        counts = self.outcome_counts
        return [o for o in OUTCOMES if not counts.get(o)]


# ---------------------------------------------------------------- the forking call


class ExploreCall(Call):
    """A `Call` that stops at host requests it has no answer for yet, and can fork."""

    decisions: Decisions
    blocked: list[act.Action] | None
    path_mark: int

    def __init__(
        self, flow: model.Flow, *, base: Fixtures, snapshots: bool = False, **options: Any
    ) -> None:
        super().__init__(flow, fixtures=_copy_fixtures(base), **options)
        self.base = base
        self.snapshots = snapshots  # fork through to_dict/from_dict (slower, same result)
        self.decisions = Decisions()
        self.blocked = None
        self.path_mark = 0

    # -- the driver, with a stop before undecided host requests
    def _drive(self, actions: list[act.Action]) -> list[Any]:
        mark = len(self.transcript)
        while actions:
            answer = None
            for i, a in enumerate(actions):
                if self.undecided(a):
                    self.blocked = list(actions[i:])
                    return self.transcript[mark:]
                answer = self._perform(a)
                if answer is not None:
                    break
            actions = self.session.send(answer) if answer is not None else []
        return self.transcript[mark:]

    def undecided(self, a: act.Action) -> bool:
        if isinstance(a, act.Lookup):
            function, args, _ = self.lookup_key(a)
            return self.decisions.lookup(function, args) is None
        if isinstance(a, act.TransferToQueue | act.TransferToNumber):
            return self.decisions.transfer is None
        if isinstance(a, act.StoreCallback):
            return self.decisions.store is None
        if isinstance(a, act.GetQueueStatus):
            return all(q != a.queue for q, _, _ in self.decisions.queues)
        return False

    def lookup_key(self, a: act.Lookup) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        fn = self.flow.functions.get(a.function)
        params = fn.params if fn is not None else ()
        args = tuple("" if v is None else str(v) for _, v in zip(params, a.args, strict=False))
        return a.function, args, params

    def resume(self) -> None:
        blocked, self.blocked = self.blocked, None
        if blocked:
            self._drive(blocked)

    def fork(self) -> ExploreCall:
        """An independent copy of the call, to drive down another branch."""
        child = ExploreCall.__new__(ExploreCall)
        child.__dict__.update(self.__dict__)
        if self.snapshots:
            child.session = Session.from_dict(
                self.flow,
                self.session.to_dict(SNAPSHOT_KEY),
                SNAPSHOT_KEY,
                emergency=self.session.emergency,
            )
        else:
            child.session = self.session.copy()
        child.transcript = []
        child.callbacks = MemoryCallbackStore()
        child.blocked = list(self.blocked) if self.blocked else None
        return child

    def decide(self, decisions: Decisions) -> None:
        """Take the host's answers: transfers, the callback store and look-up rules."""
        self.decisions = decisions
        if decisions.transfer is not None:
            self.transfer_result = decisions.transfer
        if decisions.store is not None:
            self.callback_store = decisions.store
        lookups = dict(self.base.lookups)
        ours: dict[str, list[Rule]] = {}
        for answer in decisions.lookups:  # a path's answers replace the fixtures' rules
            ours.setdefault(answer.function, []).append(_rule(answer))
        lookups.update(ours)
        queues = dict(self.base.queues)
        for queue, ewt, position in decisions.queues:
            queues[queue] = (ewt, position)
        self.fixtures = Fixtures(lookups, queues, self.base.calls)


def _rule(answer: LookupAnswer) -> Rule:
    when = dict(zip(answer.params, answer.args, strict=False))
    if answer.ok:
        return Rule(when, answer.value, None)
    return Rule(when, None, answer.reason)


def _copy_fixtures(fx: Fixtures) -> Fixtures:
    return Fixtures({k: list(v) for k, v in fx.lookups.items()}, dict(fx.queues), fx.calls)


# ---------------------------------------------------------------- the explorer


class Explorer:
    def __init__(
        self,
        flow: model.Flow,
        *,
        path: str | None = None,
        fixtures: Fixtures | None = None,
        fixtures_path: str | None = None,
        setups: Sequence[Setup] | None = None,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_loops: int = DEFAULT_MAX_LOOPS,
        max_paths: int | None = None,
        snapshots: bool = False,
    ) -> None:
        from .fixtures import for_flow

        self.snapshots = snapshots
        self.fixtures_path = fixtures_path
        self.flow = flow
        self.path = path or flow.path
        self.fixtures = fixtures if fixtures is not None else for_flow(flow)
        self.setups = list(setups) if setups is not None else default_setups(flow, self.fixtures)
        self.max_depth = max_depth
        self.max_loops = max_loops
        self.max_paths = max_paths
        self.liveness = Liveness(flow)
        self.hours_read = _hours_read(flow)
        self.splits = any(
            isinstance(stmt, model.Split)
            for state in flow.states.values()
            for body in bodies(state)
            for stmt in walk(body)
        )
        self._entries: dict[str, tuple[list[Option], list[Option]]] = {}
        self._ended = 0
        self._stopped = False
        self._seen: dict[Any, Node] = {}  # call states explored, shared by every setup

    def run(self) -> Exploration:
        found = Exploration(
            self.flow,
            self.path,
            [],
            self.max_depth,
            self.max_loops,
            self.max_paths,
            fixtures=self.fixtures,
            fixtures_path=self.fixtures_path,
        )
        for setup in self.setups:
            root = Node("start", "call starts", "", self.flow.start)
            found.trees.append(SetupTree(setup, root))
            if self._stopped:
                root.end, root.detail = STOPPED, "not explored: --max-paths reached"
                continue
            self._explore(setup, root, found.reached_states)
        found.stopped = self._stopped
        _number(found)
        return found

    # -- one setup, breadth first (the shortest way to a call state is the one expanded)
    def _explore(self, setup: Setup, root: Node, reached: set[str]) -> None:
        call = ExploreCall(
            self.flow,
            base=self.fixtures,
            ani=setup.ani,
            dnis=setup.dnis,
            at=setup.at,
            emergency=setup.emergency,
            seed=setup.seed,
            call_id="explore",
            snapshots=self.snapshots,
        )
        call.start()
        seen = self._seen
        hung_up: set[str] = set()
        todo: deque[tuple[Node, ExploreCall, int, dict[Any, int]]] = deque()
        todo.append((root, call, 0, {}))
        while todo:
            node, call, depth, visits = todo.popleft()
            session = call.session
            for state, _ in session.path[call.path_mark :]:
                reached.add(state)
            call.path_mark = len(session.path)
            call.transcript.clear()  # not needed here; keeps memory flat on long runs
            node.state = session.state
            if self._stopped:
                node.end, node.detail = STOPPED, "not explored: --max-paths reached"
                continue
            if session.ended:
                node.end, node.outcome, node.decisions = (
                    ENDED,
                    dict(session.outcome or {}),
                    (call.decisions),
                )
                self._ended += 1
                if self.max_paths is not None and self._ended >= self.max_paths:
                    self._stopped = True
                continue
            key = self._key(call)
            if key in seen:
                node.end, node.same_as = JOINED, seen[key]
                continue
            if call.blocked:
                seen[key] = node
                answers = self._host_options(call)
                for i, (label, note, decisions) in enumerate(answers):
                    child_call = call.fork() if i < len(answers) - 1 else call
                    child_call.decide(decisions)
                    child_call.resume()
                    child = Node("host", label, note, child_call.state)
                    node.children.append(child)
                    todo.append((child, child_call, depth, visits))
                continue
            if call.listening is None:  # neither ended, nor waiting: should not happen
                node.end, node.detail = STUCK, "the call neither ended nor waits for input"
                continue
            loop = self._loop_key(call)
            count = visits.get(loop, 0) + 1
            if count > self.max_loops:
                node.end = LOOP
                node.detail = f"{session.state} {_ordinal(count)} time"
                continue
            if depth >= self.max_depth:
                node.end = DEPTH
                node.detail = f"{self.max_depth} inputs"
                continue
            seen[key] = node
            child_visits = {**visits, loop: count}
            options = self._options(call)
            if session.state not in hung_up:
                hung_up.add(session.state)
                options.append(Option("hangup", "", (("hangup", None),)))
            for i, option in enumerate(options):
                child_call = call.fork() if i < len(options) - 1 else call
                for kind, value in option.steps:
                    if child_call.ended:
                        break
                    if kind == "press":
                        child_call.press(str(value))
                    elif kind == "say":
                        child_call.say(str(value))
                    elif kind == "wait":
                        child_call.wait()
                    else:
                        child_call.hangup()
                child = Node("input", option.label, option.note, child_call.state, option.steps)
                node.children.append(child)
                todo.append((child, child_call, depth + 1, child_visits))

    def _loop_key(self, call: ExploreCall) -> Any:
        """(state, counters): the retry counts and the whole-number variables still read."""
        s = call.session
        counters = tuple(
            (k, v)
            for k in self.liveness.listening(s.state)
            if isinstance(v := s.vars.get(k), int) and not isinstance(v, bool)
        )
        return (s.state, s.phase, s.noinput, s.nomatch, counters)

    def _key(self, call: ExploreCall) -> Any:
        """What decides the rest of the call: the state, its counters, the variables that
        may still be read, what the hours functions answer now, the sticky host answers."""
        s = call.session
        live = self.liveness.listening(s.state)
        variables = tuple((k, repr(s.vars.get(k))) for k in live)
        clock = None
        if "now" in live:  # the flow reads the time: the hour it is counts
            clock = hours_mod.local_time(s.now, self.flow.settings.timezone).strftime("%a %H")
        hours = tuple(s.hours_status(name, function) for function, name in self.hours_read)
        kind = (s.outcome or {}).get("kind")
        blocked: Any = None
        if call.blocked:
            a = call.blocked[0]
            if isinstance(a, act.Lookup):
                blocked = call.lookup_key(a)[:2]
            elif isinstance(a, act.StoreCallback):
                blocked = "store"
            else:
                blocked = repr(a)
        return (
            blocked,
            s.state, s.phase, s.noinput, s.nomatch, s.buffer, s.typeahead, repr(s.calls),
            s.rng if self.splits else 0, s.choice, kind, variables, clock, hours,
            call.decisions.transfer, call.decisions.store, call.decisions.queues,
        )  # fmt: skip

    # -- what the host can answer
    def _host_options(self, call: ExploreCall) -> list[tuple[str, str, Decisions]]:
        assert call.blocked
        a = call.blocked[0]
        d = call.decisions
        if isinstance(a, act.Lookup):
            function, args, params = call.lookup_key(a)
            out = []
            value = self._success_value(function, params, args)
            answer = LookupAnswer(function, args, params, True, value)
            out.append((f"⟨{function}: ok⟩", "", replace(d, lookups=(*d.lookups, answer))))
            for reason in self._failure_reasons(call.session.state, function):
                answer = LookupAnswer(function, args, params, False, None, reason)
                out.append(
                    (
                        f"⟨{function}: error {_quote(reason)}⟩",
                        "",
                        replace(d, lookups=(*d.lookups, answer)),
                    )
                )
            return out
        if isinstance(a, act.GetQueueStatus):
            ewt, position = self.fixtures.queue_status(a.queue)
            choices = [(ewt, position)]
            if ewt is None or ewt > 0:
                choices.append((0.0, 1))  # nobody waiting
            if ewt is None:
                choices.append((3600.0, 30))  # a long wait
            return [
                (
                    f"⟨queue {a.queue}: {_queue_text(e, p)}⟩",
                    "",
                    replace(d, queues=(*d.queues, (a.queue, e, p))),
                )
                for e, p in choices
            ]
        if isinstance(a, act.TransferToQueue | act.TransferToNumber):
            state = self.flow.states[call.session.state]
            results = ["answered", "busy"]
            if isinstance(state, model.Transfer):
                busy = _shape(state.on_result.get("busy"))
                for status in ("noanswer", "full", "failed"):
                    body = state.on_result.get(status)
                    if body is not None and _shape(body) != busy:
                        results.append(status)
            return [(f"⟨transfer: {r}⟩", "", replace(d, transfer=r)) for r in results]
        # StoreCallback
        return [
            ("⟨callback store: ok⟩", "", replace(d, store="memory")),
            ("⟨callback store: fails⟩", "", replace(d, store="fail")),
        ]

    def _success_value(self, function: str, params: tuple[str, ...], args: tuple[str, ...]) -> Any:
        rules = self.fixtures.lookups.get(function, [])
        given = dict(zip(params, args, strict=False))
        for rule in rules:
            if all(given.get(k) == v for k, v in rule.when.items()):
                if rule.error is None:
                    return rule.result
                break
        for rule in rules:  # a result of the right shape, from another rule
            if rule.error is None:
                return rule.result
        return _generic_result(self.flow, function)

    def _failure_reasons(self, state_name: str, function: str) -> list[str]:
        state = self.flow.states.get(state_name)
        told: list[str] = []
        if isinstance(state, model.Lookup) and state.error is not None:
            told = _error_literals(state.error)
        fixture_errors = [
            r.error for r in self.fixtures.lookups.get(function, []) if r.error is not None
        ]
        other = next((e for e in fixture_errors if e not in told), None)
        if other is None:
            other = next(
                x for x in ("service unavailable", "unavailable", "error") if x not in told
            )
        return [*told, other]

    # -- what the caller can do
    def _options(self, call: ExploreCall) -> list[Option]:
        session = call.session
        state = self.flow.states[session.state]
        phase = session.phase
        wait = Option("wait", "no input", (("wait", None),))
        if phase == "menu" and isinstance(state, model.Menu):
            out = []
            bound = {k for c in state.choices for k in c.keys}
            for c in state.choices:
                if c.keys:
                    out.append(Option(c.keys[0], "", (("press", c.keys[0]),)))
                elif c.phrases:
                    out.append(Option(_quote(c.phrases[0]), "", (("say", c.phrases[0]),)))
            bad = next((k for k in KEYS if k not in bound), None)
            if bad is not None:
                out.append(Option(bad, "invalid", (("press", bad),)))
            return [*out, wait]
        if phase == "capture" and isinstance(state, model.Capture):
            valid, invalid = self._capture_entries(state)
            return [*valid, *invalid, wait]
        if phase == "offer" and isinstance(state, model.CallbackOffer):
            out = []
            for words, note in ((state.accept, "accept"), (state.decline, "decline")):
                key = next((w for w in words if len(w) == 1 and w in KEYS), None)
                if key is not None:
                    out.append(Option(key, note, (("press", key),)))
                elif words:
                    out.append(Option(_quote(words[0]), note, (("say", words[0]),)))
            used = set(state.accept) | set(state.decline)
            bad = next((k for k in KEYS if k not in used), None)
            if bad is not None:
                out.append(Option(bad, "invalid", (("press", bad),)))
            return [*out, wait]
        if phase == "offer_number":
            number = _phone_number(self.flow.settings.country)
            return [
                Option(number + "#", "a phone number", (("press", number + "#"),)),
                Option("123#", "invalid", (("press", "123#"),)),
                wait,
            ]
        # yes/no questions: capture read-back, "did you say …?", callback number confirmation
        return [
            Option("1", "yes", (("press", "1"),)),
            Option("2", "no", (("press", "2"),)),
            Option("0", "invalid", (("press", "0"),)),
            wait,
        ]

    def _capture_entries(self, cap: model.Capture) -> tuple[list[Option], list[Option]]:
        cached = self._entries.get(cap.name)
        if cached is not None:
            return cached
        values = [(v, "from fixtures") for v in self._fixture_values(cap)]
        generated = valid_entry(cap, avoid={v for v, _ in values})
        if generated is not None:
            values.append((generated, "valid"))
        valid = [Option(_entry_label(cap, v), note, _entry_steps(cap, v)) for v, note in values]
        invalid = []
        bad = invalid_entry(cap, values[0][0] if values else None)
        if bad is not None:
            keys, note = bad
            invalid.append(Option(_entry_label(cap, keys), note, _entry_steps(cap, keys)))
        self._entries[cap.name] = (valid, invalid)
        return valid, invalid

    def _fixture_values(self, cap: model.Capture) -> list[str]:
        """Look-up arguments in the fixtures that this capture's variable feeds."""
        out: list[str] = []
        for state in self.flow.states.values():
            if not isinstance(state, model.Lookup):
                continue
            fn = self.flow.functions.get(state.function)
            if fn is None:
                continue
            for param, arg in zip(fn.params, state.args, strict=False):
                if not (isinstance(arg, model.Var) and arg.name == cap.variable and not arg.attrs):
                    continue
                for rule in self.fixtures.lookups.get(state.function, []):
                    value = rule.when.get(param)
                    if value is not None and value not in out and accepts(cap, value):
                        out.append(value)
        return out


def explore(
    flow: model.Flow,
    *,
    path: str | None = None,
    fixtures: Fixtures | None = None,
    fixtures_path: str | None = None,
    setups: Sequence[Setup] | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_loops: int = DEFAULT_MAX_LOOPS,
    max_paths: int | None = None,
) -> Exploration:
    """Explore every path of `flow` (see the module's documentation). `fixtures_path`: the
    file `fixtures` came from, when not the flow's own (scenarios name it)."""
    return Explorer(
        flow,
        path=path,
        fixtures=fixtures,
        fixtures_path=fixtures_path,
        setups=setups,
        max_depth=max_depth,
        max_loops=max_loops,
        max_paths=max_paths,
    ).run()


def _number(found: Exploration) -> None:
    """Number the ended paths and the nodes other paths join, in tree order."""
    n = 0
    targets: set[int] = set()
    for _, trail in found.leaves():
        leaf = trail[-1]
        if leaf.end == ENDED:
            n += 1
            leaf.number = n
        elif leaf.same_as is not None:
            targets.add(id(leaf.same_as))
    anchor = 0
    for tree in found.trees:
        for node in _preorder(tree.root):
            if id(node) in targets:
                anchor += 1
                node.anchor = anchor


def _preorder(root: Node) -> Iterator[Node]:
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(node.children))


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
            any(c.first <= day <= c.last for c in h.closures) for h in flow.hours.values()
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
    """A whole-day closure on or after `base` (else any), the day most hours close; its reason."""
    closures = [c for h in flow.hours.values() for c in h.closures if not c.times]
    if not closures:
        return None
    later = [c for c in closures if c.first >= base] or closures

    def closed(day: dt.date) -> int:
        return sum(any(c.first <= day <= c.last and not c.times for c in h.closures)
                   for h in flow.hours.values())  # fmt: skip

    chosen = min(later, key=lambda c: (-closed(c.first), c.first))
    return chosen.first, chosen.reason


# ---------------------------------------------------------------- entries


def accepts(cap: model.Capture, value: str) -> bool:
    """Would the capture take `value` as its entry (length, digits, every validator)?"""
    if not cap.min_digits <= len(value) <= cap.max_digits:
        return False
    if not value or any(k not in "0123456789" for k in value):
        return False
    return all(validators.BUILTIN[v.name].func(value, *v.args) for v in cap.validators)


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


# ---------------------------------------------------------------- reading the flow


def _expressions(flow: model.Flow) -> Iterator[model.Expression]:
    yield from flow.variables.values()
    for state in flow.states.values():
        if isinstance(state, model.Lookup):
            yield from state.args
        if isinstance(state, model.Transfer):
            if state.number is not None:
                yield state.number
            if state.priority is not None:
                yield state.priority
        if isinstance(state, model.CallbackOffer):
            yield state.number
        for body in bodies(state):
            for stmt in walk(body):
                if isinstance(stmt, model.Assign):
                    yield stmt.value
                elif isinstance(stmt, model.If):
                    yield from (c for c, _ in stmt.branches if c is not None)
                elif isinstance(stmt, model.Switch):
                    yield stmt.subject


def _subexpressions(e: model.Expression) -> Iterator[model.Expression]:
    yield e
    if isinstance(e, model.Not | model.Neg | model.Test | model.Match):
        yield from _subexpressions(e.operand)
    elif isinstance(e, model.BinOp):
        yield from _subexpressions(e.left)
        yield from _subexpressions(e.right)
    elif isinstance(e, model.Call):
        for a in e.args:
            yield from _subexpressions(a)
    elif isinstance(e, model.MakeList):
        for i in e.items:
            yield from _subexpressions(i)


def _texts(flow: model.Flow) -> Iterator[str]:
    for prompt in flow.prompts.values():
        yield from prompt.text.values()
    for state in flow.states.values():
        for body in bodies(state):
            for stmt in walk(body):
                if isinstance(stmt, model.Say):
                    yield from stmt.text.values()
        for attr in ("confirm",):
            say = getattr(state, attr, None)
            if isinstance(say, model.Say):
                yield from say.text.values()


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


ALWAYS_LIVE = frozenset({"language", "voice"})  # every prompt reads them
_TEMPLATE_CODE = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
_NAME = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


class Liveness:
    """Which variables a call may still read, per state (a backward data-flow analysis).

    Two waits that differ only in variables the rest of the call can never read lead to the
    same futures, so the explorer treats them as one call state. Writes kill: `set x = …`, a
    capture's variable on its `ok` branch, a look-up's result on `ok`, and `error` where the
    interpreter sets it just before the branch runs. `return` and sub-flow calls are taken
    to read everything.
    """

    def __init__(self, flow: model.Flow) -> None:
        self.flow = flow
        names = set(model.BUILTIN_VARIABLES) | set(flow.variables)
        for state in flow.states.values():
            if isinstance(state, model.Capture):
                names.add(state.variable)
            elif isinstance(state, model.Lookup) and state.result:
                names.add(state.result)
            for body in bodies(state):
                for stmt in walk(body):
                    if isinstance(stmt, model.Assign):
                        names.add(stmt.name)
        self.names = frozenset(names)
        self.entry: dict[str, frozenset[str]] = dict.fromkeys(flow.states, frozenset())
        self.waiting: dict[str, frozenset[str]] = dict.fromkeys(flow.states, frozenset())
        self._said: dict[int, frozenset[str]] = {}
        changed = True
        while changed:
            changed = False
            for name, state in flow.states.items():
                entry, waiting = self._state(name, state)
                if entry != self.entry[name] or waiting != self.waiting[name]:
                    self.entry[name], self.waiting[name] = entry, waiting
                    changed = True
        self._sorted = {
            name: tuple(sorted(self.waiting[name] | self.entry[name] | ALWAYS_LIVE))
            for name in flow.states
        }

    def listening(self, state: str) -> tuple[str, ...]:
        """The variables that may be read after the call waits in `state`, sorted."""
        return self._sorted[state]

    def _state(self, name: str, state: model.State) -> tuple[frozenset[str], frozenset[str]]:
        seq = self._seq
        if isinstance(state, model.Step):
            return seq(state.body, frozenset(), name), frozenset()
        if isinstance(state, model.Lookup):
            after = _vars_of(state.args)
            after |= seq(state.ok, frozenset(), name) - {state.result or ""}
            if state.error is not None:
                after |= seq(state.error, frozenset(), name) - {"error"}
            return seq(state.prompt, after, name), frozenset()
        if isinstance(state, model.Transfer):
            exprs = [e for e in (state.priority, state.number) if e is not None]
            after = _vars_of(exprs)
            for body in state.on_result.values():
                after |= seq(body, frozenset(), name) - {"error"}
            entry = seq(state.body, after, name)
            if state.queue is not None:
                entry -= {"ewt", "position", "queue"}
            return entry, frozenset()
        # menus, captures and callback offers wait for the caller
        again = self.entry[name]  # a retry plays the prompt again
        waiting = set(again)
        for esc in (state.noinput, state.nomatch):
            for body in esc.by_count.values():
                waiting |= seq(body, again, name)
        if state.exhausted is not None:
            waiting |= seq(state.exhausted, frozenset(), name)
        if isinstance(state, model.Menu):
            for c in state.choices:
                waiting |= seq(c.body, frozenset(), name)
        elif isinstance(state, model.Capture):
            ok = seq(state.ok, frozenset(), name) | self._say(state.confirm)
            waiting |= ok - {state.variable}
        else:
            waiting |= _vars_of([state.number]) | self._say(state.confirm)
            waiting |= seq(state.scheduled, frozenset(), name)
            if state.declined is not None:
                waiting |= seq(state.declined, frozenset(), name)
            if state.failed is not None:
                waiting |= seq(state.failed, frozenset(), name) - {"error"}
        return seq(state.prompt, frozenset(waiting), name), frozenset(waiting)

    def _seq(self, body: model.Body, after: frozenset[str], here: str) -> frozenset[str]:
        live = after
        for stmt in reversed(body):
            live = self._stmt(stmt, live, here)
        return live

    def _stmt(self, s: model.Statement, after: frozenset[str], here: str) -> frozenset[str]:
        if isinstance(s, model.Say):
            return after | self._say(s)
        if isinstance(s, model.Assign):
            return (after - {s.name}) | _vars_of([s.value])
        if isinstance(s, model.Goto):
            if s.target == model.REPEAT:
                return self.entry[here]
            if s.target == model.HANGUP:
                return frozenset()
            if s.target == model.RETURN:
                return self.names
            return self.entry.get(s.target, self.names)
        if isinstance(s, model.Hangup):
            return frozenset()
        if isinstance(s, model.CallSub | model.Return):
            return self.names
        if isinstance(s, model.If):
            live = frozenset().union(*(self._seq(b, after, here) for _, b in s.branches))
            if all(c is not None for c, _ in s.branches):
                live |= after
            return live | _vars_of([c for c, _ in s.branches if c is not None])
        if isinstance(s, model.Switch):
            live = frozenset().union(*(self._seq(b, after, here) for _, b in s.cases))
            if all(values for values, _ in s.cases):
                live |= after
            return live | _vars_of([s.subject])
        if isinstance(s, model.Split):
            return frozenset().union(*(self._seq(b, after, here) for _, b in s.branches))
        return after  # Play

    def _say(self, say: model.Say | None) -> frozenset[str]:
        if say is None:
            return frozenset()
        cached = self._said.get(id(say))
        if cached is None:
            found: set[str] = set()
            for text in say.text.values():
                for m in _TEMPLATE_CODE.finditer(text):
                    found.update(_NAME.findall(m.group(1) or m.group(2) or ""))
            cached = self._said[id(say)] = frozenset(found & (self.names | {"now"}))
        return cached


def _vars_of(exprs: Iterable[model.Expression]) -> frozenset[str]:
    return frozenset(e.name for x in exprs for e in _subexpressions(x) if isinstance(e, model.Var))


def _hours_read(flow: model.Flow) -> tuple[tuple[str, str], ...]:
    """(function, hours) for every question the flow asks about hours: `open(office)` …
    (`closed` is the same question as `open`)."""
    found: list[tuple[str, str]] = []
    for expr in _expressions(flow):
        for e in _subexpressions(expr):
            if isinstance(e, model.Call) and len(e.args) == 1:
                arg = e.args[0]
                if isinstance(arg, model.HoursRef) and e.function in (
                    "open", "closed", "holiday", "emergency",
                ):  # fmt: skip
                    pair = ("open" if e.function == "closed" else e.function, arg.name)
                    if pair not in found:
                        found.append(pair)
    return tuple(found)


# ---------------------------------------------------------------- output


def _show_time(at: str) -> str:
    when = dt.datetime.fromisoformat(at)
    return (
        when.strftime("%a %Y-%m-%d %H:%M ")
        + when.strftime("%z")[:3]
        + ":"
        + when.strftime("%z")[3:]
    )


def _queue_text(ewt: float | None, position: int | None) -> str:
    wait = "ewt unknown" if ewt is None else f"ewt {ewt:g}s"
    return wait + ("" if position is None else f", position {position}")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def _step_text(step: tuple[str, str | None]) -> str:
    kind, value = step
    return kind if value is None else f"{kind} {value}"


def _public_outcome(outcome: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome without what differs between runs of a store (the callback reference)."""
    return {k: v for k, v in outcome.items() if k != "reference"}


def outcome_text(outcome: Mapping[str, Any]) -> str:
    shown = _public_outcome(outcome)
    details = " ".join(f"{k}={v}" for k, v in shown.items() if k != "kind")
    return f"{shown.get('kind')} {details}".strip()


def node_line(node: Node) -> str:
    note = f" ({node.note})" if node.note else ""
    text = f"{node.label}{note} → {node.state}"
    if node.end == ENDED and node.outcome is not None:
        text += f"  ⇒ {outcome_text(node.outcome)}  #{node.number}"
    elif node.end == JOINED and node.same_as is not None:
        text += f"  = same call state as @{node.same_as.anchor}"
    elif node.end == LOOP:
        text += f"  ✂ loop bound: {node.detail}"
    elif node.end == DEPTH:
        text += f"  ✂ depth bound: {node.detail}"
    elif node.end in (STOPPED, STUCK):
        text += f"  … {node.detail}"
    if node.anchor:
        text += f"  @{node.anchor}"
    return text


def render_text(found: Exploration, tree: bool = True) -> str:
    lines = [
        f"explore {found.path}: flow '{found.flow.name}', {_count(len(found.trees), 'call setup')}",
        f"bounds: {found.max_depth} caller inputs per path; the same state with the same "
        f"counters (retries, whole-number variables) at most {found.max_loops} times per path"
        + (f"; {found.max_paths} complete paths" if found.max_paths is not None else ""),
    ]
    if tree:
        lines.append(
            "legend: input (note) → state reached; ⇒ outcome #path; @n a call state other "
            "paths join (= same call state as @n); ✂ cut by a bound"
        )
        for i, t in enumerate(found.trees, 1):
            lines.append("")
            lines.append(f"setup {i}: {t.setup.label}")
            stack: list[tuple[Node, int]] = [(t.root, 1)]
            while stack:
                node, level = stack.pop()
                lines.append("  " * level + node_line(node))
                for child in reversed(node.children):
                    stack.append((child, level + 1))
    lines.append("")
    lines.extend(summary_lines(found))
    return "\n".join(lines) + "\n"


def summary_lines(found: Exploration) -> list[str]:
    counts = found.outcome_counts
    leaves = found.leaf_counts
    width = max(len(k) for k in counts)
    lines = ["outcomes:"]
    lines += [f"  {kind:<{width}}  {n:>5}" for kind, n in counts.items()]
    parts = [f"{leaves[ENDED]} ended"]
    parts.append(f"{leaves[JOINED]} joined a call state explored on another path")
    parts.append(f"{leaves[LOOP]} cut by the loop bound")
    parts.append(f"{leaves[DEPTH]} cut by the depth bound")
    if leaves[STOPPED]:
        parts.append(f"{leaves[STOPPED]} not explored")
    if leaves[STUCK]:
        parts.append(f"{leaves[STUCK]} stuck (the call waited for nothing)")
    lines.append("paths: " + "; ".join(parts))
    if found.stopped:
        lines.append(
            f"stopped: --max-paths {found.max_paths} reached; the counts cover what was explored"
        )
    states, outcomes = found.never_reached_states, found.never_reached_outcomes
    if not states and not outcomes:
        lines.append("never reached: nothing (every state and every outcome kind is reached)")
    else:
        lines.append("never reached:")
        if states:
            lines.append(f"  states: {', '.join(states)}")
        if outcomes:
            lines.append(f"  outcomes: {', '.join(outcomes)}")
    return lines


def as_json(found: Exploration, tree: bool = True) -> dict[str, Any]:
    return {
        "flow": found.path,
        "name": found.flow.name,
        "bounds": {
            "max_depth": found.max_depth,
            "max_loops": found.max_loops,
            "max_paths": found.max_paths,
        },
        "setups": [
            {
                "caller": t.setup.caller,
                "ani": t.setup.ani,
                "dnis": t.setup.dnis,
                "at": t.setup.at,
                "when": t.setup.when,
                "emergency": list(t.setup.emergency),
                "seed": t.setup.seed,
                **({"tree": t.root.as_json()} if tree else {}),
            }
            for t in found.trees
        ],
        "outcomes": found.outcome_counts,
        "leaves": found.leaf_counts,
        "stopped": found.stopped,
        "never_reached": {
            "states": found.never_reached_states,
            "outcomes": found.never_reached_outcomes,
        },
    }


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


# ---------------------------------------------------------------- scenarios


def scenario(
    found: Exploration, setup: Setup, trail: Sequence[Node], scenario_dir: Path
) -> dict[str, Any]:
    """One ended path as a scenario (the format `ivrflow test` reads), as plain data."""
    import os

    leaf = trail[-1]
    flow_file = Path(found.path)
    flow_rel = os.path.relpath(flow_file.resolve(), scenario_dir.resolve())
    call: dict[str, Any] = {}
    if setup.from_fixtures:
        call["caller"] = setup.caller
    else:
        call["ani"] = setup.ani
        if setup.dnis is not None:
            call["dnis"] = setup.dnis
    call["at"] = setup.at
    if found.fixtures_path is not None:
        call["fixtures"] = os.path.relpath(
            Path(found.fixtures_path).resolve(), scenario_dir.resolve()
        ).replace(os.sep, "/")
    if setup.emergency:
        call["emergency"] = list(setup.emergency)
    d = leaf.decisions or Decisions()
    if d.lookups:
        lookups: dict[str, list[dict[str, Any]]] = {}
        for answer in d.lookups:
            rule: dict[str, Any] = {"when": dict(zip(answer.params, answer.args, strict=False))}
            if not rule["when"]:
                del rule["when"]
            if answer.ok:
                rule["result"] = _plain(answer.value)
            else:
                rule["error"] = answer.reason
            lookups.setdefault(answer.function, []).append(rule)
        call["lookups"] = lookups
    base_queues = found.fixtures.queues
    queues = {
        q: {"ewt": ewt, "position": position}
        for q, ewt, position in d.queues
        if base_queues.get(q, (None, None)) != (ewt, position)
    }
    if queues:
        call["queues"] = queues
    if d.transfer is not None and d.transfer != "answered":
        call["transfer"] = d.transfer
    if d.store == "fail":
        call["callback_store"] = "fail"
    if setup.seed:
        call["seed"] = setup.seed
    steps: list[Any] = []
    for i, node in enumerate(trail):
        if node.kind == "input":
            for kind, value in node.steps:
                steps.append(kind if value is None else {kind: value})
        elif node.kind != "start":
            continue
        after = node  # host answers that follow run before the next caller input
        for later in trail[i + 1 :]:
            if later.kind == "input":
                break
            after = later
        steps.append({"expect_state": after.state})
    outcome = _public_outcome(leaf.outcome or {})
    expect: dict[str, Any] = {"outcome": outcome.get("kind")}
    for key in ("reason", "queue", "number"):
        if key in outcome and outcome[key] is not None:
            expect[key] = str(outcome[key])
    if outcome.get("kind") == "callback_scheduled":
        expect["callback"] = True
    said = ", ".join(n.label for n in trail[1:])
    name = f"path {leaf.number}: {setup.caller}, {setup.when}: {said or 'no input'} ⇒ {outcome.get('kind')}"
    return {
        "flow": flow_rel.replace(os.sep, "/"),
        "name": name,
        "call": call,
        "steps": steps,
        "expect": expect,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def scenario_text(found: Exploration, setup: Setup, trail: Sequence[Node], directory: Path) -> str:
    """`scenario` as the YAML text of a file in `directory`."""
    import yaml

    data = scenario(found, setup, trail, directory)
    header = (
        f"# Written by `ivrflow explore --emit-scenarios`: path {trail[-1].number} of "
        f"{found.flow.name}.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def scenario_file_name(found: Exploration, leaf: Node, width: int | None = None) -> str:
    """`<flow>-<path number>-<outcome>.yaml`, numbers zero-padded alike."""
    if width is None:
        width = max(3, len(str(found.leaf_counts[ENDED])))
    kind = (leaf.outcome or {}).get("kind", "ended")
    return f"{found.flow.name}-{leaf.number:0{width}d}-{kind}.yaml"


def write_scenarios(found: Exploration, directory: str | Path) -> list[Path]:
    """Write one scenario file per ended path into `directory`; return the files."""
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    width = max(3, len(str(found.leaf_counts[ENDED])))
    written: list[Path] = []
    for setup, trail in found.paths():
        file = out_dir / scenario_file_name(found, trail[-1], width)
        file.write_text(scenario_text(found, setup, trail, out_dir), encoding="utf-8")
        written.append(file)
    return written


__all__ = [
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_LOOPS",
    "Decisions",
    "Exploration",
    "ExploreCall",
    "Explorer",
    "LookupAnswer",
    "Node",
    "Option",
    "Setup",
    "SetupTree",
    "accepts",
    "as_json",
    "default_setups",
    "explore",
    "invalid_entry",
    "render_text",
    "scenario",
    "scenario_file_name",
    "scenario_text",
    "summary_lines",
    "valid_entry",
    "write_scenarios",
]
