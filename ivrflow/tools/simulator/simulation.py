"""The call as a phone sees it, and the scripted face of `ivrflow simulate`.

`Simulation` wraps a `Call` with what a phone shows (what is being collected, the keys
keyed so far, the running timeout); `run_script` plays one caller input per line;
`outcome_line` and `summary` are what both faces print at the end.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from ...runtime import actions as act
from ..scripted_caller import parse_input
from ..testing import Call, Line

if TYPE_CHECKING:
    from ...runtime.session import Session


def outcome_line(outcome: dict[str, Any] | None) -> str:
    """`outcome: transferred queue=billing` — the kind, then the details as key=value."""
    if outcome is None:
        return "outcome: none (the call has not ended)"
    parts = [f"outcome: {outcome.get('kind', 'error')}"]
    for key, value in outcome.items():
        if key == "kind" or value is None:
            continue
        text = str(value)
        if not text or re.search(r"[\s\"'=]", text):
            text = json.dumps(text, ensure_ascii=False)
        parts.append(f"{key}={text}")
    return " ".join(parts)


class Simulation:
    """A `Call` plus what a phone shows. Every caller action goes through `Call.step`."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.on_line: list[Callable[[Line], None]] = []  # told of every transcript line

    # what the caller does
    def start(self) -> list[Line]:
        return self._after(self.call.start())

    def step(self, text: str) -> list[Line]:
        """One caller input, as in a script: `1`, `123#`, `say …`, `wait`, `hangup`."""
        return self._after(self.call.step(text))

    def press(self, keys: str) -> list[Line]:
        return self.step(keys)

    def say(self, text: str) -> list[Line]:
        return self.step(f"say {text}")

    def wait(self) -> list[Line]:
        return self.step("wait")

    def hangup(self) -> list[Line]:
        return self.step("hangup")

    # what the phone shows
    @property
    def session(self) -> Session:
        return self.call.session

    @property
    def ended(self) -> bool:
        return self.call.ended

    @property
    def outcome(self) -> dict[str, Any] | None:
        return self.call.outcome

    @property
    def collect(self) -> act.Collect | None:
        """What is being collected (also half-way through an entry), or None."""
        return None if self.ended else self.call.listening

    @property
    def entry(self) -> str:
        """The keys collected so far in the current entry (masked when secure)."""
        keys = self.session.buffer if not self.ended else ""
        return "*" * len(keys) if self.collect is not None and self.collect.secure else keys

    def timer(self) -> tuple[str, float] | None:
        """The timeout that runs now: ("first digit", 5.0), ("inter-digit", 3.0) or None."""
        spec = self.collect
        if spec is None or self.ended:
            return None
        if self.session.buffer:
            return ("inter-digit", spec.interdigit)
        return ("first digit", spec.timeout)

    def _after(self, lines: list[Line]) -> list[Line]:
        for line in lines:
            for notify in self.on_line:
                notify(line)
        return lines


def run_script(sim: Simulation, lines: Iterable[str], source: str, err: TextIO) -> str | None:
    """Play the script; the caller hangs up when it runs out. Returns an error message for a
    bad line (the call is then left as it is), else None."""
    sim.start()
    for number, raw in enumerate(lines, 1):
        try:
            step = parse_input(raw)
        except ValueError as exc:
            return f"{source}:{number}: {exc}"
        if step is None:
            continue
        if sim.ended:
            if step != "hangup":
                err.write(f"{source}:{number}: note: the call has ended; the rest is ignored\n")
            break
        sim.step(step)
    if not sim.ended:
        sim.hangup()
    return None


def summary(sim: Simulation) -> Sequence[str]:
    """What the phone prints once the full screen is gone: transcript, record, outcome."""
    record = json.dumps(sim.call.record, indent=2, ensure_ascii=False, default=str)
    return [*(str(line) for line in sim.call.transcript), record, outcome_line(sim.outcome)]


__all__ = ["Simulation", "outcome_line", "parse_input", "run_script", "summary"]
