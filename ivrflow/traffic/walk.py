"""The flow part of the traffic model: the compiled flow as a probabilistic graph.

Running the interpreter for every simulated call costs ~100 µs+; a day of a big
center is millions of calls. So the flow is compiled, lazily and once, into
nodes: a node is a state entered with given variables (and no-input/no-match
counts, and `call` stack), and its table lists every way the visit can end —
with its probability, the seconds it takes, and the next node or the call's
end. Sampling a call is then a loop of table look-ups.

What decides a branch, in the order the interpreter would meet it:
- statements run for real (`set`, `if`, `switch`) with the flow's own
  evaluator, on the caller's ANI/DNIS (a `callers` segment of the model), the
  flow's variables and the look-up results the model draws;
- business hours are the flow's real `hours`, read at the simulated time
  (the node tables are kept per combination of open/holiday/emergency);
- a menu, capture or callback offer: per attempt, hang-up, no-input, no-match
  or an answer with the model's shares, then the flow's escalation, counts
  and `retries` exactly as docs/runtime.md describes;
- a condition that reads a value the model does not give (a field of a look-up
  result it leaves out, `now`, a captured number) is true with the model's
  `conditions` share, else `unknown_condition`; a `switch` on such a value
  takes each case equally often. Every such guess is listed in `assumed`;
- a transfer to a queue stops the walk: the center asks the queue for its EWT
  at that moment and resumes the walk with `ewt` set (`resume`).
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeAlias

from .. import model as fm
from ..model import hours as hours_mod
from ..model import phone
from ..model.escalation import escalate, exit_of, spent
from ..model.index import body_index
from ..runtime.evaluate import EvaluationError, evaluate
from .flowinfo import expr_text, relevant_variables
from .model import StateModel, TrafficModel, choice_keys
from .walk_body import UNKNOWN, BodyRunner, Env, Leaf, Scope, Unknowable

__all__ = [
    "END",
    "NEXT",
    "QUEUE",
    "TRANSFER",
    "UNKNOWN",
    "Node",
    "Walker",
    "expr_text",
    "relevant_variables",
]

NEXT, END, TRANSFER, QUEUE = 0, 1, 2, 3  # what a table row leads to
MAX_STEPS = 1000  # node visits per call before the walk calls it a loop, as the interpreter does
EWT_STEP = 15.0  # seconds: the EWT a flow sees is rounded to this
MAX_POSITION = 50  # positions in line above this read as this
DEFAULT_ACCEPT = 0.5  # callback offers the model says nothing about
CALLBACK_FLAG = "\x00callback"  # in a walk's variables: the offer whose callback was stored
_IN_ERROR = "\x00in_error"


RECORDED_MESSAGE = 20.0  # seconds a caller speaks into a `record` state (its `max` caps it)


Frames: TypeAlias = tuple[tuple[int, int], ...]  # (body number, statement index)
StackEntry: TypeAlias = tuple[str, str, Frames, tuple[int, int]]
# One way a visit ends: (probability, seconds, what, target)
Row: TypeAlias = tuple[float, float, int, Any]


class Node:
    """A state entered with known variables; `tables` per hours combination, built lazily."""

    __slots__ = ("state", "counts", "stack", "mode", "env", "key", "tables")

    def __init__(
        self,
        state: str,
        counts: tuple[int, int],
        stack: tuple[StackEntry, ...],
        mode: Any,
        env: Env,
        key: Any,
    ) -> None:
        self.state, self.counts, self.stack, self.mode, self.env = state, counts, stack, mode, env
        self.key = key
        self.tables: dict[int, tuple[list[float], list[tuple[float, int, Any]]]] = {}


def _freeze(v: Any) -> Any:
    if isinstance(v, dict):
        return ("{", tuple(sorted((str(k), _freeze(x)) for k, x in v.items())))
    if isinstance(v, list | tuple):
        return ("[", tuple(_freeze(x) for x in v))
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return ("t", v.isoformat())
    return v


class Walker(BodyRunner):
    """The compiled walk of one flow under one traffic model."""

    def __init__(self, flow: fm.Flow, model: TrafficModel) -> None:
        self.flow, self.model = flow, model
        self.index = body_index(flow)
        self.nodes: dict[Any, Node] = {}
        self.assumed: dict[str, float] = {}  # "state: condition" → share used
        self.hours_names = tuple(sorted(flow.hours))
        self._hv_ids: dict[tuple[tuple[bool, bool, bool], ...], int] = {}
        self._hv_list: list[dict[str, tuple[bool, bool, bool]]] = []
        self._hv_by_minute: dict[int, int] = {}
        self._hv_id = -1
        self.base = Path(flow.path).parent
        self.relevant = relevant_variables(flow) | {CALLBACK_FLAG, _IN_ERROR}
        cum, total, self.segments = [], 0.0, []
        for seg in model.callers:
            total += seg.share
            cum.append(total)
            self.segments.append(self._start_node(seg.ani, seg.dnis))
        self.segment_cum = [c / total for c in cum]

    # ------------------------------------------------------------ sampling (the hot path)
    def hours_id(self, at: float) -> int:
        """The open/holiday/emergency combination at epoch `at` (cached per minute)."""
        minute = int(at // 60)
        hv = self._hv_by_minute.get(minute)
        if hv is None:
            emergency = self.model.emergency
            vector = tuple(
                (
                    hours_mod.is_open(self.flow.hours[h], at, h in emergency),
                    hours_mod.is_holiday(self.flow.hours[h], at),
                    h in emergency,
                )
                for h in self.hours_names
            )
            hv = self._hv_ids.get(vector)
            if hv is None:
                hv = self._hv_ids[vector] = len(self._hv_list)
                self._hv_list.append(dict(zip(self.hours_names, vector, strict=True)))
            if len(self._hv_by_minute) > 500_000:
                self._hv_by_minute.clear()
            self._hv_by_minute[minute] = hv
        return hv

    def walk(
        self, node: Node, hv: int, random: Callable[[], float]
    ) -> tuple[float, int, Any, Node | None]:
        """Follow tables from `node` until the call leaves the IVR or hands over to a queue.

        Returns (seconds, END|TRANSFER|QUEUE, target, last node). END: target is the
        outcome (kind, detail, offer state of a stored callback or None); TRANSFER: the
        transfer node to `resume` with the queue's EWT; QUEUE: (queue name, offer or None)."""
        seconds = 0.0
        for _ in range(MAX_STEPS):
            table = node.tables.get(hv)
            if table is None:
                table = self._table(node, hv)
            cum, rows = table
            row = rows[bisect_right(cum, random()) if len(rows) > 1 else 0]
            seconds += row[0]
            if row[1] != NEXT:
                return seconds, row[1], row[2], node
            node = row[2]
        return seconds, END, ("error", "step budget exceeded", None), node

    def start(self, random: Callable[[], float]) -> Node:
        return self.segments[bisect_right(self.segment_cum, random())]

    def resume(self, transfer: Node, ewt: float, position: int) -> Node:
        """The transfer state's node once the ACD answered the queue-status request."""
        # ACDs announce a rounded estimate; rounding also keeps the number of nodes small.
        ewt = round(ewt / EWT_STEP) * EWT_STEP if math.isfinite(ewt) else ewt
        position = min(position, MAX_POSITION)
        key = ("queued", transfer.key, ewt, position)
        node = self.nodes.get(key)
        if node is None:  # the transfer's own key, not its variables again: resuming is hot
            env = dict(transfer.env)
            state = self.flow.states[transfer.state]
            assert isinstance(state, fm.Transfer)
            env["ewt"] = ewt if math.isfinite(ewt) else None
            env["position"] = position
            env["queue"] = state.queue or transfer.env.get("queue")
            node = Node(transfer.state, transfer.counts, transfer.stack, "queued", env, key)
            self.nodes[key] = node
        return node

    # ------------------------------------------------------------ nodes and tables
    def _start_node(self, ani: str | None, dnis: str | None) -> Node:
        env: Env = fm.builtin_values(self.flow, ani=ani, dnis=dnis, call_id=UNKNOWN)
        for name, expr in self.flow.variables.items():
            try:
                env[name] = evaluate(expr, Scope(self.flow, env, {}))
            except (Unknowable, EvaluationError):
                env[name] = UNKNOWN
        return self._node(self.flow.start, (0, 0), (), "enter", env)

    def _node(
        self,
        state: str,
        counts: tuple[int, int],
        stack: tuple[StackEntry, ...],
        mode: Any,
        env: Env,
    ) -> Node:
        # A value no condition can ever read only multiplies nodes: forget it.
        relevant = self.relevant
        if any(k not in relevant and v is not UNKNOWN for k, v in env.items()):
            env = {k: v if k in relevant else UNKNOWN for k, v in env.items()}
        key = (state, counts, stack, mode, _freeze(env))
        node = self.nodes.get(key)
        if node is None:
            node = self.nodes[key] = Node(state, counts, stack, mode, env, key)
        return node

    def _table(self, node: Node, hv: int) -> tuple[list[float], list[tuple[float, int, Any]]]:
        rows = list(self._expand(node, self._hv_list[hv]))
        merged: dict[tuple[int, Any, float], float] = {}
        for p, seconds, kind, target in rows:
            if p > 0:
                k = (kind, target, round(seconds, 3))
                merged[k] = merged.get(k, 0.0) + p
        total = sum(merged.values()) or 1.0
        cum: list[float] = []
        out: list[tuple[float, int, Any]] = []
        acc = 0.0
        for (kind, target, seconds), p in merged.items():
            acc += p / total
            cum.append(acc)
            out.append((seconds, kind, target))
        cum[-1] = 1.0 + 1e-12  # random() < 1: the last row takes any rounding left over
        node.tables[hv] = (cum, out)
        return cum, out

    # ------------------------------------------------------------ one visit, every way it ends
    def _expand(self, node: Node, hours: Mapping[str, tuple[bool, bool, bool]]) -> Iterator[Row]:
        state = self.flow.states[node.state]
        mode, env = node.mode, node.env
        if isinstance(mode, tuple):  # ("resume", role, frames): back from a `call`
            _, role, frames = mode
            first, *outer = [(self.index.bodies[b], i) for b, i in frames]
            leaves = self._run(first[0], first[1], tuple(outer), env, 1.0, 0.0, node.state, hours)
        else:
            if isinstance(state, fm.Transfer):
                if mode != "queued" and state.to_queue:
                    yield from self._queues(node, state, hours)
                    return
                body, role = state.body, "transfer"
            elif isinstance(state, fm.Step):
                body, role = state.body, "step"
            elif isinstance(state, fm.Lookup):
                body, role = state.prompt, "lookup"
            elif isinstance(state, fm.Record):
                body, role = state.prompt, "record"
            else:
                body, role = state.prompt, "prompt"
            leaves = self._run(body, 0, (), env, 1.0, 0.0, node.state, hours)
        for leaf in leaves:
            yield from self._settle(node, role, node.counts, leaf, hours)

    def _queues(
        self, node: Node, state: fm.Transfer, hours: Mapping[str, tuple[bool, bool, bool]]
    ) -> Iterator[Row]:
        """The queue a transfer joins: its own, the value of its `queue target` when the walk
        knows it, else each queue it may reach with an equal share."""
        if state.queue is not None:
            yield (1.0, 0.0, TRANSFER, node)
            return
        assert state.queue_expr is not None
        try:
            known = evaluate(state.queue_expr, Scope(self.flow, node.env, hours))
            queues = [known] if known in state.queues else []
        except (Unknowable, EvaluationError):
            queues = list(state.queues)
        if not queues:  # a value no queue has: the transfer's failed branch, as at run time
            failed = state.on_result.get("failed")
            if failed is None:
                reason = "transfer failed: no queue to transfer to"
                seconds = self._default_seconds("error", node.env)
                yield (1.0, seconds, END, self._outcome(node.env, "error", reason))
                return
            env = {**node.env, "error": "transfer failed: no queue to transfer to"}
            yield from self._branch(node, failed, "branch", (0, 0), 1.0, 0.0, env, hours)
            return
        for queue in queues:
            env = {**node.env, "queue": queue}
            chosen = self._node(node.state, node.counts, node.stack, "enter", env)
            yield (1.0 / len(queues), 0.0, TRANSFER, chosen)

    def _settle(
        self,
        node: Node,
        role: str,
        counts: tuple[int, int],
        leaf: Leaf,
        hours: Mapping[str, tuple[bool, bool, bool]],
    ) -> Iterator[Row]:
        """Where a body's end leads: another node, the call's end, or more of this state."""
        p, seconds, env, result = leaf.p, leaf.seconds, leaf.env, leaf.result
        name, stack = node.state, node.stack
        kind = result[0]
        if kind == "goto":
            target = result[1]
            if role == "handler" and target in (fm.REPEAT, name):  # runtime.back_from_handler
                state = self.flow.states[name]
                yield from self._after_failure(node, state, counts, p, seconds, env, hours)
            elif target == fm.REPEAT:
                yield (p, seconds, NEXT, self._node(name, counts, stack, "repeat", env))
            elif target == fm.HANGUP:
                yield (p, seconds, END, self._outcome(env, "self_served", "flow ended the call"))
            elif target == fm.RETURN:
                yield from self._settle(
                    node, role, counts, Leaf(p, seconds, env, ("return",)), hours
                )
            else:
                yield (p, seconds, NEXT, self._node(target, (0, 0), stack, "enter", env))
        elif kind == "hangup":
            outcome = "error" if result[2] == "error" else "self_served"
            yield (p, seconds, END, self._outcome(env, outcome, result[1] or "flow ended the call"))
        elif kind == "call":
            frames = tuple((self.index.ids[id(b)], i) for b, i in result[2])
            entry: StackEntry = (name, role, frames, counts)
            yield (p, seconds, NEXT, self._node(result[1], (0, 0), (*stack, entry), "enter", env))
        elif kind == "return":
            if not stack:
                yield from self._error(p, seconds, env, f"'return' in state '{name}' with no call")
                return
            back, back_role, frames, back_counts = stack[-1]
            mode = ("resume", back_role, frames)
            yield (p, seconds, NEXT, self._node(back, back_counts, stack[:-1], mode, env))
        elif kind == "error":
            yield from self._error(p, seconds, env, result[1])
        else:  # the body ran to its end
            yield from self._fallthrough(node, role, counts, p, seconds, env, hours)

    def _error(self, p: float, seconds: float, env: Env, reason: str) -> Iterator[Row]:
        """The flow's error path: its `error` state once, else an apology and outcome error."""
        if "error" in self.flow.states and not env.get(_IN_ERROR):
            env = {**env, "error": reason, _IN_ERROR: True}
            yield (p, seconds, NEXT, self._node("error", (0, 0), (), "enter", env))
        else:
            yield (
                p,
                seconds + self._default_seconds("error", env),
                END,
                self._outcome(env, "error", reason),
            )

    def _outcome(self, env: Env, kind: str, detail: str) -> tuple[str, str, str | None]:
        """(kind, detail, callback offer state); a stored callback stays the call's outcome."""
        offer = env.get(CALLBACK_FLAG)
        if offer is not None:
            state = self.flow.states[offer]
            assert isinstance(state, fm.CallbackOffer)
            return ("callback_scheduled", state.queue, offer)
        return (kind, detail, None)

    def _fallthrough(
        self,
        node: Node,
        role: str,
        counts: tuple[int, int],
        p: float,
        seconds: float,
        env: Env,
        hours: Mapping[str, tuple[bool, bool, bool]],
    ) -> Iterator[Row]:
        state = self.flow.states[node.state]
        if role == "prompt":
            yield from self._attempt(node, state, counts, p, seconds, env, hours)
        elif role == "lookup":
            assert isinstance(state, fm.Lookup)
            yield from self._lookup(node, state, p, seconds, env, hours)
        elif role == "transfer":
            assert isinstance(state, fm.Transfer)
            seconds += 1.0  # the ACD takes the call
            if not state.to_queue:
                yield (p, seconds, END, ("transferred", state.kind or "number", None))
            else:
                extra = 0.0
                if "ewt" in state.announce and env.get("ewt") is not None:
                    extra += self._default_seconds("ewt", env)
                if "position" in state.announce and env.get("position") is not None:
                    extra += self._default_seconds("position", env)
                queue = state.queue or env.get("queue")
                yield (p, seconds + extra, QUEUE, (queue, env.get(CALLBACK_FLAG)))
        elif role == "record":
            assert isinstance(state, fm.Record)
            yield from self._record(node, state, p, seconds, env, hours)
        elif role == "handler":
            yield from self._after_failure(node, state, counts, p, seconds, env, hours)
        else:
            reason = f"state '{node.state}' ended without going anywhere"
            yield from self._error(p, seconds, env, reason)

    def _branch(
        self,
        node: Node,
        body: fm.Body,
        role: str,
        counts: tuple[int, int],
        p: float,
        seconds: float,
        env: Env,
        hours: Mapping[str, tuple[bool, bool, bool]],
    ) -> Iterator[Row]:
        for leaf in self._run(body, 0, (), env, p, seconds, node.state, hours):
            yield from self._settle(node, role, counts, leaf, hours)

    def _lookup(
        self,
        node: Node,
        lk: fm.Lookup,
        p: float,
        seconds: float,
        env: Env,
        hours: Mapping[str, tuple[bool, bool, bool]],
    ) -> Iterator[Row]:
        lm = self.model.lookups.get(lk.function)
        latency = lm.latency if lm else self.model.default_latency
        outcomes = lm.outcomes if lm else ()
        total = sum(o.share for o in outcomes)
        if not outcomes or total <= 0:
            env2 = {**env, lk.result: UNKNOWN} if lk.result else env
            yield from self._branch(
                node, lk.ok, "branch", (0, 0), p, seconds + latency, env2, hours
            )
            return
        for o in outcomes:
            q = p * o.share / total
            if o.error is None:
                value = _thaw(o.result) if o.known else UNKNOWN
                env2 = {**env, lk.result: value} if lk.result else env
                yield from self._branch(
                    node, lk.ok, "branch", (0, 0), q, seconds + latency, env2, hours
                )
            elif lk.error is not None:
                env2 = {**env, "error": o.error}
                yield from self._branch(
                    node, lk.error, "branch", (0, 0), q, seconds + latency, env2, hours
                )
            else:
                reason = f"look-up {lk.function} failed: {o.error}"
                yield (q, seconds + latency + self._default_seconds("error", env), END,
                       self._outcome(env, "error", reason))  # fmt: skip

    def _record(
        self,
        node: Node,
        rec: fm.Record,
        p: float,
        seconds: float,
        env: Env,
        hours: Mapping[str, tuple[bool, bool, bool]],
    ) -> Iterator[Row]:
        """A message: the state's hang-up share hangs up after speaking it (a message left),
        its no-input share stays silent, the rest speak and finish with a key."""
        _, hangup, silent, _ = self._rates(node.state)
        speaking = min(rec.max_length, RECORDED_MESSAGE)
        env2 = {**env, rec.into: UNKNOWN}
        message = 1.0 - hangup - silent
        if hangup > 0:
            yield (p * hangup, seconds + speaking, END, self._outcome(env, "self_served", "message recorded"))  # fmt: skip
        if silent > 0:
            quiet = seconds + (rec.silence or rec.max_length)
            body = rec.silent if rec.silent is not None else rec.ok
            yield from self._branch(node, body, "branch", (0, 0), p * silent, quiet, env2, hours)
        if message > 0:
            spoken = seconds + speaking * (2 if rec.playback else 1)
            yield from self._branch(
                node, rec.ok, "branch", (0, 0), p * message, spoken, env2, hours
            )

    # ------------------------------------------------------------ input states
    def _rates(self, name: str) -> tuple[StateModel | None, float, float, float]:
        sm = self.model.states.get(name)
        m = self.model

        def pick(v: float | None, default: float) -> float:
            return default if v is None else v

        if sm is None:
            return None, m.hangup, m.noinput, m.nomatch
        return (
            sm,
            pick(sm.hangup, m.hangup),
            pick(sm.noinput, m.noinput),
            pick(sm.nomatch, m.nomatch),
        )

    def _attempt(
        self,
        node: Node,
        state: fm.State,
        counts: tuple[int, int],
        p: float,
        seconds: float,
        env: Env,
        hours: Mapping[str, tuple[bool, bool, bool]],
    ) -> Iterator[Row]:
        """The caller's answer to one prompt: hang up, silence, a wrong key, or an answer."""
        assert isinstance(state, fm.Menu | fm.Capture | fm.CallbackOffer)
        sm, hangup, noinput, nomatch = self._rates(node.state)
        rest = max(0.0, 1.0 - hangup - noinput - nomatch)
        think = self.model.think
        if hangup:
            yield (
                p * hangup,
                seconds + think / 2,
                END,
                self._outcome(env, "abandoned", node.state),
            )
        if noinput:
            yield from self._failure(
                node,
                state,
                counts,
                "noinput",
                p * noinput,
                seconds + state.input.timeout,
                env,
                hours,
            )
        if nomatch:
            yield from self._failure(
                node, state, counts, "nomatch", p * nomatch, seconds + think, env, hours
            )
        if rest <= 0:
            return
        q = p * rest
        if state.input.reset:  # `counts reset`: a valid input forgives the failures before it
            counts = (0, 0)
        if isinstance(state, fm.Menu):
            keys = choice_keys(state)
            shares = (
                [sm.choices.get(k, 0.0) for k in keys] if sm and sm.choices else [1.0] * len(keys)
            )
            total = sum(shares) or 1.0
            for choice, share in zip(state.choices, shares, strict=True):
                if share > 0:
                    said: Any = (
                        choice.keys[0]
                        if choice.keys
                        else choice.phrases[0]
                        if not choice.sequences
                        else UNKNOWN
                    )  # an extension: which one, unknown
                    env2 = {**env, "last_input": said}
                    if state.into is not None:
                        env2[state.into] = (
                            said
                            if choice.keys or choice.sequences
                            else env.get(state.into, UNKNOWN)
                        )
                    yield from self._branch(
                        node,
                        choice.body,
                        "branch",
                        counts,
                        q * share / total,
                        seconds + think,
                        env2,
                        hours,
                    )
        elif isinstance(state, fm.Capture):
            typing = think + self.model.key_time * (state.min_digits + state.max_digits) / 2
            env2 = {**env, state.variable: UNKNOWN, "last_input": UNKNOWN}
            if state.confirm is None:
                yield from self._branch(
                    node, state.ok, "branch", counts, q, seconds + typing, env2, hours
                )
                return
            typing += self._say_seconds(state.confirm, env2) + think
            yes = sm.confirm if sm else 0.95
            yield from self._branch(
                node, state.ok, "branch", counts, q * yes, seconds + typing, env2, hours
            )
            if yes < 1:
                again = self._node(node.state, counts, node.stack, "repeat", env2)
                yield (q * (1 - yes), seconds + typing, NEXT, again)
        else:
            accept = sm.accept if sm and sm.accept is not None else DEFAULT_ACCEPT
            yield from self._accepted(node, state, q * accept, seconds + think, env, hours)
            if accept < 1:
                if state.declined is not None:
                    yield from self._branch(
                        node,
                        state.declined,
                        "branch",
                        counts,
                        q * (1 - accept),
                        seconds + think,
                        env,
                        hours,
                    )
                else:
                    extra = think + 1.5
                    yield (q * (1 - accept), seconds + extra, END,
                           self._outcome(env, "self_served", "callback declined"))  # fmt: skip

    def _accepted(
        self,
        node: Node,
        offer: fm.CallbackOffer,
        p: float,
        seconds: float,
        env: Env,
        hours: Mapping[str, tuple[bool, bool, bool]],
    ) -> Iterator[Row]:
        try:
            number = evaluate(offer.number, Scope(self.flow, env, hours))
        except (Unknowable, EvaluationError):
            number = "+10000000000"  # a number the caller keyed earlier: taken as dialable
        if not number or phone.normalize(str(number), self.flow.settings.country) is None:
            # Withheld: the caller keys a number (the default prompt, then ~11 keys and #).
            seconds += 2.5 + self.model.think + 12 * self.model.key_time
        if offer.confirm is not None:
            seconds += self._say_seconds(offer.confirm, env) + self.model.think
        env2 = {**env, CALLBACK_FLAG: offer.name, "callback_number": UNKNOWN}
        yield from self._branch(node, offer.scheduled, "branch", (0, 0), p, seconds, env2, hours)

    def _failure(
        self,
        node: Node,
        state: fm.Menu | fm.Capture | fm.CallbackOffer,
        counts: tuple[int, int],
        kind: str,
        p: float,
        seconds: float,
        env: Env,
        hours: Mapping[str, tuple[bool, bool, bool]],
    ) -> Iterator[Row]:
        """A no-input or no-match, by the interpreter's own rule (runtime.escalation)."""
        counts = (counts[0] + 1, counts[1]) if kind == "noinput" else (counts[0], counts[1] + 1)
        table: fm.Escalation = state.noinput if kind == "noinput" else state.nomatch
        handler, _, last = escalate(table, kind, counts[0], counts[1], state.input, node.state)
        if handler is None:
            if not last:
                seconds += self._default_seconds(kind, env)
            yield from self._after_failure(node, state, counts, p, seconds, env, hours)
            return
        yield from self._branch(node, handler, "handler", counts, p, seconds, env, hours)

    def _after_failure(
        self,
        node: Node,
        state: fm.State,
        counts: tuple[int, int],
        p: float,
        seconds: float,
        env: Env,
        hours: Mapping[str, tuple[bool, bool, bool]],
    ) -> Iterator[Row]:
        inp = getattr(state, "input", self.flow.settings.input)
        which = spent(counts[0], counts[1], inp)
        if which is not None:
            inputs = fm.Menu | fm.Capture | fm.CallbackOffer
            body = exit_of(state, which)[0] if isinstance(state, inputs) else None
            if body is not None:
                yield from self._branch(node, body, "branch", counts, p, seconds, env, hours)
            else:
                seconds += self._default_seconds("exhausted", env)
                yield (p, seconds, END, self._outcome(env, "error", "retries exhausted"))
            return
        yield (p, seconds, NEXT, self._node(node.state, counts, node.stack, "repeat", env))


def _thaw(value: Any) -> Any:
    """A YAML value as the interpreter holds look-up results (dates stay ISO text)."""
    if isinstance(value, dict):
        return {str(k): _thaw(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_thaw(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
