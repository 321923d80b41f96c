"""Performing a session's actions: one table, one loop, every driver.

A session answers an event with a batch of actions; a driver (the `Engine` over a
telephony `Channel`, `testing.Call` on a virtual clock, the webhook writing TwiML) carries
them out against its host. What each action asks of a host is written once here: `ACTIONS`
maps an action type to the host method that performs it, and `Host` / `AsyncHost` name
those methods, so mypy tells every driver what a new action needs.

The ordering rule, also once: perform the actions in order; a prompt goes on unless the
caller barged into it; an action that asks for something (collect, look-up, queue status,
transfer, callback, recording) ends the batch — its answer, when the host has one at once, goes back
into the session; a hang-up never answers. A host that cannot answer yet (a webhook until
the next request, a test until the caller's next step) returns None: the call waits.

Two flavours of the same loop: `perform_async` / `drive_async` over an `AsyncHost` (the
Engine, the webhook), and `perform` / `drive` over a one-action function — `carry_out` on a
`Host`, or a driver's own per-action hook around it (`testing.Call._perform`, which
subclasses override).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from ..runtime import actions as act
from ..runtime import events as ev
from ..runtime.session import Session


class Host(Protocol):
    """What a synchronous driver does for each action (see `ACTIONS`)."""

    def play(self, action: act.Say | act.Play) -> ev.Event | None:
        """Play a prompt; the caller's input if they barged in, else None."""
        ...

    def collect(self, action: act.Collect) -> ev.Event | None: ...

    def lookup(self, action: act.Lookup) -> ev.Event | None: ...

    def queue_status(self, action: act.GetQueueStatus) -> ev.Event | None: ...

    def transfer(
        self, action: act.TransferToQueue | act.TransferToDestination
    ) -> ev.Event | None: ...

    def store_callback(self, action: act.StoreCallback) -> ev.Event | None: ...

    def record(self, action: act.Record) -> ev.Event | None:
        """Record the caller into the recording store; `Recorded` or `RecordFailed`."""
        ...

    def hangup(self, action: act.Hangup) -> None: ...


class AsyncHost(Protocol):
    """`Host`, for drivers on an event loop: the same methods, awaited."""

    async def play(self, action: act.Say | act.Play) -> ev.Event | None: ...

    async def collect(self, action: act.Collect) -> ev.Event | None: ...

    async def lookup(self, action: act.Lookup) -> ev.Event | None: ...

    async def queue_status(self, action: act.GetQueueStatus) -> ev.Event | None: ...

    async def transfer(
        self, action: act.TransferToQueue | act.TransferToDestination
    ) -> ev.Event | None: ...

    async def store_callback(self, action: act.StoreCallback) -> ev.Event | None: ...

    async def record(self, action: act.Record) -> ev.Event | None: ...

    async def hangup(self, action: act.Hangup) -> None: ...


# Action type → (host method, whether the action ends the batch).
ACTIONS: dict[type[act.Action], tuple[str, bool]] = {
    act.Say: ("play", False),
    act.Play: ("play", False),
    act.Collect: ("collect", True),
    act.Lookup: ("lookup", True),
    act.GetQueueStatus: ("queue_status", True),
    act.TransferToQueue: ("transfer", True),
    act.TransferToDestination: ("transfer", True),
    act.StoreCallback: ("store_callback", True),
    act.Record: ("record", True),
    act.Hangup: ("hangup", False),
}


PerformOne = Callable[[act.Action], "ev.Event | None"]


def _method(action: act.Action) -> str:
    try:
        return ACTIONS[type(action)][0]
    except KeyError:
        raise TypeError(f"no host method performs {type(action).__name__}") from None


def _ends_batch(action: act.Action, answer: ev.Event | None) -> bool:
    """The ordering rule: an answer goes back in at once; an ask waits for one."""
    return answer is not None or ACTIONS[type(action)][1]


def carry_out(host: Host, action: act.Action) -> ev.Event | None:
    """Perform one action with the host method the table names for it."""
    answer: ev.Event | None = getattr(host, _method(action))(action)
    return answer


def perform(one: PerformOne, actions: Iterable[act.Action]) -> ev.Event | None:
    """Carry out actions in order with `one` (`carry_out` on a `Host`, or a driver's own
    per-action hook that ends in it); the first event that answers one, or None."""
    for action in actions:
        answer = one(action)
        if _ends_batch(action, answer):
            return answer
    return None


async def perform_async(host: AsyncHost, actions: Iterable[act.Action]) -> ev.Event | None:
    """`perform` for an `AsyncHost`, awaiting each of its methods."""
    for action in actions:
        answer: ev.Event | None = await getattr(host, _method(action))(action)
        if _ends_batch(action, answer):
            return answer
    return None


def drive(session: Session, one: PerformOne, actions: list[act.Action]) -> None:
    """Perform batch after batch while answers come at once; stop when the call waits."""
    while actions:
        answer = perform(one, actions)
        if answer is None:
            return
        actions = session.send(answer)


async def drive_async(session: Session, host: AsyncHost, actions: list[act.Action]) -> None:
    """`drive`, for an `AsyncHost`."""
    while actions:
        answer = await perform_async(host, actions)
        if answer is None:
            return
        actions = session.send(answer)


__all__ = [
    "ACTIONS",
    "AsyncHost",
    "Host",
    "PerformOne",
    "carry_out",
    "drive",
    "drive_async",
    "perform",
    "perform_async",
]
