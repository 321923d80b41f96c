"""Writing an exploration out: the text tree, the summary, JSON, and one scenario YAML
per ended path (for `ivrflow test`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ...runtime.record import TRANSFER_TARGETS
from .fmt import _public_outcome
from .tree import DEPTH, ENDED, JOINED, LOOP, STOPPED, STUCK, Decisions, Exploration, Node, Setup

# ---------------------------------------------------------------- output


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
    for key in ("reason", *TRANSFER_TARGETS):
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
