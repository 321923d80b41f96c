"""A violation written back as a scenario YAML: the format `ivrflow test` reads.

The file holds the call's setup (`call:`), every caller step, and an `expect:` that holds
when the invariant does — so `ivrflow test FILE` fails on it the way the fuzzer did, for
the invariants a scenario can state (the call ends; no Python error in the record). For
the others (a secret seen in clear, a snapshot that does not round-trip) the scenario
replays the call and `ivrflow fuzz --replay FILE` checks every invariant on it again.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .callers import CallerStep
from .faults import Setup

__all__ = ["scenario_steps", "scenario_yaml", "write"]


def scenario_steps(steps: Sequence[CallerStep]) -> list[Any]:
    out: list[Any] = []
    for kind, value in steps:
        if kind in ("wait", "hangup"):
            out.append(kind)
        elif kind == "press":
            out.append({"press": str(value)})
        else:
            text, confidence = value
            out.append(
                {"say": text if confidence >= 1.0 else {"text": text, "confidence": confidence}}
            )
    return out


def _expect(invariant: str, observed: dict[str, Any]) -> dict[str, Any]:
    if invariant == "no-internal-error":
        return {"record": {"errors": observed.get("clean_errors", [])}}
    if invariant in ("ends-when-silent", "not-stalled", "no-crash"):
        return {"ended": True}
    return {"ended": bool(observed.get("ended", True))}


def scenario_yaml(
    *,
    flow_path: str,
    setup: Setup,
    steps: Sequence[CallerStep],
    seed: int,
    call: int,
    invariant: str,
    message: str,
    observed: dict[str, Any],
) -> str:
    """The scenario text; `flow_path` as it should appear in the file (relative to it)."""
    import yaml

    header = [
        f"# ivrflow fuzz: seed={seed} call={call} {invariant}",
        *(f"#   {line}" for line in message.splitlines()[:6]),
        "# Replay: ivrflow test THIS_FILE; every invariant: ivrflow fuzz --replay THIS_FILE",
    ]
    doc = {
        "flow": flow_path,
        "name": f"fuzz seed {seed} call {call}: {invariant}",
        "call": setup.as_scenario_call(),
        "steps": scenario_steps(steps),
        "expect": _expect(invariant, observed),
    }
    body = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(header) + "\n" + body


def write(directory: str | Path, name: str, text_for: Any, flow_file: str) -> Path:
    """Write a scenario into `directory`; `text_for(flow_path)` makes its text, given the
    flow's path relative to the file."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    target = d / name
    rel = os.path.relpath(Path(flow_file).resolve(), d.resolve())
    target.write_text(text_for(Path(rel).as_posix()), encoding="utf-8")
    return target
