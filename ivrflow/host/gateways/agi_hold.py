"""The in-queue flow behind Asterisk: queues.conf written from the flows' `while waiting:`.

Asterisk keeps a queued caller in `Queue()` and plays the in-queue experience itself — the
music class, `periodic-announce` (the flow's message, rendered to a sound file once),
`announce-position` / `announce-holdtime` every `announce-frequency` seconds, and a key that
exists in the queue's `context` takes the caller out (read back by agi_queue as the key
of the flow). Doing it there keeps the caller's place and Asterisk's own wait clock: a
gateway-driven loop (Queue() with a short timeout, then in again with `position`) takes the
caller out of the queue for every announcement, and QEHOLDTIME restarts each time.

`ivrflow asterisk queues FLOWS` prints one ``[queue](+)`` section per queue a flow waits in:
appended to the queue's own definition (members, strategy stay the operator's) when the
file is ``#include``d after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from ... import model
from ...model import prompts
from ...runtime import actions as act

Render = Callable[[act.Say], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Waiting:
    """One queue transfer's in-queue flow: where it is written, and its queue."""

    flow: str
    state: str
    queue: str
    hold: model.Hold
    language: str


def waits(flows: Iterable[model.Flow]) -> list[Waiting]:
    out: list[Waiting] = []
    for flow in flows:
        for state in flow.states.values():
            if isinstance(state, model.Transfer) and state.hold is not None:
                for queue in state.queues:
                    out.append(
                        Waiting(flow.name, state.name, queue, state.hold, flow.settings.language)
                    )
    return out


def _texts(w: Waiting) -> list[str] | str:
    """The message's texts in the flow's language, or why Asterisk cannot play it."""
    out: list[str] = []
    for stmt in w.hold.message:
        if isinstance(stmt, model.Play):
            return f"{w.flow}.{w.state}: 'play' in 'while waiting' is not rendered for Asterisk"
        if isinstance(stmt, model.Say):
            text = prompts.in_language(stmt.text, w.language) or ""
            if "{{" in text or "{%" in text:
                return (
                    f"{w.flow}.{w.state}: the message is a template; Asterisk's periodic "
                    "announcement is the same for every caller"
                )
            out.append(text)
    return out


async def queues_conf(
    flows: Iterable[model.Flow], render: Render, exit_context: str = "ivrflow-queue-exit"
) -> tuple[str, list[str]]:
    """The queues.conf sections and the problems that kept one out (a queue two flows hold
    differently, a message Asterisk cannot play the same to every caller, no audio)."""
    by_queue: dict[str, Waiting] = {}
    problems: list[str] = []
    for w in waits(flows):
        first = by_queue.get(w.queue)
        if first is None:
            by_queue[w.queue] = w
        elif _settings(first) != _settings(w):
            problems.append(
                f"queue {w.queue}: {w.flow}.{w.state} waits differently from "
                f"{first.flow}.{first.state}; queues.conf has one in-queue experience per queue"
            )
    lines = ["; Written by `ivrflow asterisk queues`: #include it after the queues it extends."]
    for queue, w in sorted(by_queue.items()):
        texts = _texts(w)
        if isinstance(texts, str):
            problems.append(texts)
            continue
        sounds: list[str] = []
        if texts:  # one announcement: Asterisk rotates a list of files, one per period
            sound = await render(act.Say(" ".join(texts), w.language))
            if sound is None:
                problems.append(f"{w.flow}.{w.state}: no audio for the message (espeak-ng, sox)")
                continue
            sounds.append(sound)
        lines += ["", f"; {w.flow}.{w.state}", *section(queue, w.hold, sounds, exit_context)]
    return "\n".join(lines) + "\n", problems


def _settings(w: Waiting) -> tuple[object, ...]:
    h = w.hold
    return (h.music, h.every, h.announce, _texts(w), tuple(h.keys))


def section(queue: str, hold: model.Hold, sounds: list[str], exit_context: str) -> list[str]:
    every = max(1, round(hold.every))
    out = [f"[{queue}](+)"]
    if hold.music:
        out.append(f"musicclass = {hold.music}")
    if hold.announce:
        out += [
            f"announce-frequency = {every}",
            f"min-announce-frequency = {every}",
            f"announce-position = {'yes' if 'position' in hold.announce else 'no'}",
            f"announce-holdtime = {'yes' if 'ewt' in hold.announce else 'no'}",
        ]
    if sounds:
        out += [f"periodic-announce = {sounds[0]}", f"periodic-announce-frequency = {every}"]
    if hold.keys:
        out.append(f"context = {exit_context}")  # a key with an extension there leaves
    return out


__all__ = ["Waiting", "queues_conf", "section", "waits"]
