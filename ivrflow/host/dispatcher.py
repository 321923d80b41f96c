"""The callback dispatcher: it keeps the promise "we'll call you back".

Every `poll` seconds it claims due requests from the store (`LifecycleStore.claim`), and for
each claim asks a `Dialer` to place the outbound call. The call itself runs elsewhere: the
telephony side answers, the outbound flow runs over the gateway (webhook or FastAGI), and
whoever learns how the attempt ended records it (`finish_attempt`, once): the outbound call's
end (`attempt_recorder`, an Engine hook), the webhook's status callback, or the dialer's own
events. The dispatcher renews the leases of the calls it placed while they ring and talk;
when it dies, another dispatcher adopts them after the lease and asks the dialer how each
ended (`Dialer.status`) — it never dials an adopted attempt again.

A dialer that cannot place a call at all (the REST endpoint or Asterisk is down) raises
`DialerUnavailable`: the claim is released (no attempt counted, due again after the retry
delay). Any other failure is the attempt's `failed` outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ..runtime.record import mask
from .callback_lifecycle import Claim, LifecycleStore, parse_attempt_id
from .callback_rules import OUTCOMES, Outcome
from .callback_types import CallbackStoreError

if TYPE_CHECKING:
    from ..runtime.session import Session

log = logging.getLogger("ivrflow.callbacks")

# The session variables an outbound call carries (the gateway sets them from the call's URL).
ATTEMPT_VARIABLE = "callback_attempt"
RESULT_VARIABLE = "callback_result"  # the outbound flow sets "later" to be called again

Status = Literal["active"] | Outcome | None  # None: the dialer does not know the call


class DialerUnavailable(Exception):
    """The call could not be placed at all (nothing rang): try again later, count nothing."""


class Dialer(Protocol):
    async def place(self, claim: Claim) -> str:
        """Place the outbound call of `claim`; return the telephony side's reference for it.
        Raise DialerUnavailable when nothing was placed; any other exception is `failed`."""
        ...

    async def status(self, claim: Claim) -> Status:
        """How the call of an attempt stands now: "active", its outcome, or None when the
        telephony side has no such call. `claim.reference` is None when the dispatcher died
        before keeping it: the dialer looks the call up by number and time if it can."""
        ...

    async def close(self) -> None: ...


def owner_name() -> str:
    """This dispatcher's name in the store: host and process, so a lease says who holds it."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class DispatcherStats:
    claimed: int = 0
    placed: int = 0
    adopted: int = 0
    released: int = 0
    failed: int = 0
    errors: int = 0  # store errors (the database down or locked): the loop goes on


