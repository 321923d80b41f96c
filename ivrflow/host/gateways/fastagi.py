"""A FastAGI server: flows behind Asterisk.

Asterisk's dialplan runs ``AGI(agi://127.0.0.1:4573/billing?lang=pt-BR)``; this
server reads the environment, loads ``FLOWS_DIR/billing.ivr`` (the query
arguments become session variables, ``lang``/``language`` the language) and
drives the call with `Engine.run`, mapping actions to AGI commands:

- Say → ``STREAM FILE`` of a recorded file, or of audio rendered with espeak-ng + sox:
  constant prompts once into a bounded cache, templated ones (caller data) per call into a
  file removed at hang-up (`prompt_audio`, under ``--sounds-dir``). Without audio (no sounds dir, no
  espeak-ng/sox) the text goes to the Asterisk console with ``VERBOSE`` and a
  fallback sound is streamed instead (``--fallback-sound``, default ``beep``):
  the caller does not hear the words. Play → ``STREAM FILE``. Barge-in → escape
  digits; the key pressed is the caller's input.
- Collect → ``WAIT FOR DIGIT`` (first key, honours `timeout`), then for longer
  entries ``GET DATA ""`` with the inter-digit timeout (Asterisk stops on ``#``).
  An entry cut by the inter-digit timeout is handed over as complete.
- Transfer to a queue → ``SET VARIABLE QUEUE_PRIO``, ``IVRFLOW_SKILLS``, ``EXEC Queue``
  then ``GET VARIABLE QUEUESTATUS``; to a number, SIP URI or extension → ``EXEC Dial`` with
  the ``--dial`` template of its kind (`dialstrings`), then ``DIALSTATUS``.
- At the end ``IVRFLOW_OUTCOME`` (+ ``IVRFLOW_REASON``, ``IVRFLOW_QUEUE``,
  ``IVRFLOW_NUMBER``, ``IVRFLOW_SIP``, ``IVRFLOW_EXTENSION``) are set so the dialplan can
  continue; a flow's hang-up → ``HANGUP``.

Limitations: DTMF only (a speech-only collect gets no input); GET DATA applies one
timeout between keys, so an entry cut by it is recorded as ended by the terminator;
the queue leg is read back from Asterisk: QUEUESTATUS (TIMEOUT, FULL, JOINEMPTY …), an agent
(MEMBERINTERFACE, queues.conf ``setinterfacevar = yes``) with the wait from QEHOLDTIME
(``setqueueentryvar = yes``), the caller's hang-up while queued (abandoned in the queue), or a
key that took them to the queue's exit context (``context = ivrflow-queue-exit``: left for a
callback); a key barged
into a multi-digit entry's prompt starts that entry (the engine takes whole entries).
A missing sound file makes STREAM FILE answer ``result=-1``, read as a hang-up: the
fallback sound must exist on the Asterisk side.

A hang-up at any point (``result=-1``, a ``HANGUP`` line, ``511``, EOF) ends the
session as `abandoned`; a malformed or unexpected reply ends that call with an
`error` record. Each call's record is written exactly once (by `Engine.run`),
then the socket is closed (Asterisk keeps the channel until it is).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from ...runtime import actions as act
from ...runtime import events as ev
from ...runtime.record import TRANSFER_TARGETS
from ...runtime.session import Session
from ..engine import Engine
from . import agi_protocol as agi
from .agi_queue import CallerHungUp, run_queue
from .dialstrings import DEFAULTS, DialTemplateError, DialTemplates
from .prompt_audio import CallPrompts, SpeechRenderer
from .prompt_cache import DEFAULT_MAX_AGE, DEFAULT_MAX_BYTES
from .voice import MediaServer, VoiceFailure, VoiceLeg, VoiceSettings

log = logging.getLogger("ivrflow.fastagi")

ESCAPE_ALL = "0123456789*#"
# Session phases where one key completes the input: a barge-in key can go straight in.
SINGLE_KEY_PHASES = frozenset({"menu", "offer", "capture_confirm", "did_you_say", "offer_confirm"})
_AUDIO_EXT = re.compile(r"\.(wav|gsm|ulaw|alaw|sln\d*|g722|g729|mp3|ogg)$", re.IGNORECASE)
WITHHELD = {"", "unknown", "anonymous", "restricted", "private", "unavailable", "withheld"}

DIAL_STATUS: dict[str, ev.TransferStatus] = {
    "ANSWER": "answered",
    "BUSY": "busy",
    "NOANSWER": "noanswer",
}


@dataclass
class ServerConfig:
    flows_dir: Path
    sounds_dir: Path | None = None
    asterisk_sounds_dir: str | None = None  # the sounds dir as Asterisk sees it (chroot, container)
    fallback_sound: str | None = "beep"
    dial: DialTemplates = field(default_factory=lambda: DialTemplates(DEFAULTS))
    queue_options: str = ""  # Queue(name,options…): appended after the name
    # queues.conf `context=`: a key pressed in the queue that exists there leaves the queue
    # (Asterisk's exit by key); read back as the caller leaving for a callback.
    queue_exit_context: str | None = "ivrflow-queue-exit"
    env_timeout: float = 10.0  # seconds to receive the environment
    reply_timeout: float = 3600.0  # seconds to wait for any reply (a queue can be long)
    hangup_grace: float = 2.0  # after a HANGUP notice, how long the pending reply may take
    render: bool = True  # render text with espeak-ng + sox when both are installed
    cache_max_bytes: int = DEFAULT_MAX_BYTES  # the constant prompts' cache under sounds_dir
    cache_max_age: float = DEFAULT_MAX_AGE  # seconds unused before a cached prompt goes
    recording_format: str = "wav"  # RECORD FILE's format (the file's extension)
    # The recordings directory as Asterisk sees it (chroot, container), when not the same path.
    recordings_seen_as: tuple[str, str] | None = None  # (ours, Asterisk's)

    def recording_path(self, target: str) -> str:
        if self.recordings_seen_as is None:
            return target
        ours, theirs = self.recordings_seen_as
        return (
            theirs.rstrip("/") + target[len(ours.rstrip("/")) :]
            if target.startswith(ours)
            else target
        )

    # Peers allowed to connect (--allow CIDR); empty: anyone who can reach the port.
    allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    # Speech through AudioSocket (`--speech`): the states that listen for speech in a language
    # with a recognizer get a voice turn (gateways/voice.py); None: DTMF only.
    voice: VoiceSettings | None = None


def peer_allowed(
    peer: Any, allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    """Is the socket peer (`peername`: a (host, port, …) tuple) inside one of `allow`?"""
    if not allow:
        return True
    try:
        address = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
    except (TypeError, IndexError, ValueError):
        return False  # not an IP peer (a Unix socket): not in any network
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:10.0.0.7 on a dual-stack socket
    return any(address in network for network in allow)


def call_parameters(env: dict[str, str]) -> dict[str, Any]:
    """Flow name, variables, ANI, DNIS and call id from an AGI environment."""
    script = env.get("agi_network_script") or env.get("agi_request", "")
    if "://" in script:  # agi_request is the whole URL
        script = script.split("://", 1)[1].partition("/")[2]
    path, _, query = script.partition("?")
    name = path.strip("/").rsplit("/", 1)[-1]
    if name.endswith(".ivr"):
        name = name[:-4]
    variables: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    lang = variables.pop("lang", None)
    if lang:
        variables.setdefault("language", lang)
    ani = env.get("agi_callerid", "").strip()
    if ani.lower() in WITHHELD:
        ani = "anonymous"
    dnis = env.get("agi_dnid", "").strip()
    if dnis.lower() in WITHHELD:
        dnis = env.get("agi_extension", "").strip()
    return {
        "flow": name,
        "variables": variables,
        "ani": ani or None,
        "dnis": dnis or None,
        "call_id": env.get("agi_uniqueid") or None,
    }


class AGIStream(asyncio.Protocol):
    """One FastAGI socket as a protocol: bytes in → parsed events, woken waiter.

    A Protocol rather than StreamReader/StreamWriter, and one lazily re-armed timer per
    connection rather than an `asyncio.timeout` per reply: a call exchanges one command and
    one reply per prompt or key, so this is the gateway's hot path (bench/gateway.py).
    """

    def __init__(self, parser: agi.AGIParser | None = None) -> None:
        self.parser = parser or agi.AGIParser()
        self.events: deque[agi.AGIEvent] = deque()
        self.error: agi.AGIProtocolError | None = None  # raised once the events before it are read
        self.eof = False
        self.transport: asyncio.Transport | None = None
        self.peer: Any = None
        self.closed: asyncio.Future[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._deadline = 0.0  # loop time at which the current wait times out
        self._timer: asyncio.TimerHandle | None = None
        self._can_write: asyncio.Future[None] | None = None  # set while writing is paused

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        if self.error is None:
            try:
                self.events.extend(self.parser.feed(data))
            except agi.AGIProtocolError as exc:
                self.error = exc
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self.parser.feed_eof()
        self._wake()
        return False  # close our side too: Asterisk has nothing more to say

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self._wake()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._can_write is not None and not self._can_write.done():
            self._can_write.set_result(None)
        if self.closed is not None and not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self._can_write = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._can_write is not None and not self._can_write.done():
            self._can_write.set_result(None)
        self._can_write = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def write(self, line: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            raise ConnectionResetError("the AGI connection is closed")
        self.transport.write(line)
        if self._can_write is not None:  # Asterisk reads slower than we write: wait for it
            await self._can_write

    async def wait(self, timeout: float) -> None:
        """Until data, EOF or an error arrives. Raises TimeoutError after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + timeout
        # The timer stays armed across waits and only moves earlier: replies come in
        # milliseconds and timeouts are minutes, so it almost never fires (see _on_timer).
        if self._timer is None or self._timer.when() > self._deadline:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = loop.call_at(self._deadline, self._on_timer)
        waiter = self._waiter = loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def _on_timer(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # nobody waits: the next wait arms a new timer
        loop = asyncio.get_running_loop()
        if loop.time() >= self._deadline:
            waiter.set_exception(TimeoutError())
        else:  # this wait started after the timer was armed: sleep on to its own deadline
            self._timer = loop.call_at(self._deadline, self._on_timer)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class AGIConnection:
    """One FastAGI call: send a command, get its reply; HANGUP lines are notices."""

    def __init__(self, stream: AGIStream, config: ServerConfig) -> None:
        self.stream, self.config = stream, config
        self.hung_up = False

    @property
    def eof(self) -> bool:
        return self.stream.eof and not self.stream.events

    async def _next(self, timeout: float) -> agi.AGIEvent | None:
        """The next event, or None at EOF. Raises TimeoutError, AGIProtocolError."""
        stream = self.stream
        while not stream.events:
            if stream.error is not None:
                raise stream.error
            if stream.eof:
                return None
            await stream.wait(timeout)
        return stream.events.popleft()

    async def environment(self) -> dict[str, str]:
        event = await self._next(self.config.env_timeout)
        if not isinstance(event, agi.Environment):
            raise agi.AGIProtocolError(f"expected the AGI environment, got {event!r:.80}")
        return event.values

    async def send(self, line: bytes, *, dead_ok: bool = False) -> agi.Reply:
        """Send one command; its reply. Raises CallerHungUp when the channel is gone."""
        if self.eof or (self.hung_up and not dead_ok):
            raise CallerHungUp()
        await self.stream.write(line)
        while True:
            try:  # once the caller is gone, replies come at once or not at all
                event = await self._next(
                    self.config.hangup_grace if self.hung_up else self.config.reply_timeout
                )
            except TimeoutError:
                if self.hung_up:
                    raise CallerHungUp() from None
                raise agi.AGIProtocolError(f"no reply to {line!r:.60}") from None
            if event is None:
                self.hung_up = True
                raise CallerHungUp()
            if isinstance(event, agi.HangupNotice):
                self.hung_up = True
                continue  # the pending command's own reply still follows
            if isinstance(event, agi.Environment):
                raise agi.AGIProtocolError("a second environment block")
            if event.hangup:
                self.hung_up = True
                if event.code == 511 or not dead_ok:
                    raise CallerHungUp()
            if event.code != 200:
                raise agi.AGIProtocolError(f"command {line!r:.60} failed: {event.text!r:.120}")
            return event

    async def close(self) -> None:
        """Close the socket (Asterisk keeps the channel until it is closed)."""
        self.stream.close()
        if self.stream.closed is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self.stream.closed), 1.0)


