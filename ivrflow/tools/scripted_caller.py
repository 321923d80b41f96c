"""A scripted caller: a `Channel` that answers from a list of inputs, on a virtual clock.

Inputs are what a person would type: `1`, `123#` (keys), `say segunda via`
(speech), `wait` (let the timeout pass), `hangup`. Time moves as a phone call
would: prompts take the time to speak them, `wait` takes the collect timeout.
The same format feeds `ivrflow simulate` when standard input is not a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..runtime import actions as act
from ..runtime import events as ev
from ..runtime.events import TRANSFER_STATUSES

_KEYS = re.compile(r"[0-9*#]+")
_COMMENT = re.compile(r"(^|\s)#.*$")


def parse_input(line: str) -> str | None:
    """A script line as `Call.step` takes it, None for a blank or comment line.

    Keys alone (`1`, `123#`, `#`) are pressed; otherwise `#` at the start or after a
    space starts a comment. `press 123` is the same as `123`. ValueError on anything else.
    """
    text = line.strip()
    if not _KEYS.fullmatch(text):
        text = _COMMENT.sub("", text).strip()
    if not text:
        return None
    if _KEYS.fullmatch(text):
        return text
    word, _, rest = text.partition(" ")
    word, rest = word.lower(), rest.strip()
    if word == "say":
        if not rest:
            raise ValueError("'say' needs the caller's words, like: say segunda via")
        return f"say {rest}"
    if word == "record":
        if not rest:
            raise ValueError(
                "'record' needs the message's words, like: record Maria, sobre a fatura"
            )
        return f"record {rest}"
    if word == "press" and _KEYS.fullmatch(rest):
        return rest
    if word in ("wait", "hangup") and not rest:
        return word
    raise ValueError(
        f"unknown caller input '{text}': write keys (1, 123#, *), say WORDS, record WORDS, wait or hangup"
    )


SPEECH_RATE = 15.0  # characters per second of text-to-speech
TRANSFER_RESULTS = TRANSFER_STATUSES


@dataclass
class ScriptedChannel:
    inputs: list[str]
    at: float = 0.0
    transfer_result: str = "answered"
    transcript: list[str] = field(default_factory=list)
    hung_up: str | None = None

    @classmethod
    def from_lines(
        cls, lines: Iterable[str], at: float = 0.0, transfer_result: str = "answered"
    ) -> ScriptedChannel:
        """One input per line (see `parse_input`); blank lines and comments are skipped."""
        steps = [parse_input(line) for line in lines]
        return cls([s for s in steps if s is not None], at, transfer_result)

    def now(self) -> float:
        return self.at

    def _log(self, text: str) -> None:
        self.transcript.append(text)

    async def play(self, action: act.Say | act.Play) -> ev.Event | None:
        if isinstance(action, act.Say):
            self._log(f"ivr: {action.text}")
            self.at += max(1.0, len(action.text) / SPEECH_RATE)
        else:
            self._log(f"ivr: [plays {action.path}]")
            self.at += 3.0
        return None

    async def collect(self, action: act.Collect) -> ev.Event:
        if not self.inputs:  # the script ran out: the caller hangs up
            self._log("caller: (hangs up)")
            return ev.Hangup(self.at)
        line = self.inputs.pop(0)
        word, _, rest = line.partition(" ")
        if word == "wait":
            self.at += action.timeout
            self._log("caller: (silence)")
            return ev.NoInput(self.at)
        if word == "hangup":
            self._log("caller: (hangs up)")
            return ev.Hangup(self.at)
        if word == "say":
            self.at += 1.5
            self._log(f"caller says: {rest}")
            return ev.Utterance(self.at, rest, 1.0)
        self.at += 0.5 * len(line)
        self._log(f"caller presses: {line}")
        return ev.Digits(self.at, line, terminated=False)

    async def transfer(self, action: act.TransferToQueue | act.TransferToDestination) -> ev.Event:
        target = (
            action.queue if isinstance(action, act.TransferToQueue) else action.destination.text()
        )
        self._log(f"ivr: [transfers to {target}]")
        queued_at = self.at  # the prompts before it have played
        self.at += 1.0
        status = self.transfer_result if self.transfer_result in TRANSFER_RESULTS else "failed"
        if isinstance(action, act.TransferToDestination):
            return ev.TransferResult(self.at, status)  # type: ignore[arg-type]
        return ev.TransferResult(self.at, status, wait=1.0, queued_at=queued_at)  # type: ignore[arg-type]

    async def hangup(self, reason: str) -> None:
        self.hung_up = reason
        self._log(f"ivr: [hangs up: {reason}]")


__all__ = ["ScriptedChannel", "parse_input"]