@dataclass
class Dispatcher:
    store: LifecycleStore
    dialer: Dialer
    owner: str = field(default_factory=owner_name)
    poll: float = 1.0  # seconds between claims when nothing is due
    batch: int = 10  # claims per pass
    max_in_flight: int = 20  # calls placed and not ended yet
    clock: Callable[[], float] = time.time
    stats: DispatcherStats = field(default_factory=DispatcherStats)

    def __post_init__(self) -> None:
        self._live: dict[str, Claim] = {}  # attempt id → claim, the calls this one placed
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Dispatch until `stop` is set (or forever)."""
        stop = stop or asyncio.Event()
        last_renew = self.clock()
        while not stop.is_set():
            got = await self.run_once()
            now = self.clock()
            if now - last_renew >= self.store.policy.lease / 3:
                await self.renew_leases()
                last_renew = now
            if not got:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll)
        await self.drain()

    async def run_once(self) -> int:
        """One pass: claim what is due, place or adopt each; the number of claims."""
        room = self.max_in_flight - len(self._live)
        if room <= 0:
            return 0
        try:
            claims = await asyncio.to_thread(
                self.store.claim, self.owner, self.clock(), min(self.batch, room)
            )
        except CallbackStoreError as exc:
            self.stats.errors += 1
            log.error("callbacks: cannot claim: %s", exc)
            return 0
        for claim in claims:
            self.stats.claimed += 1
            if claim.adopted:
                self._spawn(self._adopt(claim))
            else:
                self._live[claim.attempt_id] = claim
                self._spawn(self._place(claim))
        return len(claims)

    def _spawn(self, work: Any) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the placing and adopting in progress (not for the calls to end)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _place(self, claim: Claim) -> None:
        request = claim.request
        try:
            reference = await self.dialer.place(claim)
        except DialerUnavailable as exc:
            self._live.pop(claim.attempt_id, None)
            self.stats.released += 1
            log.warning("callbacks: %s not placed (%s); due again later", claim.attempt_id, exc)
            await self._store(
                self.store.release, claim, self.clock() + self.store.policy.retry_delay, str(exc)
            )
            return
        except Exception as exc:  # the dialer refused this call (a bad number, a 4xx)
            self._live.pop(claim.attempt_id, None)
            self.stats.failed += 1
            log.warning("callbacks: %s to %s failed: %s", claim.attempt_id, mask(request.number),
                        exc)  # fmt: skip
            await self._finish(claim, "failed", f"{type(exc).__name__}: {exc}")
            return
        self.stats.placed += 1
        log.info("callbacks: %s placed to %s (%s)", claim.attempt_id, mask(request.number),
                 reference)  # fmt: skip
        await self._store(self.store.set_reference, request.call_id, claim.attempt, reference)

    async def _adopt(self, claim: Claim) -> None:
        """A dead dispatcher's attempt: find out how it ended; never dial it again."""
        self.stats.adopted += 1
        try:
            status = await self.dialer.status(claim)
        except DialerUnavailable as exc:  # ask again once the lease runs out
            log.warning("callbacks: cannot ask about %s yet: %s", claim.attempt_id, exc)
            return
        if status == "active":
            self._live[claim.attempt_id] = claim
            return
        if status is None:
            detail = "the dispatcher stopped before the call was placed or known"
            await self._finish(claim, "interrupted", detail)
        else:
            await self._finish(claim, status, f"adopted by {self.owner}")

    async def renew_leases(self) -> None:
        """Keep the claims of calls still going; forget those whose outcome is recorded."""
        for key, claim in list(self._live.items()):
            renewed = await self._store(self.store.renew, claim, self.clock())
            if renewed is None:
                self._live.pop(key, None)
            else:
                self._live[key] = renewed

    async def _finish(self, claim: Claim, outcome: Outcome, detail: str) -> None:
        await self._store(
            self.store.finish_attempt, claim.request.call_id, claim.attempt, outcome,
            detail=detail, now=self.clock(),
        )  # fmt: skip

    async def _store(self, method: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        try:
            return await asyncio.to_thread(method, *args, **kw)
        except CallbackStoreError as exc:  # the lease runs out; an adopter finishes it
            self.stats.errors += 1
            log.error("callbacks: %s", exc)
            return None

    @property
    def in_flight(self) -> int:
        return len(self._live)


# ---------------------------------------------------------------- the outbound call's end
def outcome_of_call(session: Session) -> Outcome:
    """What an answered outbound call came to, from how its flow ended."""
    if str(session.vars.get(RESULT_VARIABLE) or "") == "later":
        return "later"
    kind = (session.outcome or {}).get("kind")
    if kind == "transferred":
        return "answered"
    return "hung_up"


def attempt_recorder(store: LifecycleStore) -> Callable[[Session], None]:
    """An Engine `on_finish` hook: an outbound call (one with a `callback_attempt` variable)
    records its attempt's outcome when it ends."""

    def record(session: Session) -> None:
        marker = session.vars.get(ATTEMPT_VARIABLE)
        if not marker:
            return
        try:
            call_id, attempt = parse_attempt_id(str(marker))
            store.finish_attempt(
                call_id, attempt, outcome_of_call(session),
                detail=f"outbound call {session.call_id}",
            )  # fmt: skip
        except CallbackStoreError as exc:  # the dispatcher's adoption records it later
            log.error("callbacks: attempt %s not recorded: %s", marker, exc)

    return record


def lifecycle_of(store: object) -> LifecycleStore | None:
    """The lifecycle store behind what the Engine holds (a spool wraps the real one)."""
    inner = getattr(store, "inner", store)
    return inner if isinstance(inner, LifecycleStore) else None


def checked_outcome(text: str) -> Outcome:
    if text not in OUTCOMES:
        raise ValueError(f"unknown outcome {text!r}")
    return text


__all__ = [
    "ATTEMPT_VARIABLE",
    "RESULT_VARIABLE",
    "Dialer",
    "DialerUnavailable",
    "Dispatcher",
    "DispatcherStats",
    "Status",
    "attempt_recorder",
    "checked_outcome",
    "lifecycle_of",
    "outcome_of_call",
    "owner_name",
]
