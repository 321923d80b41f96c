"""The search: `ExploreCall` (a simulated call that forks and stops at undecided host
requests), `Explorer` (breadth first over setups, caller options and host answers, with
joins and the depth, loop and path bounds) and `explore()`."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from ... import model
from ...host.callbacks import MemoryCallbackStore
from ...host.fixtures import Fixtures, Rule
from ...model import hours as hours_mod
from ...model.walk import bodies, walk
from ...runtime import actions as act
from ...runtime.session import Session
from ..testing import Call
from .fmt import _ordinal, _queue_text, _quote
from .inputs import (
    _entry_label,
    _entry_steps,
    _error_literals,
    _generic_result,
    _phone_number,
    _shape,
    accepts,
    default_setups,
    free_speech_answers,
    invalid_entry,
    valid_entry,
)
from .liveness import Liveness, _hours_read
from .tree import (
    DEPTH,
    ENDED,
    JOINED,
    LOOP,
    STOPPED,
    STUCK,
    Decisions,
    Exploration,
    LookupAnswer,
    Node,
    Option,
    Setup,
    SetupTree,
)

SNAPSHOT_KEY = b"ivrflow-explore"  # forks keep secure captures (sealed in the snapshot)
DEFAULT_MAX_DEPTH = 40
DEFAULT_MAX_LOOPS = 2
KEYS = "0123456789*#"


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
        if isinstance(a, act.TransferToQueue | act.TransferToDestination):
            return self.decisions.transfer is None
        if isinstance(a, act.StoreCallback):
            return self.decisions.store is None
        if isinstance(a, act.Record):
            return self.decisions.recorder is None
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
        if decisions.recorder is not None:
            self.recorder = decisions.recorder
        lookups = dict(self.base.lookups)
        ours: dict[str, list[Rule]] = {}
        for answer in decisions.lookups:  # a path's answers replace the fixtures' rules
            ours.setdefault(answer.function, []).append(_rule(answer))
        lookups.update(ours)
        queues = dict(self.base.queues)
        for queue, ewt, position in decisions.queues:
            queues[queue] = (ewt, position)
        self.fixtures = Fixtures(lookups, queues, self.base.calls)


def _multikey_options(menu: model.Menu, keys_heard: bool) -> list[Option]:
    """A menu with multi-key options: one input per option (its shortest entry that chooses
    it, then the inter-digit wait when the menu must wait for it), and a key nothing takes."""
    entry = menu.entry
    assert entry is not None
    examples = entry.examples()
    out: list[Option] = []
    for index, c in enumerate(menu.choices):
        if c.phrases and not keys_heard:
            out.append(Option(_quote(c.phrases[0]), "", (("say", c.phrases[0]),)))
            continue
        for i, owner in enumerate(entry.owners):
            found = examples.get(i)
            if owner != index or found is None:
                continue
            steps: tuple[tuple[str, Any], ...] = (("press", found.keys),)
            note = entry.options[i].label if entry.options[i].label != found.keys else ""
            if not found.at_once:
                steps = (*steps, ("wait", None))
                note = f"{note}, then the inter-digit wait" if note else "then the inter-digit wait"
            out.append(Option(found.keys, note, steps))
        if not c.keys and not c.sequences and c.phrases:
            out.append(Option(_quote(c.phrases[0]), "", (("say", c.phrases[0]),)))
    bad = next((k for k in KEYS if entry.feed(k).outcome == "nomatch"), None)
    if bad is not None:
        out.append(Option(bad, "invalid", (("press", bad),)))
    return out


def _hears_keys(state: model.State) -> bool:
    """False for a state that hears speech only (`input speech`, a capture of words)."""
    inp = getattr(state, "input", None)
    return inp is None or inp.modes is None or "dtmf" in inp.modes


def _queue_variants(flow: model.Flow, state_name: str, value: Any) -> list[tuple[str, Any]]:
    """A look-up whose result names the queue of a transfer (`queue found.queue among […]`):
    its answer once per queue the transfer may reach, and once naming none of them, so every
    queue and the transfer's failed branch are explored."""
    lookup = flow.states.get(state_name)
    if not isinstance(lookup, model.Lookup) or not lookup.result or not isinstance(value, dict):
        return []
    out: list[tuple[str, Any]] = []
    for state in flow.states.values():
        if not isinstance(state, model.Transfer):
            continue
        target = state.queue_expr
        if not (isinstance(target, model.Var) and target.name == lookup.result):
            continue
        if len(target.attrs) != 1:
            continue
        field = target.attrs[0]
        for queue in (*state.queues, "(no such queue)"):
            if value.get(field) != queue:
                out.append((f"{field} {_quote(queue)}", {**value, field: queue}))
    return out