def _recorded_seconds(reply: agi.Reply | None, written: str) -> float:
    """The message's length: `endpos` at 8 kHz, else the file's size (16-bit PCM)."""
    if reply is not None and reply.endpos is not None and reply.endpos >= 0:
        return round(reply.endpos / 8000, 3)
    try:
        size = Path(written).stat().st_size
    except OSError:
        return 0.0
    return round(max(0, size - 44) / 16000, 3)


@dataclass
class AGIChannel:
    """The engine's `Channel` over one AGI connection."""

    conn: AGIConnection
    config: ServerConfig
    renderer: SpeechRenderer
    session: Session | None = None
    variables_set: bool = False
    clock: Callable[[], float] = time.time
    error: str | None = field(default=None)
    context: str | None = None  # the call's dialplan context: an extension's by default
    typeahead: str = ""  # keys barged in that start the next collect
    skip_prompts: bool = False  # a capture's prompt was barged: the rest of it is moot
    voice: VoiceLeg | None = None  # speech in and out through AudioSocket
    prompts: CallPrompts = field(default_factory=lambda: CallPrompts(frozenset()))

    def _language(self, fallback: str) -> str:
        s = self.session
        return str(s.vars.get("language") or fallback) if s is not None else fallback

    async def _end_voice_turn(self) -> None:
        """Before any other AGI command: AudioSocket() holds the AGI while a turn runs."""
        if self.voice is not None and self.voice.turn is not None:
            await self.voice.close()

    def now(self) -> float:
        return self.clock()

    async def _guard(self, coro: Any, secure: bool = False) -> Any:
        try:
            return await coro
        except CallerHungUp:
            return ev.Hangup(self.now())
        except VoiceFailure as exc:
            self.fail(str(exc))
            raise agi.AGIProtocolError(str(exc)) from exc
        except agi.AGIProtocolError as exc:
            # A secure entry's digits may be in the reply: keep them out of records and logs.
            self.fail("malformed reply during a secure entry" if secure else str(exc))
            raise

    def fail(self, reason: str) -> None:
        """End the call with outcome `error` (the record says why)."""
        self.error = reason
        s = self.session
        if s is not None:
            s.abort(f"gateway: {reason}", self.now())

    # ------------------------------------------------------------ prompts
    async def play(self, action: act.Say | act.Play) -> ev.Event | None:
        result: ev.Event | None = await self._guard(self._play(action))
        return result

    async def _play(self, action: act.Say | act.Play) -> ev.Event | None:
        phase = self.session.phase if self.session is not None else "menu"
        if self.skip_prompts:
            return None
        if self.voice is not None and isinstance(action, act.Say) and self.session is not None:
            spec = self.session.listening()
            language = self._language(action.language)
            recognizer = self.voice.recognizer_for(spec, language)
            if spec is not None and recognizer is not None:
                keep = action.text in self.prompts.constant  # templated: not kept
                return await self.voice.play(action, spec, recognizer, language, keep)
        await self._end_voice_turn()
        if self.typeahead and action.barge_in and phase in SINGLE_KEY_PHASES:
            keys, self.typeahead = self.typeahead, ""  # typed ahead: the prompt is moot
            return ev.Digits(self.now(), keys)
        key = await self._stream(action)
        if key is None:
            return None
        if phase in SINGLE_KEY_PHASES:
            return ev.Digits(self.now(), key)
        # A multi-digit entry (or a prompt outside input, e.g. before a look-up): the engine
        # cannot take a partial entry, so the key starts the next collect (type-ahead).
        self.typeahead += key
        self.skip_prompts = phase in ("capture", "offer_number")
        return None

    async def _stream(self, action: act.Say | act.Play) -> str | None:
        """Stream one prompt; the key that interrupted it, if any."""
        escape = ESCAPE_ALL if action.barge_in else ""
        if isinstance(action, act.Play):
            name = _AUDIO_EXT.sub("", action.path)  # Asterisk picks the format itself
        else:
            sound = await self.renderer.sound_for(action, self.prompts)
            if sound is None:
                await self.conn.send(agi.verbose(f"ivrflow say: {action.text}"), dead_ok=True)
                if not self.config.fallback_sound:
                    return None
                name = self.config.fallback_sound
            else:
                try:  # pinned until Asterisk answers: the file is not evicted while it plays
                    reply = await self.conn.send(agi.stream_file(sound.name, escape))
                finally:
                    sound.release()
                return agi.digit_from_result(reply.result_int)
        reply = await self.conn.send(agi.stream_file(name, escape))
        return agi.digit_from_result(reply.result_int)

    # ------------------------------------------------------------ input
    async def collect(self, action: act.Collect) -> ev.Event:
        result: ev.Event = await self._guard(self._collect(action), action.secure)
        return result

    async def _collect(self, action: act.Collect) -> ev.Event:
        if self.voice is not None:
            language = self._language("")
            recognizer = self.voice.recognizer_for(action, language)
            if recognizer is not None:
                return await self.voice.collect(action, recognizer, language)
            await self._end_voice_turn()
        first, self.typeahead, self.skip_prompts = self.typeahead, "", False
        session = self.session
        if session is not None and session.phase == "menu" and action.max_digits > 1:
            return await self._menu_keys(action, first, bool(session.buffer))
        if not first:
            reply = await self.conn.send(agi.wait_for_digit(int(action.timeout * 1000)))
            first = agi.digit_from_result(reply.result_int) or ""
            if not first:
                return ev.NoInput(self.now())
        if len(first) >= action.max_digits or (action.terminator or "#") in first:
            return ev.Digits(self.now(), first)  # complete: the session splits what it needs
        reply = await self.conn.send(
            agi.get_data("", int(action.interdigit * 1000), action.max_digits - len(first))
        )
        rest = reply.result or ""
        if reply.data not in (None, "timeout") or not all(c in "0123456789*#" for c in rest):
            raise agi.AGIProtocolError(f"unexpected GET DATA reply {reply.text!r:.80}")
        keys = first + rest
        # GET DATA drops the '#' it stopped on; whatever stopped it, the entry is complete.
        terminated = action.terminator is None or action.terminator not in keys
        return ev.Digits(self.now(), keys, terminated=terminated)

    async def _menu_keys(self, action: act.Collect, first: str, started: bool) -> ev.Event:
        """A menu with multi-key options decides as keys come (docs/runtime.md, "Multi-key
        menus"): one key at a time, so a key no longer option starts with is taken at once;
        once the options still matching all need the same number of keys, one GET DATA."""
        if first:
            return ev.Digits(self.now(), first)
        fixed = started and action.min_digits == action.max_digits > 1
        if not fixed:
            reply = await self.conn.send(agi.wait_for_digit(int(action.timeout * 1000)))
            key = agi.digit_from_result(reply.result_int) or ""
            return ev.Digits(self.now(), key) if key else ev.NoInput(self.now())
        reply = await self.conn.send(
            agi.get_data("", int(action.timeout * 1000), action.max_digits)
        )
        keys = reply.result or ""
        if reply.data not in (None, "timeout") or not all(c in "0123456789*#" for c in keys):
            raise agi.AGIProtocolError(f"unexpected GET DATA reply {reply.text!r:.80}")
        # GET DATA ends on its count, '#' (dropped) or the timeout: the entry is over.
        return ev.Digits(self.now(), keys, terminated=True) if keys else ev.NoInput(self.now())

    # ------------------------------------------------------------ transfers
    async def transfer(self, action: act.TransferToQueue | act.TransferToDestination) -> ev.Event:
        result: ev.Event = await self._guard(self._transfer(action))
        return result

    async def variable(self, name: str) -> str:
        try:
            reply = await self.conn.send(agi.get_variable(name), dead_ok=True)
        except CallerHungUp:
            return ""
        return (reply.data or "") if reply.result == "1" else ""

    async def _transfer(self, action: act.TransferToQueue | act.TransferToDestination) -> ev.Event:
        await self._end_voice_turn()
        hung_up = False
        if isinstance(action, act.TransferToQueue):
            return await run_queue(self, action)
        try:
            dial = self.config.dial.arguments(action.destination, self.context)
        except DialTemplateError as exc:
            return ev.TransferResult(self.now(), "failed", str(exc))
        try:
            await self.conn.send(agi.exec_app("Dial", dial), dead_ok=True)
        except CallerHungUp:
            hung_up = True
        hung_up = hung_up or self.conn.hung_up
        status = (await self.variable("DIALSTATUS")).upper()
        if status in DIAL_STATUS:
            return ev.TransferResult(self.now(), DIAL_STATUS[status], status)
        if hung_up:
            return ev.Hangup(self.now())
        return ev.TransferResult(self.now(), "failed", status or None)

    # ------------------------------------------------------------ recording
    async def record(self, action: act.Record, target: str) -> ev.Event:
        """`RECORD FILE` into the store's target (a path Asterisk can write: the gateway and
        Asterisk share the directory). Asterisk answers with the key that ended it
        (`(dtmf)`), `(timeout)` for the length cap or silence, `(hangup)`, and `endpos`, the
        samples written (8 kHz)."""
        fmt = self.config.recording_format
        seen = self.config.recording_path(target)
        line = agi.record_file(
            seen,
            fmt,
            action.finish,
            int(action.max_length * 1000),
            action.beep,
            math.ceil(action.silence) if action.silence else None,
        )
        self.typeahead, self.skip_prompts = "", False
        hung_up = False
        reply: agi.Reply | None = None
        try:
            reply = await self.conn.send(line, dead_ok=True)
        except CallerHungUp:
            hung_up = True
        except agi.AGIProtocolError as exc:
            return ev.RecordFailed(self.now(), action.request, str(exc))
        written = f"{target}.{fmt}"
        seconds = _recorded_seconds(reply, written)
        if hung_up or self.conn.hung_up or (reply is not None and reply.data == "hangup"):
            return ev.Recorded(self.now(), action.request, written, seconds, "hangup")
        assert reply is not None
        if reply.result is not None and reply.result.startswith("-"):
            return ev.RecordFailed(self.now(), action.request, f"RECORD FILE: {reply.text}")
        if reply.data == "dtmf":
            ended: ev.RecordingEnd = "key"
        elif seconds >= action.max_length - 0.5:
            ended = "max"
        else:
            ended = "silence"
        return ev.Recorded(self.now(), action.request, written, seconds, ended)

    # ------------------------------------------------------------ the end
    async def set_outcome(self) -> None:
        """IVRFLOW_OUTCOME & co., once, for the dialplan after the AGI returns."""
        with contextlib.suppress(VoiceFailure, CallerHungUp, agi.AGIProtocolError):
            await self._end_voice_turn()
        s = self.session
        if self.variables_set or s is None or s.outcome is None or self.conn.hung_up:
            return
        self.variables_set = True
        outcome = s.outcome
        values = {"IVRFLOW_OUTCOME": str(outcome.get("kind", ""))}
        for key in ("reason", *TRANSFER_TARGETS):
            if outcome.get(key) is not None:
                values[f"IVRFLOW_{key.upper()}"] = str(outcome[key])
        with contextlib.suppress(CallerHungUp, agi.AGIProtocolError):
            for name, value in values.items():
                await self.conn.send(agi.set_variable(name, value))

    async def hangup(self, reason: str) -> None:
        await self.set_outcome()
        with contextlib.suppress(CallerHungUp, agi.AGIProtocolError):
            await self.conn.send(agi.hangup())


