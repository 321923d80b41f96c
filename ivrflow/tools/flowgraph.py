"""A flow as a graph: states and the labelled edges between them, read statically.

The graph diagram, test coverage and the path explorer share these edges, and
the session reports the same (source, target, label) triples to listeners as
a call follows them, so "what the flow can do" and "what a test did" line up.

Labels: "choice 1" (a menu choice, by its first key or phrase), "noinput 2",
"nomatch", "exhausted", "ok", "error", "busy"/"noanswer"/"full"/"failed",
"scheduled", "declined", "call", or "" for a plain `-> state`. Pseudo-targets
end the call: "(hangup)", "(return)", "(transfer)", "(callback)", "(error)".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .. import model
from ..model.escalation import exhausted_reachable
from ..model.walk import walk

HANGUP, RETURN, TRANSFER, CALLBACK, ERROR = (
    "(hangup)", "(return)", "(transfer)", "(callback)", "(error)",
)  # fmt: skip
TERMINALS = (HANGUP, RETURN, TRANSFER, CALLBACK, ERROR)


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    label: str
    kind: (
        str  # choice, goto, noinput, nomatch, exhausted, ok, error, result, callback, call, default
    )

    @property
    def key(self) -> str:
        return edge_key(self.source, self.target, self.label)


def edge_key(source: str, target: str, label: str) -> str:
    """The identity of an edge, as static analysis and a running call both name it."""
    target = {model.REPEAT: source, model.HANGUP: HANGUP, model.RETURN: RETURN}.get(target, target)
    return f"{source} -> {target} [{label}]" if label else f"{source} -> {target}"


def _targets(source: str, body: model.Body) -> Iterator[tuple[str, str]]:
    """(target, how) for every way out of a body: gotos, calls, hang-ups."""
    for stmt in walk(body):
        if isinstance(stmt, model.Goto):
            t = stmt.target
            yield (
                {model.REPEAT: source, model.HANGUP: HANGUP, model.RETURN: RETURN}.get(t, t),
                "goto",
            )
        elif isinstance(stmt, model.CallSub):
            yield stmt.target, "call"
        elif isinstance(stmt, model.Hangup):
            yield (ERROR if stmt.outcome == "error" else HANGUP), "goto"
        elif isinstance(stmt, model.Return):
            yield RETURN, "goto"


def _edges_of(
    source: str, body: model.Body, label: str, kind: str, loop_if_falls_through: bool = False
) -> Iterator[Edge]:
    found = False
    for target, how in dict.fromkeys(_targets(source, body)):
        found = True
        yield Edge(
            source, target, "call" if how == "call" else label, "call" if how == "call" else kind
        )
    if loop_if_falls_through and not found:
        yield Edge(source, source, label, kind)  # the prompt plays again


def edges(flow: model.Flow) -> list[Edge]:
    out: list[Edge] = []
    for name, state in flow.states.items():
        out.extend(_state_edges(name, state))
    return list(dict.fromkeys(out))


def _state_edges(name: str, s: model.State) -> Iterator[Edge]:
    from ..model import choice_label

    if isinstance(s, model.Step):
        yield from _edges_of(name, s.body, "", "goto")
        return
    if isinstance(s, model.Transfer):
        yield from _edges_of(name, s.body, "", "goto")
        yield Edge(name, TRANSFER, "", "result")
        for status, body in s.on_result.items():
            yield from _edges_of(name, body, status, "result")
        if s.hold is not None:  # `while waiting:` keys leave the queue
            yield from _edges_of(name, s.hold.message, "", "goto")
            for key, body in s.hold.keys.items():
                yield from _edges_of(name, body, f"key {key}", "choice")
        return
    if isinstance(s, model.Lookup | model.Record):  # the host answers: ok, (silent,) error
        yield from _edges_of(name, s.prompt, "", "goto")
        yield from _edges_of(name, s.ok, "ok", "ok")
        if isinstance(s, model.Record) and s.silent is not None:
            yield from _edges_of(name, s.silent, "silent", "ok")
        if s.error is not None:
            yield from _edges_of(name, s.error, "error", "error")
        else:
            yield Edge(name, ERROR, "error", "default")
        return
    yield from _edges_of(name, s.prompt, "", "goto")
    if isinstance(s, model.Menu):
        for choice in s.choices:
            yield from _edges_of(name, choice.body, choice_label(choice), "choice")
    elif isinstance(s, model.Capture):
        yield from _edges_of(name, s.ok, "ok", "ok")
    else:
        yield Edge(name, CALLBACK, "", "callback")
        yield from _edges_of(name, s.scheduled, "scheduled", "callback")
        for label, maybe in (("declined", s.declined), ("failed", s.failed)):
            if maybe is not None:
                yield from _edges_of(name, maybe, label, "callback")
    for kind, esc in (("noinput", s.noinput), ("nomatch", s.nomatch)):
        for count, body in esc.by_count.items():
            label = f"{kind} {count}" if count else kind
            yield from _edges_of(name, body, label, kind, loop_if_falls_through=True)
    for kind, body in s.limit_exits.items():
        yield from _edges_of(name, body, f"{kind} exhausted", "exhausted")
    if s.exhausted is not None:
        yield from _edges_of(name, s.exhausted, "exhausted", "exhausted")
    elif exhausted_reachable(s.input, s.limit_exits):
        yield Edge(name, ERROR, "exhausted", "default")


__all__ = [
    "CALLBACK",
    "ERROR",
    "HANGUP",
    "RETURN",
    "TERMINALS",
    "TRANSFER",
    "Edge",
    "edge_key",
    "edges",
]
