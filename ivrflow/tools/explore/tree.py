"""The data an exploration builds: call setups, the host's answers on a path, caller
options, the tree of nodes per setup, the `Exploration` result and how leaves end."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ... import model
from ...host.fixtures import Fixtures
from ...runtime.record import OUTCOMES
from .fmt import _public_outcome, _show_time, _step_text

# How a leaf ends.
ENDED = "ended"  # the call ended: an outcome
JOINED = "joined"  # the same call state was explored on another path
LOOP = "loop"  # the loop bound cut the path
DEPTH = "depth"  # the depth bound cut the path
STOPPED = "stopped"  # --max-paths was reached before this node was explored
STUCK = "stuck"  # the call neither ended nor waits for anything (an interpreter problem)
LEAF_KINDS = (ENDED, JOINED, LOOP, DEPTH, STOPPED, STUCK)


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
    recorder: str | None = None  # memory | fail: the recording store
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
    # joined leaves: the node where that call state was explored. Left out of repr and ==:
    # following it re-walks shared subtrees, exponential in the tree's depth.
    same_as: Node | None = field(default=None, repr=False, compare=False)
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
