"""A flow as a diagram: Mermaid and Graphviz DOT text, SVG and PNG through Graphviz's `dot`.

The diagram is drawn from `flowgraph.edges(flow)` (the same edges test coverage
counts) and the model (node shapes, menu keys and phrases):

- a node per state, shaped by its kind (step, menu, capture, lookup, transfer,
  callback offer); the entry state has a thick border;
- where the call ends, a small terminal node beside the state that ends it,
  shaped and coloured by outcome: transferred, callback scheduled, hang up,
  error (the documented default of a missing `exhausted`/`error` branch), return;
- an edge per way out; a menu choice is labelled with its keys and first
  phrase (`1 / "segunda via" / …`); no-input, no-match, exhausted, error and
  default edges are dashed or dotted and coloured apart; parallel edges of the
  same kind (`noinput 1`, `noinput 2`; `busy`, `full`) are drawn as one
  (`noinput 1, 2`), menu choices never are.

With coverage counts (the JSON `ivrflow test --coverage-file` writes), states
and terminals that calls reached are green, the others red; edges are green
when followed, red when never, orange when only some of the edges drawn as one
were. Output is deterministic: states in source order, edges in
`flowgraph.edges` order, ids derived from the names.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import model
from .flowgraph import CALLBACK, ERROR, HANGUP, RETURN, TRANSFER, Edge, edges

FORMATS = ("mermaid", "dot", "svg", "png")
DOT_MISSING = "Graphviz's dot is not installed: apt-get install graphviz (or use --format mermaid)"

MAX_PHRASE = 20  # a longer phrase is cut with "…" on its edge
DOT_TIMEOUT = 120.0  # seconds `dot` may take

KEYS = frozenset("0123456789*#")

STATE_KINDS = model.STATE_KINDS

# Pseudo-target → (the terminal node's text, the outcome it stands for).
TERMINALS: Mapping[str, tuple[str, str]] = {
    TRANSFER: ("transferred", "transferred"),
    CALLBACK: ("callback scheduled", "callback_scheduled"),
    HANGUP: ("hang up", "self_served"),
    ERROR: ("error", "error"),
    RETURN: ("return", "return"),
}

# Edge kinds drawn dashed or dotted, and coloured apart: kind → (DOT style, colour, dashes).
SPECIAL_EDGES: Mapping[str, tuple[str, str, str]] = {
    "noinput": ("dashed", "#3b6fb6", "6 3"),
    "nomatch": ("dotted", "#c26a12", "2 3"),
    "exhausted": ("dashed", "#8e44ad", "9 3"),
    "error": ("dashed", "#c0392b", "6 3"),
    "default": ("dotted", "#7f8c8d", "2 3"),
}

# Node kind → (fill, border).
NODE_COLOURS: Mapping[str, tuple[str, str]] = {
    "step": ("#f5f7fa", "#5b6b7f"),
    "menu": ("#e3f0ff", "#2f6fb3"),
    "capture": ("#fff4d6", "#b7860b"),
    "lookup": ("#e0f2f1", "#00897b"),
    "transfer": ("#ede7f6", "#5e35b1"),
    "callback": ("#fce4ec", "#ad1457"),
    "record": ("#fff3e0", "#e65100"),
    "transferred": ("#bbdefb", "#1565c0"),
    "callback_scheduled": ("#e1bee7", "#6a1b9a"),
    "self_served": ("#c8e6c9", "#2e7d32"),
    "error": ("#ffcdd2", "#c62828"),
    "return": ("#eeeeee", "#757575"),
}

# Coverage status → (fill, border / edge colour).
COVERAGE_COLOURS: Mapping[str, tuple[str, str]] = {
    "hit": ("#c8e6c9", "#2e7d32"),
    "miss": ("#ffcdd2", "#c62828"),
    "partial": ("#ffe0b2", "#ef6c00"),
}
TEXT_COLOUR = "#1a1a1a"
EDGE_COLOUR = "#555555"


class GraphvizMissing(RuntimeError):
    """`dot` is not on the PATH."""


class GraphvizFailed(RuntimeError):
    """`dot` ran and failed."""


# ---------------------------------------------------------------- the diagram


@dataclass(frozen=True, slots=True)
class CoverageCounts:
    """How often a test run entered each state and followed each edge (by `Edge.key`)."""

    states: Mapping[str, int]
    edges: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Node:
    key: str  # a state's name, or "<state> (hangup)" for a terminal beside it
    id: str  # safe in Mermaid: s_<state>, t_<state>_<terminal>
    kind: str  # a STATE_KINDS value, or a terminal's outcome
    label: str
    detail: str  # a second, smaller line ("" for none)
    terminal: bool
    entry: bool
    count: int | None  # times reached; None without coverage

    @property
    def status(self) -> str | None:
        return None if self.count is None else ("hit" if self.count else "miss")


@dataclass(frozen=True, slots=True)
class Link:
    source: Node
    target: Node
    kind: str  # flowgraph.Edge.kind
    label: str
    keys: tuple[str, ...]  # the flowgraph edge keys this link draws
    counts: tuple[int, ...] | None  # per key; None without coverage

    @property
    def status(self) -> str | None:
        if self.counts is None:
            return None
        hit = sum(1 for n in self.counts if n)
        return "hit" if hit == len(self.counts) else "miss" if not hit else "partial"


@dataclass(frozen=True, slots=True)
class Diagram:
    name: str
    title: str | None
    nodes: tuple[Node, ...]
    links: tuple[Link, ...]
    coverage: tuple[int, int, int, int] | None  # states hit, states, edges hit, edges

    @property
    def heading(self) -> str:
        return f'flow {self.name} "{self.title}"' if self.title else f"flow {self.name}"

    @property
    def coverage_line(self) -> str | None:
        if self.coverage is None:
            return None
        sh, st, eh, et = self.coverage
        return f"coverage: {sh}/{st} states, {eh}/{et} edges"


def build(flow: model.Flow, coverage: CoverageCounts | None = None) -> Diagram:
    """The nodes and links `mermaid` and `dot` draw, in a stable order."""
    from ..model import choice_label

    all_edges = edges(flow)
    counts = coverage.edges if coverage is not None else None
    nodes: dict[str, Node] = {}
    for name, state in flow.states.items():
        nodes[name] = _state_node(name, state, name == flow.start, coverage)
    for e in all_edges:  # a call target outside the flow's states cannot compile; be safe
        if e.target not in TERMINALS and e.target not in nodes:
            nodes[e.target] = Node(
                e.target, _safe_id("s_", e.target), "step", e.target, "", False, False, None
            )

    choices: dict[tuple[str, str], model.Choice] = {}
    for name, state in flow.states.items():
        if isinstance(state, model.Menu):
            for c in state.choices:
                choices.setdefault((name, choice_label(c)), c)

    terminals: dict[str, Node] = {}
    groups: dict[tuple[str, str, str, int], list[Edge]] = {}
    for i, e in enumerate(all_edges):
        target = e.target if e.target not in TERMINALS else f"{e.source} {e.target}"
        if e.target in TERMINALS and target not in terminals:
            text, outcome = TERMINALS[e.target]
            terminals[target] = Node(
                target,
                _safe_id("t_", e.source) + "_" + e.target.strip("()"),
                outcome,
                text,
                "",
                True,
                False,
                None,
            )
        # Menu choices stay one edge each; other parallel edges of one kind are drawn as one.
        group = (e.source, target, e.kind, i if e.kind == "choice" else -1)
        groups.setdefault(group, []).append(e)

    links: list[Link] = []
    reached: dict[str, int] = {}
    for (source, target, kind, _), group_edges in groups.items():
        keys = tuple(e.key for e in group_edges)
        link_counts = tuple(counts.get(k, 0) for k in keys) if counts is not None else None
        if link_counts is not None:
            reached[target] = reached.get(target, 0) + sum(link_counts)
        label = _merge_labels([_edge_label(flow, e, choices) for e in group_edges])
        links.append(
            Link(
                nodes[source],
                nodes.get(target) or terminals[target],
                kind,
                label,
                keys,
                link_counts,
            )
        )
    if coverage is not None:
        terminals = {k: _with_count(n, reached.get(k, 0)) for k, n in terminals.items()}
        links = [
            Link(
                link.source,
                terminals.get(link.target.key, link.target),
                link.kind,
                link.label,
                link.keys,
                link.counts,
            )
            for link in links
        ]
    summary = None
    if coverage is not None:
        state_counts = [n.count or 0 for n in nodes.values()]
        edge_counts = [counts.get(e.key, 0) for e in all_edges] if counts is not None else []
        summary = (
            sum(1 for n in state_counts if n),
            len(state_counts),
            sum(1 for n in edge_counts if n),
            len(edge_counts),
        )
    return Diagram(
        flow.name,
        flow.title,
        (*nodes.values(), *terminals.values()),
        tuple(links),
        summary,
    )


def _with_count(node: Node, count: int) -> Node:
    return Node(
        node.key, node.id, node.kind, node.label, node.detail, node.terminal, node.entry, count
    )


def _state_node(
    name: str, state: model.State, entry: bool, coverage: CoverageCounts | None
) -> Node:
    kind = STATE_KINDS[type(state)]
    count = coverage.states.get(name, 0) if coverage is not None else None
    return Node(name, _safe_id("s_", name), kind, name, _detail(state), False, entry, count)


def _detail(state: model.State) -> str:
    """A short second line: what the state does, where the name does not say it."""
    if isinstance(state, model.Capture) and state.words is not None:
        low, high = state.words
        return f"free speech, {low}..{high} words"
    if isinstance(state, model.Capture):
        n = (
            str(state.min_digits)
            if state.min_digits == state.max_digits
            else f"{state.min_digits}..{state.max_digits}"
        )
        return f"{n} digits, secure" if state.secure else f"{n} digits"
    if isinstance(state, model.Lookup):
        return f"{state.function}()"
    if isinstance(state, model.Transfer):
        return _transfer_detail(state)
    if isinstance(state, model.CallbackOffer):
        return f"queue {state.queue}"
    return ""


def _transfer_detail(state: model.Transfer) -> str:
    """`queue billing`, `queue billing / sales` (chosen at run time), `sip sip:…`."""
    if state.to_queue:
        return "queue " + " / ".join(state.queues) if state.queues else "queue ?"
    dest = state.destination
    shown = dest.value if isinstance(dest, model.Const) else "(at run time)"
    return f"{state.kind} {shown}"


def _safe_id(prefix: str, name: str) -> str:
    """An id Mermaid cannot mistake for a keyword (end, class, …) or an arrow: s_main_menu."""
    return prefix + re.sub(r"[^A-Za-z0-9_]", lambda m: f"_{ord(m.group()):x}_", name)


def _clip(text: str, limit: int = MAX_PHRASE) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def choice_text(keys: Sequence[str], phrases: Sequence[str]) -> str:
    """`1 / "segunda via" / …`: the keys, the first phrase (two without keys), then "…"."""
    shown = list(phrases[:1] if keys else phrases[:2])
    parts = [*keys, *(f'"{_clip(p)}"' for p in shown)]
    if len(phrases) > len(shown):
        parts.append("…")
    return " / ".join(parts)


def _edge_label(flow: model.Flow, e: Edge, choices: Mapping[tuple[str, str], model.Choice]) -> str:
    if e.kind == "choice" and (e.source, e.label) in choices:
        c = choices[(e.source, e.label)]
        return choice_text((*c.keys, *(s.label for s in c.sequences)), c.phrases)
    state = flow.states.get(e.source)
    if e.target == CALLBACK and isinstance(state, model.CallbackOffer):
        keys = [a for a in state.accept if a in KEYS]
        return choice_text(keys, [a for a in state.accept if a not in KEYS])
    return e.label


def _merge_labels(labels: Sequence[str]) -> str:
    """'noinput 1' + 'noinput 2' → 'noinput 1, 2'; 'busy' + 'full' → 'busy / full'."""
    unique = [label for label in dict.fromkeys(labels) if label]
    split = [label.rsplit(" ", 1) for label in unique]
    if (
        len(unique) > 1
        and all(len(s) == 2 and s[1].isdigit() for s in split)
        and len({s[0] for s in split}) == 1
    ):
        return f"{split[0][0]} {', '.join(s[1] for s in split)}"
    return " / ".join(unique)


# ---------------------------------------------------------------- Mermaid

_MERMAID_SHAPES: Mapping[str, tuple[str, str]] = {
    "step": ("[", "]"),
    "menu": ("{{", "}}"),
    "capture": ("[/", "/]"),
    "lookup": ("[(", ")]"),
    "transfer": ("[[", "]]"),
    "callback": ("[/", "\\]"),
    "record": ("[\\", "/]"),
    "transferred": ("([", "])"),
    "callback_scheduled": ("([", "])"),
    "self_served": ("((", "))"),
    "error": (">", "]"),
    "return": ("((", "))"),
}
_MERMAID_ENTITIES = {
    "#": "#35;",
    '"': "#quot;",
    "&": "#amp;",
    "<": "#lt;",
    ">": "#gt;",
    "|": "#124;",
    "`": "#96;",
}


def mermaid_escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label: # " & < > | ` as entity codes."""
    return "".join(_MERMAID_ENTITIES.get(ch, ch) for ch in text)


