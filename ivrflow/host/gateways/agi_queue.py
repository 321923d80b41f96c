"""The queue leg behind Asterisk: `Queue()` for a transfer, and how the wait ended.

Queue(name,options,URL,announceoverride,timeout,…) with the server's options and the flow's
maximum wait as the timeout; then QUEUESTATUS (TIMEOUT, FULL, JOINEMPTY …), an agent
(MEMBERINTERFACE, queues.conf ``setinterfacevar = yes``) with the wait from QEHOLDTIME
(``setqueueentryvar = yes``), the caller's hang-up while queued (abandoned in the queue), or a
key that took them to the queue's exit context (``context = ivrflow-queue-exit``: left for a
callback). The wait is the gateway's own clock unless Asterisk said the hold time.
"""

from __future__ import annotations

from typing import Protocol

from ...runtime import actions as act
from ...runtime import events as ev
from . import agi_protocol as agi

QUEUE_STATUS: dict[str, ev.TransferStatus] = {
    "TIMEOUT": "noanswer",
    "FULL": "full",
    "JOINEMPTY": "busy",
    "LEAVEEMPTY": "busy",
    "JOINUNAVAIL": "busy",
    "LEAVEUNAVAIL": "busy",
    "CONTINUE": "answered",
}


class CallerHungUp(Exception):
    """The channel is gone: Asterisk said so (HANGUP, result=-1, 511) or closed the socket."""


class QueueSettings(Protocol):
    @property
    def queue_options(self) -> str: ...
    @property
    def queue_exit_context(self) -> str | None: ...


class Line(Protocol):
    """What the queue needs of the AGI connection."""

    @property
    def hung_up(self) -> bool: ...
    async def send(self, line: bytes, *, dead_ok: bool = False) -> agi.Reply: ...


class QueueChannel(Protocol):
    @property
    def conn(self) -> Line: ...
    @property
    def config(self) -> QueueSettings: ...
    def now(self) -> float: ...
    async def variable(self, name: str) -> str: ...


def queue_args(queue: str, options: str, max_wait: float | None) -> str:
    """Queue(name,options,URL,announceoverride,timeout,…): the server's options after the
    name, the flow's maximum wait (whole seconds, at least 1) as the timeout."""
    parts = options.split(",") if options else []
    if max_wait is not None:
        parts += [""] * (4 - len(parts))
        parts[3] = str(max(1, round(max_wait)))
    return ",".join([queue, *parts]) if parts else queue


async def run_queue(ch: QueueChannel, action: act.TransferToQueue) -> ev.Event:
    """Queue(), then how the wait ended (see the module's docstring)."""
    await ch.conn.send(agi.set_variable("QUEUE_PRIO", str(action.priority)))
    await ch.conn.send(agi.set_variable("IVRFLOW_SKILLS", ",".join(action.skills)))
    args = queue_args(action.queue, ch.config.queue_options, action.max_wait)
    queued_at = ch.now()
    hung_up = False
    try:
        await ch.conn.send(agi.exec_app("Queue", args), dead_ok=True)
    except CallerHungUp:
        hung_up = True
    hung_up = hung_up or ch.conn.hung_up
    waited = round(ch.now() - queued_at, 3)
    status = (await ch.variable("QUEUESTATUS")).upper()
    if status in QUEUE_STATUS:
        never_in = status in ("FULL", "JOINEMPTY", "JOINUNAVAIL")
        wait = 0.0 if never_in else waited
        return ev.TransferResult(
            ch.now(), QUEUE_STATUS[status], status, wait=wait, queued_at=queued_at
        )
    if status:
        return ev.TransferResult(ch.now(), "failed", status, queued_at=queued_at)
    # No QUEUESTATUS: an agent answered (MEMBERINTERFACE, queues.conf setinterfacevar=yes;
    # QEHOLDTIME with setqueueentryvar=yes), the caller hung up while queued, or a key
    # took them to the queue's exit context.
    if await ch.variable("MEMBERINTERFACE"):
        hold = await ch.variable("QEHOLDTIME")
        return ev.TransferResult(ch.now(), "answered", wait=hold or None, queued_at=queued_at)
    if hung_up:
        return ev.TransferResult(ch.now(), "abandoned", "hangup", wait=waited, queued_at=queued_at)
    exit_context = ch.config.queue_exit_context
    if exit_context and await ch.variable("CONTEXT") == exit_context:
        key = await ch.variable("EXTEN")
        return ev.TransferResult(
            ch.now(), "callback", f"key {key}", wait=waited, queued_at=queued_at, key=key
        )
    return ev.TransferResult(ch.now(), "answered", "no member", queued_at=queued_at)


__all__ = ["QUEUE_STATUS", "CallerHungUp", "QueueChannel", "queue_args", "run_queue"]
