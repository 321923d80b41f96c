"""Placing callbacks through Asterisk's Manager Interface (the `Dialer` of the dispatcher).

AMI rather than ARI: AMI is one TCP line protocol (`Key: value` lines, a blank line ends a
message) that asyncio streams speak without another dependency, and an asynchronous
`Originate` already reports how the ring ended (`OriginateResponse` with `Reason`). The
answered channel is handed to the dialplan, where `AGI()` runs the outbound flow on the FastAGI
gateway we have; ARI would hold the channel in a Stasis application and need a second way to
reach the flow. One attempt is one action:

    Action: Originate        ActionID: <attempt id>    Async: true
    Channel: PJSIP/+5511987654321@trunk                 (--ami-channel, {number} filled in)
    Context: ivrflow-callback   Exten: <outbound flow>  Priority: 1   Timeout: 30000 (ms)
    ChannelId: <the channel's uniqueid, the attempt's reference>
    Variable: CALLBACK_ATTEMPT=<attempt id>   Variable: CALLBACK_PRIORITY=<priority>
    Variable: CALLBACK_NUMBER=<the customer's number>   (the dialplan sets it as the DNID)

`Response: Success` means queued (nothing rang yet); then `Event: OriginateResponse` comes
with `Response: Success` (answered: the flow runs and its end records the attempt) or
`Failure` and a `Reason` (AST_CONTROL_*: 5 busy, 3 rang out, 1 hung up before answering, 8
congestion, 0 no route), which this dialer records. The dialplan may report an outcome
itself with `UserEvent(ivrflow-callback,Attempt: …,Outcome: machine)`: the lab's (and the
documented) context runs `AMD()` when `CALLBACK_AMD=1` and, on a machine, leaves
`CALLBACK_MESSAGE` (a sound) if set, then reports `machine`.

Asterisk unreachable, a refused login or a refused Originate action placed nothing:
`DialerUnavailable`, the claim is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..callback_lifecycle import Claim, parse_attempt_id
from ..callback_rules import OUTCOMES, Outcome
from ..callback_types import CallbackStoreError
from ..dispatcher import DialerUnavailable, Status

if TYPE_CHECKING:
    from ..callback_lifecycle import LifecycleStore

log = logging.getLogger("ivrflow.callbacks")

Message = dict[str, str]

# OriginateResponse's Reason (the last AST_CONTROL_* frame of the ring) when it failed.
REASONS: dict[str, Outcome] = {
    "0": "failed",  # no channel at all (no route, unknown endpoint)
    "1": "no_answer",  # the far end hung up before answering (declined, unavailable)
    "2": "no_answer",  # ring, no answer within the timeout
    "3": "no_answer",  # ringing, no answer within the timeout
    "5": "busy",
    "8": "failed",  # congestion
}
# The channel's hangup cause (Q.850) says more than Reason when the far end refused quickly:
# Asterisk 22 reports a 486 Busy Here as Reason 0 with Cause 17.
CAUSES: dict[str, Outcome] = {
    "17": "busy",  # user busy (SIP 486, 600)
    "18": "no_answer",  # no user responding (408)
    "19": "no_answer",  # no answer (the ring timed out, 480)
    "21": "no_answer",  # call rejected (603 decline)
}
CAUSE_WAIT = 1.0  # seconds to wait for the Hangup event after a failed OriginateResponse
USER_EVENT = "ivrflow-callback"
# Agent first: the customer's Dial() ended with this DIALSTATUS (the dialplan's UserEvent).
DIAL_STATUSES: dict[str, Outcome] = {
    "ANSWER": "answered",  # the customer talked to the agent
    "BUSY": "busy",
    "NOANSWER": "no_answer",
    "CANCEL": "no_answer",  # the agent hung up while the customer's phone rang
    "CHANUNAVAIL": "failed",
    "CONGESTION": "failed",
}
AGENT_FIRST_CONTEXT = "ivrflow-agent-first"


def outcome_of_ring(reason: str, cause: str | None) -> Outcome:
    """A failed ring's outcome: the hangup cause when it names one, else Originate's Reason."""
    return CAUSES.get((cause or "").strip()) or REASONS.get(reason.strip(), "failed")


def channel_id(claim: Claim) -> str:
    """The originated channel's uniqueid: from the attempt, so an adopter can look it up."""
    return "ivrflow-cb-" + re.sub(r"[^A-Za-z0-9._-]", "_", claim.attempt_id)[:100]