SAMPLE_MESSAGE = "Maria Souza, sobre a fatura"  # what an explored caller leaves as a message


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
        on_path: Callable[[int], None] | None = None,
    ) -> None:
        from ...host.fixtures import for_flow

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
        self.on_path = on_path  # told the count of complete paths as each one ends
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
                if self.on_path is not None:
                    self.on_path(self._ended)
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
            if call.listening is None and call.recording is None:  # should not happen
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
                    elif kind == "record":
                        child_call.leave_message(str(value))
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
            elif isinstance(a, act.Record):
                blocked = "recorder"
            else:
                blocked = repr(a)
        return (
            blocked,
            s.state, s.phase, s.noinput, s.nomatch, s.buffer, s.typeahead, repr(s.calls),
            s.rng if self.splits else 0, s.choice, kind, variables, clock, hours,
            call.decisions.transfer, call.decisions.store, call.decisions.queues,
            call.decisions.recorder, call.recording is not None,
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
            for label, variant in _queue_variants(self.flow, call.session.state, value):
                answer = LookupAnswer(function, args, params, True, variant)
                out.append(
                    (f"⟨{function}: ok, {label}⟩", "", replace(d, lookups=(*d.lookups, answer)))
                )
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
        if isinstance(a, act.TransferToQueue | act.TransferToDestination):
            state = self.flow.states[call.session.state]
            results = ["answered", "busy"]
            if isinstance(state, model.Transfer):
                busy = _shape(state.on_result.get("busy"))
                for status in ("noanswer", "full", "failed"):
                    body = state.on_result.get(status)
                    if body is not None and _shape(body) != busy:
                        results.append(status)
            return [(f"⟨transfer: {r}⟩", "", replace(d, transfer=r)) for r in results]
        if isinstance(a, act.Record):
            return [
                ("⟨recorder: ok⟩", "", replace(d, recorder="memory")),
                ("⟨recorder: fails⟩", "", replace(d, recorder="fail")),
            ]
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
        if call.recording is not None:  # a record state: a message, or silence
            return [Option(f'"{SAMPLE_MESSAGE}"', "a message", (("record", SAMPLE_MESSAGE),)),
                    Option("wait", "silence", (("wait", None),))]  # fmt: skip
        keys_heard = _hears_keys(state)
        if phase == "menu" and isinstance(state, model.Menu) and state.entry is not None:
            return [*_multikey_options(state, keys_heard), wait]
        if phase == "menu" and isinstance(state, model.Menu):
            out = []
            bound = {k for c in state.choices for k in c.keys}
            for c in state.choices:
                if c.phrases and not keys_heard:
                    out.append(Option(_quote(c.phrases[0]), "", (("say", c.phrases[0]),)))
                elif c.keys:
                    out.append(Option(c.keys[0], "", (("press", c.keys[0]),)))
                elif c.phrases:
                    out.append(Option(_quote(c.phrases[0]), "", (("say", c.phrases[0]),)))
            bad = next((k for k in KEYS if k not in bound), None)
            if bad is not None:
                out.append(Option(bad, "invalid", (("press", bad),)))
            return [*out, wait]
        if phase == "capture" and isinstance(state, model.Capture) and state.words is not None:
            fits, too_long = free_speech_answers(state)
            low, high = state.words
            known = [  # what the fixtures answer for: the look-ups this capture feeds
                Option(_quote(v), "from fixtures", (("say", v),))
                for v in self._fixture_values(state)
                if low <= len(v.split()) <= high and v != fits
            ]
            return [
                *known,
                Option(_quote(fits), "fits", (("say", fits),)),
                Option(_quote(too_long), "too long", (("say", too_long),)),
                wait,
            ]
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
        if not keys_heard and not (isinstance(state, model.Capture) and state.words):
            return [
                Option('"yes"', "yes", (("say", "yes"),)),
                Option('"no"', "no", (("say", "no"),)),
                wait,
            ]
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
                    fits = cap.words is not None or accepts(cap, str(value))
                    if value is not None and value not in out and fits:
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
    on_path: Callable[[int], None] | None = None,
) -> Exploration:
    """Explore every path of `flow` (see the module's documentation). `fixtures_path`: the
    file `fixtures` came from, when not the flow's own (scenarios name it). `on_path` is told
    the count of complete paths as each one ends (a progress bar)."""
    return Explorer(
        flow,
        path=path,
        fixtures=fixtures,
        fixtures_path=fixtures_path,
        setups=setups,
        max_depth=max_depth,
        max_loops=max_loops,
        max_paths=max_paths,
        on_path=on_path,
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