class FastAGIServer:
    """``await server.start(host, port)``; ``await server.close(deadline)``."""

    def __init__(
        self, engine: Engine, config: ServerConfig, clock: Callable[[], float] = time.time
    ) -> None:
        self.engine, self.config, self.clock = engine, config, clock
        self.renderer = SpeechRenderer(
            config.sounds_dir,
            config.asterisk_sounds_dir,
            render=config.render,
            max_bytes=config.cache_max_bytes,
            max_age=config.cache_max_age,
        )
        self.server: asyncio.Server | None = None
        self.calls: set[asyncio.Task[None]] = set()
        self.served = 0
        self.on_flow: Callable[[Engine, Any], None] | None = None  # e.g. install fixtures
        self.media: MediaServer | None = None  # AudioSocket streams, when speech is on

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def start(self, host: str = "127.0.0.1", port: int = 4573) -> None:
        loop = asyncio.get_running_loop()
        self.renderer.prepare()
        self.server = await loop.create_server(self._accept, host, port, backlog=1024)
        voice = self.config.voice
        if voice is not None and self.media is None:
            self.media = MediaServer()
            bound = await self.media.start(*_host_port(voice.media_listen))
            voice.media_address = voice.media_address or bound

    def _accept(self) -> AGIStream:
        stream = AGIStream()
        task = asyncio.get_running_loop().create_task(self.handle(stream))
        self.calls.add(task)
        task.add_done_callback(self.calls.discard)
        return stream

    async def handle(self, stream: AGIStream) -> None:
        conn = AGIConnection(stream, self.config)
        # This task is created by the protocol factory, before the transport calls
        # connection_made (scheduled right after it): yield until the peer is known.
        for _ in range(10):
            if stream.transport is not None or not self.config.allow:
                break
            await asyncio.sleep(0)
        if not peer_allowed(stream.peer, self.config.allow):
            log.warning("fastagi: refused a connection from %s (not in --allow)", stream.peer)
            stream.close()  # before reading a byte: no environment, no session, no record
            return
        try:
            try:
                env = await conn.environment()
            except (agi.AGIProtocolError, TimeoutError, OSError) as exc:
                log.warning("fastagi: bad connection: %s", exc)
                return
            params = call_parameters(env)
            path = self.config.flows_dir / f"{params['flow']}.ivr"
            try:
                if not params["flow"] or not path.is_file():
                    raise FileNotFoundError(
                        f"no flow '{params['flow']}' in {self.config.flows_dir}"
                    )
                flow = self.engine.load(path)
            except Exception as exc:  # a missing or broken flow: let the dialplan continue
                log.error("fastagi: %s", exc)
                with contextlib.suppress(Exception):
                    await conn.send(agi.set_variable("IVRFLOW_OUTCOME", "error"))
                    await conn.send(agi.set_variable("IVRFLOW_REASON", "no flow"))
                return
            if self.on_flow is not None:
                self.on_flow(self.engine, flow)
            channel = AGIChannel(
                conn, self.config, self.renderer, clock=self.clock, context=env.get("agi_context")
            )
            if self.config.voice is not None and self.media is not None:
                channel.voice = VoiceLeg(conn, self.config.voice, self.media)
            session = self.engine.session(
                flow,
                ani=params["ani"],
                dnis=params["dnis"],
                at=channel.now(),
                call_id=params["call_id"],
                variables=params["variables"],
            )
            channel.session = session
            channel.prompts = self.renderer.for_call(flow)
            self.served += 1
            try:
                await self.engine.run(session, channel)
            except agi.AGIProtocolError as exc:
                reason = channel.error or type(exc).__name__  # sanitized (secure entries)
                log.warning(
                    "fastagi: call %s ended on a protocol error: %s", session.call_id, reason
                )
                return
            except OSError as exc:
                log.warning("fastagi: call %s: connection error: %s", session.call_id, exc)
                return
            except Exception:  # a bug: this call has its record; the server goes on
                log.exception("fastagi: call %s failed", session.call_id)
                return
            await channel.set_outcome()
        finally:
            leg = locals().get("channel")
            if isinstance(leg, AGIChannel) and leg.voice is not None and leg.voice.turn:
                with contextlib.suppress(Exception):  # the stream must not outlive the call
                    await leg.voice.turn.close()
            if isinstance(leg, AGIChannel):  # before any await: a cancelled call too
                leg.prompts.close()  # the caller's data, rendered for this call only
            await conn.close()

    async def close(self, deadline: float = 10.0) -> None:
        """Stop accepting; let calls in flight finish within `deadline` seconds, then cut them."""
        if self.server is not None:
            self.server.close()
        calls = set(self.calls)
        if calls:
            _, pending = await asyncio.wait(calls, timeout=deadline)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5.0)
        if self.server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1.0)
        if self.media is not None:
            await self.media.close()


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host or "127.0.0.1", int(port or 0)


__all__ = [
    "AGIChannel",
    "AGIConnection",
    "AGIStream",
    "CallerHungUp",
    "FastAGIServer",
    "ServerConfig",
    "SpeechRenderer",
    "call_parameters",
    "peer_allowed",
]