def encode(fields: list[tuple[str, str]]) -> bytes:
    for key, value in fields:
        if "\r" in value or "\n" in value:
            raise ValueError(f"AMI field {key} must be one line")
    return ("".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n").encode()


@dataclass
class AmiDialer:
    host: str
    port: int
    username: str
    secret: str = field(repr=False)
    channel: str  # a dial string with {number}: PJSIP/{number}@trunk
    flow: str  # the outbound flow's name: the Exten in `context`
    store: LifecycleStore | None = None  # where failed rings are recorded
    context: str = "ivrflow-callback"
    caller_id: str | None = None
    ring_timeout: int = 30
    machine_detection: bool = True  # CALLBACK_AMD=1: the dialplan runs AMD() before the flow
    machine_message: str | None = None  # CALLBACK_MESSAGE: a sound left on a machine
    agent_first: str | None = None  # a queue: reach an agent there first, then the customer
    agent_wait: int = 300  # seconds the attempt waits for an agent (agent first)
    whisper: str | None = None  # a sound the agent hears before the customer rings (agent first)
    request_timeout: float = 10.0
    clock: Callable[[], float] | None = None  # the store's `now` for recorded outcomes

    def __post_init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._listener: asyncio.Task[None] | None = None
        self._replies: dict[str, asyncio.Future[Message]] = {}
        self._lists: dict[str, list[Message]] = {}
        self._ringing: dict[str, Claim] = {}  # ActionID → claim whose ring has not ended
        self._causes: dict[str, asyncio.Future[str]] = {}  # channel id → its hangup cause
        self._lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self._next_id = 0
        self.recorded: list[tuple[str, Outcome]] = []  # (attempt id, outcome) this dialer wrote

    # ------------------------------------------------------------ the Dialer interface
    async def place(self, claim: Claim) -> str:
        reference = channel_id(claim)
        fields = self._agent_first(claim) if self.agent_first else self._customer_first(claim)
        fields += [
            ("ChannelId", reference),
            ("Variable", f"CALLBACK_ATTEMPT={claim.attempt_id}"),
            ("Variable", f"CALLBACK_PRIORITY={claim.priority}"),
            # The dialplan makes it the channel's DNID: the outbound record's DNIS.
            ("Variable", f"CALLBACK_NUMBER={claim.request.number}"),
            ("Async", "true"),
        ]
        if self.caller_id:
            fields.append(("CallerID", self.caller_id))
        action_id = f"originate-{claim.attempt_id}"
        self._ringing[action_id] = claim
        self._causes[reference] = asyncio.get_running_loop().create_future()
        try:
            reply = await self._action(fields, action_id)
        except BaseException:
            self._forget(action_id, reference)
            raise
        if reply.get("Response") != "Success":
            self._forget(action_id, reference)
            raise DialerUnavailable(f"Originate refused: {reply.get('Message', reply)}")
        return reference

    def _customer_first(self, claim: Claim) -> list[tuple[str, str]]:
        """Ring the customer; answered, the outbound flow runs (and queues them)."""
        fields = [
            ("Action", "Originate"),
            ("Channel", self.channel.format(number=claim.request.number)),
            ("Context", self.context),
            ("Exten", self.flow),
            ("Priority", "1"),
            ("Timeout", str(self.ring_timeout * 1000)),
            ("Variable", f"CALLBACK_AMD={1 if self.machine_detection else 0}"),
        ]
        if self.machine_message:
            fields.append(("Variable", f"CALLBACK_MESSAGE={self.machine_message}"))
        return fields

    def _agent_first(self, claim: Claim) -> list[tuple[str, str]]:
        """Wait in the queue for an agent (a Local channel); the agent's answer dials the
        customer from the agent-first context."""
        assert self.agent_first is not None
        fields = [
            ("Action", "Originate"),
            ("Channel", f"Local/{self.agent_first}@{AGENT_FIRST_CONTEXT}-queue"),
            ("Context", AGENT_FIRST_CONTEXT),
            ("Exten", "s"),
            ("Priority", "1"),
            ("Timeout", str(self.agent_wait * 1000)),
            ("Variable", f"CALLBACK_AGENT_WAIT={self.agent_wait}"),
            ("Variable", f"CALLBACK_DIAL={self.channel.format(number=claim.request.number)}"),
            ("Variable", f"CALLBACK_RING={self.ring_timeout}"),
            ("Variable", f"CALLBACK_CALLER_ID={self.caller_id or ''}"),
        ]
        if self.whisper:
            fields.append(("Variable", f"CALLBACK_WHISPER={self.whisper}"))
        return fields

    async def status(self, claim: Claim) -> Status:
        """ "active" while Asterisk has the attempt's channel, else None (not known)."""
        reference = claim.reference or channel_id(claim)
        action_id = self._action_id("channels")
        self._lists[action_id] = []
        try:
            await self._action([("Action", "CoreShowChannels")], action_id, complete=True)
            channels = self._lists.get(action_id, [])
        finally:
            self._lists.pop(action_id, None)
        if any(c.get("Uniqueid") == reference for c in channels):
            return "active"
        return None

    def _forget(self, action_id: str, reference: str) -> None:
        self._ringing.pop(action_id, None)
        self._causes.pop(reference, None)

    async def close(self) -> None:
        if self._background:  # failed rings still being recorded (each within CAUSE_WAIT)
            await asyncio.gather(*list(self._background), return_exceptions=True)
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.write(encode([("Action", "Logoff")]))
                await self._writer.drain()
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(BaseException):
                await self._listener
        self._reader = self._writer = self._listener = None

    # ------------------------------------------------------------ the connection
    def _action_id(self, kind: str) -> str:
        self._next_id += 1
        return f"{kind}-{self._next_id}"

    async def _connect(self) -> None:
        if self._writer is not None and not self._writer.is_closing():
            return
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.request_timeout
            )
            banner = await asyncio.wait_for(reader.readline(), self.request_timeout)
        except (OSError, TimeoutError) as exc:
            raise DialerUnavailable(f"AMI {self.host}:{self.port}: {exc}") from exc
        if not banner.startswith(b"Asterisk Call Manager"):
            writer.close()
            raise DialerUnavailable(f"AMI {self.host}:{self.port}: not AMI ({banner[:40]!r})")
        self._reader, self._writer = reader, writer
        self._listener = asyncio.ensure_future(self._listen(reader))
        login = self._action_id("login")
        fields = [("Action", "Login"), ("Username", self.username), ("Secret", self.secret)]
        reply = await self._send(fields + [("Events", "on")], login)
        if reply.get("Response") != "Success":
            await self.close()
            raise DialerUnavailable(f"AMI login refused: {reply.get('Message', '')}")

    async def _action(
        self, fields: list[tuple[str, str]], action_id: str, *, complete: bool = False
    ) -> Message:
        async with self._lock:
            await self._connect()
        return await self._send(fields, action_id, complete=complete)

    async def _send(
        self, fields: list[tuple[str, str]], action_id: str, *, complete: bool = False
    ) -> Message:
        """Send one action; its Response (or, for a list action, its closing event)."""
        assert self._writer is not None
        key = f"{action_id}/complete" if complete else action_id
        reply: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._replies[key] = reply
        try:
            self._writer.write(encode([*fields, ("ActionID", action_id)]))
            await self._writer.drain()
            return await asyncio.wait_for(reply, self.request_timeout)
        except (OSError, TimeoutError) as exc:
            await self.close()
            raise DialerUnavailable(f"AMI {self.host}:{self.port}: {exc or 'no reply'}") from exc
        finally:
            self._replies.pop(key, None)

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        message: Message = {}
        try:
            while line := await reader.readline():
                text = line.decode("utf-8", "replace").rstrip("\r\n")
                if text:
                    key, _, value = text.partition(":")
                    message[key.strip()] = value.strip()
                    continue
                if message:
                    await self._on_message(message)
                message = {}
        except (OSError, asyncio.IncompleteReadError) as exc:
            log.warning("callbacks: AMI connection lost: %s", exc)
        finally:
            for reply in self._replies.values():
                if not reply.done():
                    reply.set_exception(OSError("AMI connection closed"))
            if self._writer is not None:
                self._writer.close()

    async def _on_message(self, message: Message) -> None:
        action_id = message.get("ActionID", "")
        event = message.get("Event")
        if event is None:
            reply = self._replies.get(action_id)
            if reply is not None and not reply.done():
                reply.set_result(message)
            return
        if action_id in self._lists and event != "CoreShowChannelsComplete":
            self._lists[action_id].append(message)
        elif event.endswith("Complete") or message.get("EventList") == "Complete":
            reply = self._replies.get(f"{action_id}/complete")
            if reply is not None and not reply.done():
                reply.set_result(message)
        elif event == "OriginateResponse":
            self._spawn_rang(action_id, message)
        elif event == "Hangup":
            cause = self._causes.get(message.get("Uniqueid", ""))
            if cause is not None and not cause.done():
                cause.set_result(message.get("Cause", ""))
        elif event == "UserEvent" and message.get("UserEvent") == USER_EVENT:
            await self._reported(message)

    def _spawn_rang(self, action_id: str, message: Message) -> None:
        """Off the reading loop: the Hangup event it may wait for comes on that loop."""
        task = asyncio.ensure_future(self._rang(action_id, message))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _rang(self, action_id: str, message: Message) -> None:
        claim = self._ringing.pop(action_id, None)
        if claim is None:
            return
        waiting = self._causes.pop(claim.reference or channel_id(claim), None)
        if message.get("Response") == "Success":
            return  # answered: the outbound flow's end records the attempt
        if self.agent_first:  # no agent answered in time: the customer was never rung
            await self._release(claim, f"agent first: no agent in {self.agent_first}")
            return
        cause = None
        if waiting is not None:
            with contextlib.suppress(TimeoutError):
                cause = await asyncio.wait_for(waiting, CAUSE_WAIT)
        reason = message.get("Reason", "")
        detail = f"Originate failed, reason {reason}, cause {cause or '?'}"
        await self._record(claim.attempt_id, outcome_of_ring(reason, cause), detail)

    async def _reported(self, message: Message) -> None:
        status = message.get("DialStatus")
        outcome = (
            DIAL_STATUSES.get(status or "", "failed") if status else message.get("Outcome", "")
        )
        if outcome not in OUTCOMES:
            log.warning("callbacks: UserEvent with unknown outcome %r", outcome)
            return
        detail = message.get("Detail") or f"reported by the dialplan ({message.get('Channel')})"
        await self._record(message.get("Attempt", ""), outcome, detail)

    async def _release(self, claim: Claim, detail: str) -> None:
        """Nothing reached the customer: no attempt counted, due after the retry delay."""
        if self.store is None:
            return
        now = self.clock() if self.clock else time.time()
        due = now + self.store.policy.retry_delay
        try:
            await asyncio.to_thread(self.store.release, claim, due, detail)
        except CallbackStoreError as exc:
            log.error("callbacks: %s not released: %s", claim.attempt_id, exc)

    async def _record(self, attempt: str, outcome: Outcome, detail: str) -> None:
        if self.store is None:
            return
        try:
            call_id, number = parse_attempt_id(attempt)
            now = self.clock() if self.clock else None
            done = await asyncio.to_thread(
                self.store.finish_attempt, call_id, number, outcome, detail=detail, now=now
            )
        except CallbackStoreError as exc:  # the adopting dispatcher records it later
            log.error("callbacks: attempt %s not recorded: %s", attempt, exc)
            return
        if done:
            self.recorded.append((attempt, outcome))
            log.info("callbacks: %s ended %s (%s)", attempt, outcome, detail)


__all__ = ["CAUSES", "REASONS", "USER_EVENT", "AmiDialer", "channel_id", "outcome_of_ring"]