def _mermaid_label(node: Node) -> str:
    text = mermaid_escape(node.label)
    return text + "<br/>" + mermaid_escape(node.detail) if node.detail else text


def _mermaid_class(node: Node) -> str:
    status = node.status
    if status is not None:
        return f"cov_{status}"
    return ("end_" if node.terminal else "kind_") + node.kind


def _mermaid_classdef(name: str) -> str:
    if name == "entry":
        return "stroke-width:3px"
    if name.startswith("cov_"):
        fill, border = COVERAGE_COLOURS[name[4:]]
    else:
        fill, border = NODE_COLOURS[name.split("_", 1)[1]]
    return f"fill:{fill},stroke:{border},color:{TEXT_COLOUR}"


def _mermaid_link_style(link: Link) -> str | None:
    special = SPECIAL_EDGES.get(link.kind)
    status = link.status
    if status is not None:
        colour = COVERAGE_COLOURS[status][1]
        style = f"stroke:{colour},color:{colour}"
        if status == "hit":
            style += ",stroke-width:2px"
    elif special is not None:
        style = f"stroke:{special[1]},color:{special[1]}"
    else:
        return None
    if special is not None:
        style += f",stroke-dasharray:{special[2]}"
    return style


def mermaid(flow: model.Flow, coverage: CoverageCounts | None = None) -> str:
    """`flowchart TD` text that GitHub and other Markdown viewers render."""
    d = build(flow, coverage)
    lines = ["flowchart TD", f"    %% {d.heading}, drawn by ivrflow graph"]
    if d.coverage_line:
        lines.append(f"    %% {d.coverage_line}")
    for node in d.nodes:
        left, right = _MERMAID_SHAPES[node.kind]
        lines.append(f'    {node.id}{left}"{_mermaid_label(node)}"{right}')
    styles: dict[str, list[int]] = {}
    for i, link in enumerate(d.links):
        arrow = "==>" if link.kind == "call" else "-.->" if link.kind in SPECIAL_EDGES else "-->"
        text = f'|"{mermaid_escape(link.label)}"|' if link.label else ""
        lines.append(f"    {link.source.id} {arrow}{text} {link.target.id}")
        style = _mermaid_link_style(link)
        if style is not None:
            styles.setdefault(style, []).append(i)
    classes: dict[str, list[str]] = {}
    for node in d.nodes:
        classes.setdefault(_mermaid_class(node), []).append(node.id)
    entry = [n.id for n in d.nodes if n.entry]
    if entry:
        classes["entry"] = entry
    for name in classes:
        lines.append(f"    classDef {name} {_mermaid_classdef(name)}")
    for name, ids in classes.items():
        lines.append(f"    class {','.join(ids)} {name}")
    for style, indexes in styles.items():
        lines.append(f"    linkStyle {','.join(map(str, indexes))} {style}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- Graphviz DOT

_DOT_SHAPES: Mapping[str, str] = {
    "step": 'shape=box, style="rounded,filled"',
    "menu": "shape=hexagon",
    "capture": "shape=parallelogram",
    "lookup": "shape=cylinder",
    "transfer": "shape=box, peripheries=2",
    "callback": "shape=trapezium",
    "record": "shape=invtrapezium",
    "transferred": 'shape=box, style="rounded,filled", fontsize=9',
    "callback_scheduled": 'shape=box, style="rounded,filled", fontsize=9',
    "self_served": "shape=circle, fontsize=9, margin=0",
    "error": "shape=octagon, fontsize=9, margin=0",
    "return": "shape=circle, fontsize=9, margin=0",
}
_FONT = "Helvetica,Arial,sans-serif"


def dot_quote(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as \\n."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _attrs(pairs: Sequence[tuple[str, str]]) -> str:
    return ", ".join(f"{k}={v}" for k, v in pairs)


def _dot_node(node: Node) -> str:
    status = node.status
    fill, border = COVERAGE_COLOURS[status] if status else NODE_COLOURS[node.kind]
    label = f"{node.label}\n{node.detail}" if node.detail else node.label
    what = f"{node.kind} {node.label}" if not node.terminal else f"{node.key}"
    if node.count is not None:
        what += f": reached {node.count}×"
    pairs = [
        ("label", dot_quote(label)),
        ("fillcolor", dot_quote(fill)),
        ("color", dot_quote(border)),
        ("tooltip", dot_quote(what)),
    ]
    if node.entry:
        pairs.append(("penwidth", "2.5"))
    return f"  {dot_quote(node.key)} [{_DOT_SHAPES[node.kind]}, {_attrs(pairs)}];"


def _dot_link(link: Link) -> str:
    pairs: list[tuple[str, str]] = []
    if link.label:
        pairs.append(("label", dot_quote(link.label)))
    special = SPECIAL_EDGES.get(link.kind)
    colour = special[1] if special else None
    status = link.status
    if status is not None:
        colour = COVERAGE_COLOURS[status][1]
    if special is not None:
        pairs.append(("style", special[0]))
    elif link.kind == "call":
        pairs.append(("style", "bold"))
    if colour is not None:
        pairs += [("color", dot_quote(colour)), ("fontcolor", dot_quote(colour))]
    if status == "hit":
        pairs.append(("penwidth", "2"))
    if link.kind == "nomatch" and link.source.key == link.target.key:
        # Loops stack on the right with their labels overlapping: no-match loops go left.
        pairs += [("tailport", "w"), ("headport", "w")]
    tips = [
        f"{key}: {n}×" if link.counts is not None else key
        for key, n in zip(link.keys, link.counts or [0] * len(link.keys), strict=True)
    ]
    pairs.append(("tooltip", dot_quote("\n".join(tips))))
    return f"  {dot_quote(link.source.key)} -> {dot_quote(link.target.key)} [{_attrs(pairs)}];"


def dot(flow: model.Flow, coverage: CoverageCounts | None = None) -> str:
    """Graphviz DOT text; `render` turns it into SVG or PNG."""
    d = build(flow, coverage)
    title = f"{d.name} — {d.title}" if d.title else d.name
    if d.coverage_line:
        title += "\n" + d.coverage_line
    lines = [
        f"// {d.heading}, drawn by ivrflow graph",
        f"digraph {dot_quote(d.name)} {{",
        f"  graph [label={dot_quote(title)}, labelloc=t, fontname={dot_quote(_FONT)}, "
        "fontsize=12, rankdir=TB, nodesep=0.35, ranksep=0.45];",
        f"  node [fontname={dot_quote(_FONT)}, fontsize=10, style=filled, "
        f"fontcolor={dot_quote(TEXT_COLOUR)}];",
        f"  edge [fontname={dot_quote(_FONT)}, fontsize=9, arrowsize=0.7, "
        f"color={dot_quote(EDGE_COLOUR)}];",
    ]
    lines += [_dot_node(n) for n in d.nodes]
    lines += [_dot_link(link) for link in d.links]
    lines.append("}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- SVG and PNG


def render(dot_text: str, fmt: str) -> bytes:
    """SVG or PNG bytes from DOT text, by running Graphviz's `dot`.

    Raises GraphvizMissing when `dot` is not on the PATH, GraphvizFailed when it fails.
    """
    if fmt not in ("svg", "png"):
        raise ValueError(f"render makes svg or png, not {fmt!r}")
    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizMissing(DOT_MISSING)
    try:
        proc = subprocess.run(
            [exe, f"-T{fmt}"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GraphvizFailed(f"Graphviz's dot failed: {exc}") from exc
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = detail[0] if detail else f"exit status {proc.returncode}"
        raise GraphvizFailed(f"Graphviz's dot failed: {reason}")
    return proc.stdout


# ---------------------------------------------------------------- coverage files


def select_coverage(data: Mapping[str, Any], flow_path: str) -> CoverageCounts:
    """The counts for `flow_path` in a coverage file's data (see `coverage.load_json`).

    Flows are keyed by the path `ivrflow test` was given; this matches the same
    path, the same file (resolved against the working directory), or else the
    only flow with the same file name. Raises ValueError naming what it has.
    """
    flows = data.get("flows")
    if not isinstance(flows, Mapping):
        raise ValueError("no flows in the coverage file")
    wanted = Path(flow_path)
    match = flows.get(flow_path)
    if match is None:
        same = [k for k in flows if _same_file(Path(k), wanted)]
        if not same:
            same = [k for k in flows if Path(k).name == wanted.name]
        if len(same) == 1:
            match = flows[same[0]]
    if match is None:
        have = ", ".join(sorted(map(str, flows))) or "none"
        raise ValueError(f"no coverage for {flow_path} (it has: {have})")
    if not isinstance(match, Mapping):
        raise ValueError(f"the coverage of {flow_path} is not an object")
    states = _counts(match.get("states"), "states", flow_path)
    edge_counts = _counts(match.get("edges"), "edges", flow_path)
    return CoverageCounts(states, edge_counts)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _counts(value: object, what: str, flow_path: str) -> dict[str, int]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(n, int) and not isinstance(n, bool)
        for k, n in value.items()
    ):
        raise ValueError(f"the {what} of {flow_path} are not counts by name")
    return dict(value)


def stale(flow: model.Flow, coverage: CoverageCounts) -> tuple[list[str], list[str]]:
    """States and edge keys of the flow the coverage does not mention (an older flow?)."""
    states = [s for s in flow.states if s not in coverage.states]
    keys = [e.key for e in edges(flow) if e.key not in coverage.edges]
    return states, keys


__all__ = [
    "DOT_MISSING",
    "FORMATS",
    "CoverageCounts",
    "Diagram",
    "GraphvizFailed",
    "GraphvizMissing",
    "Link",
    "Node",
    "build",
    "choice_text",
    "dot",
    "dot_quote",
    "mermaid",
    "mermaid_escape",
    "render",
    "select_coverage",
    "stale",
]
