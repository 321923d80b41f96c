"""What a test run exercised: states entered and edges followed, per flow.

A `CoverageListener` attached to a session counts every state it enters and
every edge it follows (named like `flowgraph.edge_key`); `Coverage` merges the
counts of many calls per flow, prints the table `ivrflow test --coverage`
shows, and writes the JSON `ivrflow graph --coverage` reads:

    {"version": 1, "flows": {"flows/billing.ivr": {"states": {"main_menu": 12, …},
                                                  "edges": {"main_menu -> account [choice 1]": 3}}}}

Every state and every static edge of the flow appears, with 0 when never
exercised.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..runtime.record import Listener
from .flowgraph import edge_key, edges

if TYPE_CHECKING:
    from ..model import Flow
    from ..runtime.session import Session

VERSION = 1
MAX_LISTED = 15  # never-exercised items listed per flow, then "…"

# Edge kinds reported on their own lines, in this order (flowgraph.Edge.kind).
KIND_ROWS = (
    ("choice", "menu choices"),
    ("noinput", "no-input"),
    ("nomatch", "no-match"),
    ("exhausted", "exhausted"),
    ("error", "errors"),
    ("default", "defaults"),
)


def percent(covered: int, total: int) -> float:
    """Coverage in percent; an empty set counts as fully covered."""
    return 100.0 if total == 0 else 100.0 * covered / total


@dataclass
class FlowCoverage:
    """Counts for one flow: every state and static edge, 0 until exercised."""

    path: str
    states: dict[str, int] = field(default_factory=dict)
    edges: dict[str, int] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # edge key → Edge.kind
    unknown_edges: dict[str, int] = field(default_factory=dict)  # followed, not in the graph
    calls: int = 0

    @classmethod
    def of(cls, path: str, flow: Flow) -> FlowCoverage:
        cov = cls(path)
        cov.states = dict.fromkeys(flow.states, 0)
        for e in edges(flow):
            cov.edges[e.key] = 0
            cov.kinds[e.key] = e.kind
        return cov

    # -- counting
    def enter(self, state: str) -> None:
        self.states[state] = self.states.get(state, 0) + 1

    def follow(self, key: str) -> None:
        if key in self.edges:
            self.edges[key] += 1
        else:
            self.unknown_edges[key] = self.unknown_edges.get(key, 0) + 1

    def merge(self, other: FlowCoverage) -> None:
        for k, n in other.states.items():
            self.states[k] = self.states.get(k, 0) + n
        for k, n in other.edges.items():
            self.edges[k] = self.edges.get(k, 0) + n
        self.kinds.update(other.kinds)
        for k, n in other.unknown_edges.items():
            self.unknown_edges[k] = self.unknown_edges.get(k, 0) + n
        self.calls += other.calls

    # -- figures
    @property
    def states_covered(self) -> int:
        return sum(1 for n in self.states.values() if n)

    @property
    def edges_covered(self) -> int:
        return sum(1 for n in self.edges.values() if n)

    @property
    def state_percent(self) -> float:
        return percent(self.states_covered, len(self.states))

    @property
    def edge_percent(self) -> float:
        return percent(self.edges_covered, len(self.edges))

    def by_kind(self, kind: str) -> tuple[int, int]:
        keys = [k for k, v in self.kinds.items() if v == kind]
        return sum(1 for k in keys if self.edges.get(k)), len(keys)

    def missed(self) -> Iterator[tuple[str, str]]:
        """("state", name) and ("edge", key) never exercised, states first."""
        for name, n in self.states.items():
            if not n:
                yield "state", name
        for key, n in self.edges.items():
            if not n:
                yield "edge", key

    def as_json(self) -> dict[str, Any]:
        return {"states": dict(self.states), "edges": dict(self.edges)}

    def table(self, limit: int = MAX_LISTED) -> list[str]:
        def row(label: str, covered: int, total: int, width: int = 16) -> str:
            return f"{label:<{width}}{covered:>4}/{total:<4} {percent(covered, total):6.1f}%"

        out = [f"coverage of {self.path} ({self.calls} {'call' if self.calls == 1 else 'calls'})"]
        out.append("  " + row("states", self.states_covered, len(self.states)))
        out.append("  " + row("edges", self.edges_covered, len(self.edges)))
        for kind, label in KIND_ROWS:
            covered, total = self.by_kind(kind)
            if total:
                out.append("    " + row(label, covered, total, 14))
        missed = list(self.missed())
        if missed:
            out.append(f"  never exercised ({len(missed)}):")
            for what, name in missed[:limit]:
                out.append(f"    {what:<6} {name}")
            if len(missed) > limit:
                out.append(f"    … {len(missed) - limit} more")
        return out


class CoverageListener(Listener):
    """Counts what one call does into a `FlowCoverage`."""

    def __init__(self, coverage: FlowCoverage) -> None:
        self.coverage = coverage

    def state_entered(self, session: Session, state: str, at: float) -> None:
        self.coverage.enter(state)

    def edge(self, session: Session, source: str, target: str, label: str) -> None:
        self.coverage.follow(edge_key(source, target, label))

    def ended(self, session: Session, record: dict[str, Any]) -> None:
        self.coverage.calls += 1


class Coverage:
    """Coverage of many calls over many flows, keyed by the flow's path."""

    def __init__(self) -> None:
        self.flows: dict[str, FlowCoverage] = {}

    def for_flow(self, path: str, flow: Flow) -> FlowCoverage:
        if path not in self.flows:
            self.flows[path] = FlowCoverage.of(path, flow)
        return self.flows[path]

    def listener(self, path: str, flow: Flow) -> CoverageListener:
        return CoverageListener(self.for_flow(path, flow))

    def merge(self, other: Coverage) -> None:
        for path, cov in other.flows.items():
            if path in self.flows:
                self.flows[path].merge(cov)
            else:
                self.flows[path] = cov

    def table(self, limit: int = MAX_LISTED) -> str:
        blocks = ["\n".join(self.flows[p].table(limit)) for p in sorted(self.flows)]
        return "\n\n".join(blocks)

    def below(self, minimum: float) -> list[str]:
        """One line per flow whose state or edge coverage is under `minimum` percent."""
        out = []
        for path in sorted(self.flows):
            cov = self.flows[path]
            low = [
                f"{what} {value:.1f}%"
                for what, value in (("states", cov.state_percent), ("edges", cov.edge_percent))
                if value < minimum
            ]
            if low:
                out.append(f"coverage of {path} is below {minimum:g}%: {', '.join(low)}")
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "flows": {p: self.flows[p].as_json() for p in sorted(self.flows)},
        }

    def write(self, path: str | Path) -> None:
        text = json.dumps(self.as_json(), indent=2, ensure_ascii=False)
        Path(path).write_text(text + "\n", encoding="utf-8")


def load_json(path: str | Path) -> dict[str, Any]:
    """Read a coverage file (as `ivrflow graph --coverage` does); checks the version."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError(f"{path}: not an ivrflow coverage file (version {VERSION})")
    flows = data.get("flows")
    if not isinstance(flows, dict):
        raise ValueError(f"{path}: no flows in the coverage file")
    return data


__all__ = [
    "KIND_ROWS",
    "MAX_LISTED",
    "VERSION",
    "Coverage",
    "CoverageListener",
    "FlowCoverage",
    "load_json",
    "percent",
]
