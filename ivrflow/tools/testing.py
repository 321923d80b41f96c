"""Drive a flow like a caller, synchronously, on a virtual clock: `Call`.

The simulator, `ivrflow test` scenarios, the path explorer and your own pytest
tests all use this one driver:

    from ivrflow import testing
    call = testing.Call.open("flows/billing.ivr", ani="+5511912345678", at="2026-11-24T10:00-03:00")
    call.press("2"); call.press("79927398713#"); call.press("1")
    assert "saldo" in call.said()
    call.hangup()
    assert call.outcome["kind"] == "abandoned"

Look-ups are answered from fixtures (flows/fixtures/<flow>.yaml by default),
queue status likewise, transfers with `transfer_result`, callbacks go to an
in-memory store (or fail, with `callback_store="fail"`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import LookupFailure
from ..host.callbacks import CallbackRequest, MemoryCallbackStore
from ..host.fixtures import Fixtures, for_flow
from ..host.perform import carry_out, drive
from ..host.recordings import MemoryRecordingStore
from ..model import Flow
from ..runtime import actions as act
from ..runtime import events as ev
from ..runtime.session import Session
from .scripted_caller import parse_input

SPEECH_RATE = 15.0  # characters of text-to-speech per second
DEFAULT_AT = "2026-11-24T10:00:00-03:00"  # a Tuesday morning in São Paulo


@dataclass(frozen=True, slots=True)
class Line:
    """One transcript line: what the IVR did or what the caller did, and when."""

    at: float  # seconds since the call started
    who: str  # "ivr" or "caller"
    kind: str  # say, play, collect, lookup, transfer, callback, hangup, press, speak, wait, …
    text: str

    def __str__(self) -> str:
        return f"{self.at:7.1f}s  {self.who:<6} {self.kind:<9} {self.text}".rstrip()


def epoch(at: str | float | dt.datetime | None) -> float:
    """An ISO time with its UTC offset (or an epoch, or a datetime) as epoch seconds."""
    if at is None:
        at = DEFAULT_AT
    if isinstance(at, int | float):
        return float(at)
    when = at if isinstance(at, dt.datetime) else dt.datetime.fromisoformat(str(at))
    if when.tzinfo is None:
        raise ValueError(f"'{at}' needs a UTC offset, like 2026-12-25T10:00-03:00")
    return when.timestamp()


class Call:
    """One simulated call. Every method returns the transcript lines it added."""

    def __init__(
        self,
        flow: Flow | str | Path,
        *,
        ani: str | None = "+5511912345678",
        dnis: str | None = None,
        at: str | float | dt.datetime | None = None,
        fixtures: Fixtures | None = None,
        emergency: Iterable[str] = (),
        variables: dict[str, Any] | None = None,
        transfer_result: str = "answered",
        queue_wait: float = 0.0,
        queue_key: str | None = None,
        callback_store: str = "memory",
        recorder: str = "memory",
        seed: int = 0,
        call_id: str = "sim-1",
    ) -> None:
        if not isinstance(flow, Flow):  # a path, as the docs show: Call("flows/billing.ivr")
            from ..compiler import load

            flow = load(flow)
        self.flow = flow
        self.fixtures = fixtures if fixtures is not None else for_flow(flow)
        self.start_at = self.now = epoch(at)
        self.transfer_result = transfer_result
        self.queue_wait = queue_wait  # seconds a queued caller waits before the result
        self.queue_key = queue_key  # pressed after `queue_wait`, if the in-queue flow has it
        self.callback_store = callback_store
        self.recorder = recorder  # memory | fail: whether `record` states can record
        self.callbacks = MemoryCallbackStore()
        self.recordings = MemoryRecordingStore()
        self.recording: act.Record | None = None  # a message being recorded
        self.transcript: list[Line] = []
        self.listening: act.Collect | None = None
        self.session = Session(
            flow,
            call_id=call_id,
            ani=ani,
            dnis=dnis,
            at=self.start_at,
            variables=variables,
            seed=seed,
            emergency=frozenset(emergency),
        )
        self._started = False

    @classmethod
    def open(cls, path: str | Path, **options: Any) -> Call:
        from ..compiler import load

        call = cls(load(path), **options)
        call.start()
        return call

    # ------------------------------------------------------------ what the caller does
    def start(self) -> list[Line]:
        if self._started:
            return []
        self._started = True
        return self._drive(self.session.start())

    def press(self, keys: str) -> list[Line]:
        self.now += 0.4 * max(1, len(keys))
        if self.recording is not None:  # a finish key stops it before a word; others are sound
            if keys[:1] in self.recording.finish:
                return self._recorded("press", keys, 0.0, "key")
            return [self._log("caller", "press", f"{keys} (recorded as sound)")]
        # A card number or PIN must not reach a test report or a CI log in clear.
        secure = self.listening is not None and self.listening.secure
        return self._input("press", "*" * len(keys) if secure else keys, ev.Digits(self.now, keys))

    def say(self, text: str, confidence: float = 1.0) -> list[Line]:
        if self.recording is not None:  # words spoken while recording: the message
            return self.leave_message(text)
        self.now += 1.5
        shown = text if confidence >= 1.0 else f"{text} (confidence {confidence:g})"
        return self._input("speak", shown, ev.Utterance(self.now, text, confidence))

    def leave_message(self, text: str, ended_by: ev.RecordingEnd = "key") -> list[Line]:
        """Speak a message while a `record` state records: `text` stands for the audio
        (about 2.5 words a second, up to the state's `max`)."""
        rec = self.recording
        if rec is None:
            raise ValueError("nothing is recording: leave_message needs a record state")
        seconds = min(rec.max_length, max(1.0, len(text.split()) / 2.5))
        self.now += seconds
        return self._recorded("message", text, seconds, ended_by)

    def _recorded(
        self, kind: str, text: str | None, seconds: float, ended_by: ev.RecordingEnd
    ) -> list[Line]:
        rec = self.recording
        assert rec is not None
        self.recording = None
        reference = self.recordings.target(self.session.call_id, rec)
        if seconds > 0:
            info = {"call_id": self.session.call_id, "state": rec.name, "duration": seconds,
                    "ended_by": ended_by, "text": text}  # fmt: skip
            self.recordings.keep(reference, info)
        shown = text if text is not None else "(silence)"
        event = ev.Recorded(self.now, rec.request, reference, seconds, ended_by, text)
        return self._input(kind, shown, event)

    def wait(self) -> list[Line]:
        """Let the pending timeout pass (the first-digit one, or the inter-digit one)."""
        if self.recording is not None:  # silence: the recorder stops with nothing
            self.now += self.recording.silence or self.recording.max_length
            return self._recorded("wait", None, 0.0, "silence")
        spec = self.listening
        if spec is None:
            self.now += 5.0
        else:  # keys already in: the inter-digit timeout is the one running
            self.now += spec.interdigit if self.session.buffer else spec.timeout
        return self._input("wait", "(silence)", ev.NoInput(self.now))

    def hangup(self) -> list[Line]:
        self.now += 0.5
        return self._input("hangup", "(hangs up)", ev.Hangup(self.now))

    def step(self, line: str) -> list[Line]:
        """One scripted input: `1`, `123#`, `say segunda via`, `wait`, `hangup` (see
        `channels.parse_input`; ValueError for anything else)."""
        step = parse_input(line)
        if step is None:
            return []
        word, _, rest = step.partition(" ")
        if word == "wait":
            return self.wait()
        if word == "hangup":
            return self.hangup()
        if word == "say":
            return self.say(rest)
        if word == "record":
            return self.leave_message(rest)
        return self.press(step)

    # ------------------------------------------------------------ what the test looks at
    @property
    def ended(self) -> bool:
        return self.session.ended

    @property
    def outcome(self) -> dict[str, Any] | None:
        return self.session.record["outcome"] if self.session.ended else None  # type: ignore[index]

    @property
    def record(self) -> dict[str, Any] | None:
        return self.session.record

    @property
    def state(self) -> str:
        return self.session.state

    def variables(self) -> dict[str, Any]:
        """The call's variables, secure ones masked."""
        secure = self.flow.secure_variables
        return {
            k: "****" if k in secure and v is not None else v for k, v in self.session.vars.items()
        }

    def played(self, since: int = 0) -> list[str]:
        """The audio files the IVR played since transcript line `since`, in order."""
        return [x.text for x in self.transcript[since:] if x.kind == "play"]

    def said(self, since: int = 0) -> str:
        """Everything the IVR said since transcript line `since`, one prompt per line."""
        return "\n".join(x.text for x in self.transcript[since:] if x.kind == "say")

    # ------------------------------------------------------------ the driver
    def _log(self, who: str, kind: str, text: str) -> Line:
        line = Line(round(self.now - self.start_at, 1), who, kind, text)
        self.transcript.append(line)
        return line

    def _input(self, kind: str, text: str, event: ev.Event) -> list[Line]:
        if not self._started:
            self.start()
        mark = len(self.transcript)
        if self.session.ended:
            return []
        self._log("caller", kind, text)
        listening, self.listening = self.listening, None
        self._drive(self.session.send(event))
        if self.listening is None and self.session.buffer and not self.session.ended:
            self.listening = listening  # half-way through an entry: the same collect goes on
        return self.transcript[mark:]

    def _drive(self, actions: list[act.Action]) -> list[Line]:
        mark = len(self.transcript)
        drive(self.session, self._perform, actions)
        return self.transcript[mark:]

    # Per-action hooks: a subclass may answer some actions its own way (the explorer stops
    # before undecided ones; scripts/make_sample_records.py varies look-ups and queues).
    def _perform(self, a: act.Action) -> ev.Event | None:
        return carry_out(_CallHost(self), a)

    def _lookup(self, a: act.Lookup) -> ev.Event:
        self.now += 0.3
        name = a.function
        params = self.flow.functions[name].params if name in self.flow.functions else ()
        try:
            value = self.fixtures.answer(name, params, a.args)
        except LookupFailure as exc:
            self._log("ivr", "lookup", f"{name} → error: {exc}")
            return ev.LookupFailed(self.now, a.request, str(exc))
        self._log("ivr", "lookup", f"{name} → ok")
        return ev.LookupResult(self.now, a.request, value)

    def _store(self, a: act.StoreCallback) -> ev.Event:
        if self.callback_store == "fail":
            self._log("ivr", "callback", f"{a.number} → store failed")
            return ev.CallbackFailed(self.now, "store unavailable")
        reference = self.callbacks.store(CallbackRequest.from_action(a, self.flow.name))
        self._log("ivr", "callback", f"{a.number} queue {a.queue} → stored {reference}")
        return ev.CallbackStored(self.now, reference)


class _CallHost:
    """The `Host` of a simulated call: every action is a transcript line, on the call's
    virtual clock; look-ups and callbacks go to the call's hooks. A collect waits for the
    test's next step (None: no answer yet)."""

    __slots__ = ("call",)

    def __init__(self, call: Call) -> None:
        self.call = call

    def play(self, a: act.Say | act.Play) -> None:
        call = self.call
        if isinstance(a, act.Say):
            call._log("ivr", "say", a.text)
            call.now += max(1.0, len(a.text) / SPEECH_RATE)
        else:
            call._log("ivr", "play", a.path)
            call.now += 3.0

    def collect(self, a: act.Collect) -> None:
        self.call.listening = a
        kinds = "+".join(a.kinds)
        end = f" end {a.terminator}" if a.terminator else ""
        self.call._log(
            "ivr", "collect", f"{kinds} {a.min_digits}..{a.max_digits}{end} timeout {a.timeout:g}s"
        )

    def lookup(self, a: act.Lookup) -> ev.Event:
        return self.call._lookup(a)

    def queue_status(self, a: act.GetQueueStatus) -> ev.Event:
        call = self.call
        ewt, position = call.fixtures.queue_status(a.queue)
        call._log("ivr", "queue", f"{a.queue}: ewt={ewt} position={position}")
        return ev.QueueStatus(call.now, a.queue, ewt, position)

    def transfer(self, a: act.TransferToQueue | act.TransferToDestination) -> ev.Event:
        call = self.call
        target = a.queue if isinstance(a, act.TransferToQueue) else a.destination.text()
        extra = f" priority {a.priority}" if isinstance(a, act.TransferToQueue) else ""
        status: Any = call.transfer_result
        if isinstance(a, act.TransferToDestination):
            call._log("ivr", "transfer", f"{target}{extra} → {status}")
            call.now += 1.0
            return ev.TransferResult(call.now, status)
        wait = call.queue_wait
        waited = f" after {wait:g}s in queue" if wait else ""
        key = call.queue_key
        if a.hold is not None and key is not None and key in a.hold.keys:
            call._log("ivr", "transfer", f"{target}{extra}: waiting")
            call.now += 1.0
            queued_at = call.now
            call.now += wait
            call._log("caller", "press", f"{key} while waiting{waited}")
            return ev.TransferResult(
                call.now, "callback", f"key {key}", wait=wait, queued_at=queued_at, key=key
            )
        call._log("ivr", "transfer", f"{target}{extra} → {status}{waited}")
        call.now += 1.0  # the transfer's prompt; then the caller waits in the queue
        queued_at = call.now
        call.now += wait
        return ev.TransferResult(call.now, status, wait=wait, queued_at=queued_at)

    def store_callback(self, a: act.StoreCallback) -> ev.Event:
        return self.call._store(a)

    def record(self, a: act.Record) -> ev.Event | None:
        """Wait for the caller's message: `leave_message`, `wait` (silence) or a key."""
        if self.call.recorder == "fail":
            self.call._log("ivr", "record", "→ the recorder is down")
            return ev.RecordFailed(self.call.now, a.request, "recording store unavailable")
        self.call.recording = a
        silence = f" silence {a.silence:g}s" if a.silence else ""
        finish = f" finish {a.finish}" if a.finish else ""
        beep = " after a beep" if a.beep else ""
        self.call._log("ivr", "record", f"max {a.max_length:g}s{silence}{finish}{beep}")
        return None

    def hangup(self, a: act.Hangup) -> None:
        self.call._log("ivr", "hangup", a.reason)


__all__ = ["DEFAULT_AT", "Call", "Line", "epoch"]
