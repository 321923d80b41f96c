"""The voicebot's media side behind Asterisk: an AudioSocket server and listening turns.

A *turn* is one state listening for speech: the FastAGI channel sends
``EXEC AudioSocket "<uuid>,<media address>"``, Asterisk connects here with that UUID, and the
turn plays the state's prompts (paced 20 ms frames; silence when there is nothing to say, or
AudioSocket() gives up after 2 s), listens (webrtcvad + the end-of-speech silence), feeds the
recognizer from a worker thread while the caller speaks, and ends with one event for the
session: `Utterance`, `Digits`, `NoInput` or `Hangup`. Then it sends a terminate frame, and
AudioSocket() returns to the AGI.

Barge-in on speech: in a prompt that allows barge-in, the first voiced 60 ms stop the playback
at once, and the utterance goes on to the recognizer; a key stops it too. Bad input ends in a
defined event: garbage or audio in another format → `VoiceFailure` (the call's error path);
the socket closed → `Hangup`; an utterance longer than the longest → recognized as far as it
went; a recognizer that raises or does not answer within `recognize_timeout` → heard as
nothing (`Utterance("", 0)`, a no-match: the caller can still press keys), logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid as uuidlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from ...runtime import actions as act
from ...runtime import events as ev
from ..voice import audio
from ..voice.endpoint import (
    END_SILENCE,
    MAX_UTTERANCE,
    Endpointer,
    SpeechEnded,
    SpeechStarted,
    VoiceDetector,
)
from ..voice.recognizer import Grammar, Hypothesis, Recognition, Recognizer, RecognizerSet
from ..voice.synthesis import CachedSynthesizer
from . import agi_protocol as agi
from . import audiosocket_protocol as asp

log = logging.getLogger("ivrflow.voice")

FEED_FRAMES = 5  # feed the recognizer every 100 ms of speech
LEAD_FRAMES = 3  # frames sent ahead of real time: Asterisk's playout never starves


class VoiceFailure(Exception):
    """The media stream broke (garbage, wrong format, no connection): the call errs."""


@dataclass
class VoiceSettings:
    recognizers: RecognizerSet
    synthesizer: CachedSynthesizer
    detector: Callable[[], VoiceDetector]
    media_listen: str = "127.0.0.1:0"  # where the media server listens (port 0: any free one)
    media_address: str = ""  # host:port Asterisk connects to (default: where it listens)
    connect_timeout: float = 5.0
    recognize_timeout: float = 5.0
    end_silence: float = END_SILENCE
    max_utterance: float = MAX_UTTERANCE
    clock: Callable[[], float] = time.time


class MediaStream(asyncio.Protocol):
    """One AudioSocket connection: parsed events to a queue, frames out."""

    def __init__(self, server: MediaServer) -> None:
        self.server = server
        self.parser = asp.AudioSocketParser()
        self.events: asyncio.Queue[asp.AudioSocketEvent | Exception] = asyncio.Queue()
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            found = self.parser.feed(data)
        except asp.AudioSocketError as exc:
            self.events.put_nowait(exc)
            self.close()
            return
        for event in found:
            if isinstance(event, asp.Identified):
                self.server.identified(event.uuid, self)
            else:
                self.events.put_nowait(event)

    def eof_received(self) -> bool:
        try:
            for event in self.parser.feed_eof():
                self.events.put_nowait(event)
        except asp.AudioSocketError as exc:
            self.events.put_nowait(exc)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.parser.ended:
            self.parser.ended = True
            self.events.put_nowait(asp.Terminated())

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class MediaServer:
    """Accepts AudioSocket connections and hands each to the turn waiting for its UUID."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self._waiting: dict[str, asyncio.Future[MediaStream]] = {}

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: MediaStream(self), host, port)
        bound = self.server.sockets[0].getsockname()
        return f"{bound[0]}:{bound[1]}"

    def expect(self, call_uuid: str) -> asyncio.Future[MediaStream]:
        future: asyncio.Future[MediaStream] = asyncio.get_running_loop().create_future()
        self._waiting[call_uuid] = future
        return future

    def forget(self, call_uuid: str) -> None:
        self._waiting.pop(call_uuid, None)

    def identified(self, call_uuid: str, stream: MediaStream) -> None:
        future = self._waiting.pop(call_uuid, None)
        if future is None or future.done():
            log.warning("voice: AudioSocket stream for an unknown call %s refused", call_uuid)
            stream.close()
            return
        future.set_result(stream)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 1.0)


@dataclass
class Turn:
    """One listening turn on an open AudioSocket stream."""

    stream: MediaStream
    settings: VoiceSettings
    recognizer: Recognizer | None
    grammar: Grammar
    end_silence: float
    _playing: list[bytes] = field(default_factory=list)  # frames left of the prompt
    _pump: asyncio.Task[None] | None = None
    _inputs: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)
    _endpointer: Endpointer | None = None
    _recognition: Recognition | None = None
    _feeding: asyncio.Future[Any] | None = None
    _worker: ThreadPoolExecutor | None = None
    _barge_in: bool = False
    _listening_keys: bool = False
    _keys: str = ""
    ended: bool = False
    first_audio_at: float | None = None  # when the first frame of a prompt went out
    speech_ended_at: float | None = None

    def start(self) -> None:
        self._endpointer = self._new_endpointer()
        self._pump = asyncio.get_running_loop().create_task(self._run())

    def _new_endpointer(self) -> Endpointer:
        return Endpointer(self.settings.detector(), self.end_silence, self.settings.max_utterance)

    # ------------------------------------------------------------ the 20 ms loop
    async def _run(self) -> None:
        """Send one frame every 20 ms (prompt or silence), read what came in meanwhile."""
        loop = asyncio.get_running_loop()
        silence = asp.audio_frames(audio.silence(audio.FRAME_MS))[0]
        next_at = loop.time()
        sent_ahead = 0
        try:
            while not self.ended:
                if self._playing:
                    frame = self._playing.pop(0)
                    if self.first_audio_at is None:
                        self.first_audio_at = self.settings.clock()
                    if not self._playing:
                        self._inputs.put_nowait("played")
                else:
                    frame = silence
                self.stream.send(frame)
                sent_ahead += 1
                self._drain()
                if sent_ahead < LEAD_FRAMES:
                    continue
                next_at += audio.FRAME_MS / 1000
                delay = next_at - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.2:  # the loop was busy: do not burst to catch up
                    next_at = loop.time()
        except Exception as exc:  # a bug here must still end the turn, not hang it
            self._inputs.put_nowait(exc)

    def _drain(self) -> None:
        queue = self.stream.events
        while not queue.empty():
            event = queue.get_nowait()
            if isinstance(event, asp.Audio):
                self._heard(event.pcm)
            elif isinstance(event, asp.Dtmf):
                self._inputs.put_nowait(event)
            elif isinstance(event, asp.Terminated | Exception):
                self._inputs.put_nowait(event)
                self.ended = True
            # PeerError frames are reported by Asterisk before it closes: the close decides
        if self._endpointer is not None:
            done = self._endpointer.poll(self.settings.clock())
            if done is not None:
                self._speech_ended(done)

    def _heard(self, pcm: bytes) -> None:
        endpointer = self._endpointer
        if endpointer is None or endpointer.ended:
            return
        now = self.settings.clock()
        for frame in audio.frames(pcm) if len(pcm) != audio.FRAME_BYTES else [pcm]:
            event = endpointer.feed(frame, now)
            if isinstance(event, SpeechStarted):
                self._recognition_start()
                if self._barge_in:
                    self._playing.clear()
                self._inputs.put_nowait(event)
            if endpointer.untaken >= FEED_FRAMES * audio.FRAME_BYTES:
                self._feed()
            if isinstance(event, SpeechEnded):
                self._speech_ended(event)

    # ------------------------------------------------------------ recognition off the loop
    def _recognition_start(self) -> None:
        if self.recognizer is None:
            return
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="ivrflow-recognize")
        recognizer, grammar = self.recognizer, self.grammar
        self._chain(lambda _: setattr(self, "_recognition", recognizer.start(grammar)))

    def _chain(self, step: Callable[[Any], Any]) -> None:
        """Run `step` in the turn's worker after the steps before it (in order)."""
        assert self._worker is not None
        loop = asyncio.get_running_loop()
        before = self._feeding

        def run() -> Any:
            if before is not None and before.exception() is not None:
                raise before.exception()  # type: ignore[misc]
            return step(None)

        async def after() -> Any:
            if before is not None:
                with contextlib.suppress(Exception):
                    await before
            assert self._worker is not None
            return await loop.run_in_executor(self._worker, run)

        self._feeding = asyncio.ensure_future(after())

    def _feed(self) -> None:
        chunk = self._endpointer.take() if self._endpointer is not None else b""
        if self._worker is not None and chunk:
            self._chain(lambda _: self._recognition.feed(chunk) if self._recognition else None)

    def _speech_ended(self, done: SpeechEnded) -> None:
        if self.speech_ended_at is not None:
            return
        self.speech_ended_at = done.at
        self._feed()
        self._inputs.put_nowait(done)

    async def _hypothesis(self) -> Hypothesis:
        if self._worker is None or self._feeding is None:
            return Hypothesis("", 0.0, complete=False)
        self._chain(lambda _: self._recognition.result() if self._recognition else None)
        try:
            found = await asyncio.wait_for(
                asyncio.shield(self._feeding), self.settings.recognize_timeout
            )
        except TimeoutError:
            log.warning(
                "voice: the recognizer gave no answer in %ss", self.settings.recognize_timeout
            )
            return Hypothesis("", 0.0, complete=False, detail={"timed_out": 1.0})
        except Exception as exc:
            log.warning("voice: the recognizer failed: %s: %s", type(exc).__name__, exc)
            return Hypothesis("", 0.0, complete=False, detail={"failed": 1.0})
        finally:
            self._worker.shutdown(wait=False)
            self._worker = None
        return found if isinstance(found, Hypothesis) else Hypothesis("", 0.0, complete=False)

    # ------------------------------------------------------------ what the channel asks
    async def play(self, pcm: bytes, barge_in: bool, spec: act.Collect) -> ev.Event | None:
        """Play a prompt; an input event if the caller barged in (and finished), else None."""
        self._barge_in = barge_in
        if not barge_in and self._endpointer is not None and self._endpointer.speaking:
            self._endpointer = self._new_endpointer()  # talking over a prompt that forbids it
        self._playing = [f for f in asp.audio_frames(pcm)] if pcm else []
        if not self._playing:
            return None
        while True:
            item = await self._inputs.get()
            if item == "played":
                return None
            if isinstance(item, SpeechStarted):
                if barge_in:
                    return await self._finish_speech(spec)
                continue
            if isinstance(item, asp.Dtmf):
                if barge_in:
                    self._playing.clear()
                    return await self._finish_keys(item.key, spec)
                self._keys += item.key  # type-ahead: taken when listening starts
                continue
            event = self._other(item)
            if event is not None:
                self._playing.clear()
                return event

    async def listen(self, spec: act.Collect) -> ev.Event:
        """After the prompts: wait `timeout` for speech or a key, then take it whole."""
        self._barge_in = True
        if self._keys:
            keys, self._keys = self._keys, ""
            return await self._finish_keys(keys, spec)
        if self._endpointer is not None and self._endpointer.speaking:
            return await self._finish_speech(spec)
        if self._endpointer is None or self._endpointer.ended:
            self._endpointer = self._new_endpointer()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + spec.timeout
        while True:
            try:
                item = await asyncio.wait_for(self._inputs.get(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                return ev.NoInput(self.settings.clock())
            if item == "played":
                continue
            if isinstance(item, SpeechStarted):
                return await self._finish_speech(spec)
            if isinstance(item, SpeechEnded):  # began and ended before we looked
                return await self._utterance()
            if isinstance(item, asp.Dtmf):
                return await self._finish_keys(item.key, spec)
            event = self._other(item)
            if event is not None:
                return event

    async def _finish_speech(self, spec: act.Collect) -> ev.Event:
        while True:
            item = await self._inputs.get()
            if isinstance(item, SpeechEnded):
                return await self._utterance()
            if item == "played" or isinstance(item, SpeechStarted | asp.Dtmf):
                continue  # a key while talking: the words win (VoiceXML takes the first)
            event = self._other(item)
            if event is not None:
                return event

    async def _utterance(self) -> ev.Event:
        found = await self._hypothesis()
        return ev.Utterance(self.settings.clock(), found.text, found.confidence)

    async def _finish_keys(self, keys: str, spec: act.Collect) -> ev.Event:
        """Keys pressed in the turn, as `collect` takes them: up to max, the terminator, or
        the inter-digit timeout."""
        self._endpointer = None  # keys now: speech is not listened for
        while len(keys) < spec.max_digits and not (spec.terminator and spec.terminator in keys):
            try:
                item = await asyncio.wait_for(self._inputs.get(), spec.interdigit)
            except TimeoutError:
                break
            if isinstance(item, asp.Dtmf):
                keys += item.key
                continue
            if isinstance(item, str | SpeechStarted | SpeechEnded):
                continue
            event = self._other(item)
            if event is not None:
                return event
        return ev.Digits(self.settings.clock(), keys)

    def _other(self, item: Any) -> ev.Event | None:
        if isinstance(item, asp.Terminated):
            return ev.Hangup(self.settings.clock())
        if isinstance(item, Exception):
            raise VoiceFailure(f"AudioSocket: {item}") from item
        return None

    async def close(self) -> None:
        """Send the terminate frame (AudioSocket() returns 0 to the AGI) and stop."""
        self.ended = True
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump
        if self._feeding is not None and not self._feeding.done():
            self._feeding.cancel()  # a hung recognizer's thread is left to finish alone
        if self._worker is not None:
            self._worker.shutdown(wait=False)
        self.stream.send(asp.terminate_frame())
        self.stream.close()


class AGISender(Protocol):
    """The FastAGI connection, as far as the voice leg needs it."""

    hung_up: bool

    async def send(self, line: bytes, *, dead_ok: bool = False) -> agi.Reply: ...


@dataclass
class VoiceLeg:
    """The speech side of one FastAGI call: opens a turn for the states that listen for
    speech, plays their prompts and takes their input through it, closes it before any
    other AGI command (one command at a time: AudioSocket() holds the AGI while it runs)."""

    conn: AGISender
    settings: VoiceSettings
    media: MediaServer
    turn: Turn | None = None
    _exec: asyncio.Task[agi.Reply] | None = None
    _silent_languages: set[str] = field(default_factory=set)

    def recognizer_for(self, spec: act.Collect | None, language: str) -> Recognizer | None:
        """The recognizer when `spec` listens for speech this leg can hear, else None."""
        if spec is None or "speech" not in spec.kinds:
            return None
        if not spec.phrases and not spec.hints and not spec.free_speech:
            return None  # spoken digits of a capture: keys behind Asterisk
        language = spec.language or language
        found = self.settings.recognizers.for_language(language)
        if found is None and language not in self._silent_languages:
            self._silent_languages.add(language)
            log.warning("voice: no recognizer for %s: its calls listen for keys only", language)
        return found

    async def play(
        self,
        action: act.Say,
        spec: act.Collect,
        recognizer: Recognizer,
        language: str,
        keep: bool = True,
    ) -> ev.Event | None:
        """`keep`: the prompt is constant (the same words every call) and may be cached."""
        synth = self.settings.synthesizer
        pcm = synth.cached(action.text, action.language, action.voice)
        if pcm is None:
            try:
                pcm = await asyncio.to_thread(
                    synth.synthesize, action.text, action.language, action.voice, keep
                )
            except Exception as exc:  # an engine that fails: the words go unsaid, the turn goes on
                log.warning("voice: cannot synthesize a prompt: %s", exc)
                pcm = b""
        turn = await self._open(spec, recognizer, language)
        event = await turn.play(pcm, action.barge_in, spec)
        if event is not None:
            await self.close()
        return event

    async def collect(self, spec: act.Collect, recognizer: Recognizer, language: str) -> ev.Event:
        turn = await self._open(spec, recognizer, language)
        try:
            return await turn.listen(spec)
        finally:
            await self.close()

    async def _open(self, spec: act.Collect, recognizer: Recognizer, language: str) -> Turn:
        if self.turn is not None:
            return self.turn
        call_uuid = turn_uuid()
        arriving = self.media.expect(call_uuid)
        args = f"{call_uuid},{self.settings.media_address}"
        self._exec = asyncio.ensure_future(
            self.conn.send(agi.exec_app("AudioSocket", args), dead_ok=True)
        )
        waits: set[asyncio.Future[Any]] = {arriving, self._exec}
        await asyncio.wait(
            waits,
            timeout=self.settings.connect_timeout,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if not arriving.done():
            self.media.forget(call_uuid)
            arriving.cancel()
            if self._exec.done():
                reply = self._exec.result()  # raises when the caller hung up meanwhile
                self._exec = None
                if reply.hangup or self.conn.hung_up:
                    raise ConnectionResetError("the caller hung up")
                raise VoiceFailure(f"AudioSocket() ended at once: {reply.text!r:.80}")
            raise VoiceFailure(f"Asterisk did not connect to {self.settings.media_address}")
        language = spec.language or language
        grammar = Grammar.of_phrases(language, spec.phrases + spec.hints, free=spec.free_speech)
        end_silence = spec.speech_timeout or self.settings.end_silence  # None: "auto"
        self.turn = Turn(arriving.result(), self.settings, recognizer, grammar, end_silence)
        self.turn.start()
        return self.turn

    async def close(self) -> None:
        """End the turn: terminate frame, then AudioSocket()'s reply to the AGI."""
        turn, self.turn = self.turn, None
        if turn is not None:
            await turn.close()
        pending, self._exec = self._exec, None
        if pending is None:
            return
        try:
            reply = await asyncio.wait_for(pending, self.settings.connect_timeout)
        except TimeoutError:
            raise VoiceFailure("AudioSocket() did not return after the terminate frame") from None
        if reply.result == "-1":  # the channel hung up while the stream ran
            self.conn.hung_up = True


def voice_settings(
    languages: list[str],
    models: list[str],
    *,
    media_listen: str = "127.0.0.1:0",
    media_address: str = "",
    end_silence: float = END_SILENCE,
) -> VoiceSettings:
    """Speech as `serve agi --speech LANG --speech-model LANG=DIR` asks for it. Every language
    listed needs a model (en-US has the one pocketsphinx ships): a clear start-up error
    otherwise, never a call that cannot hear."""
    from pathlib import Path

    from ..voice import missing_extra
    from ..voice.endpoint import WebRtcVad
    from ..voice.recognizer import SpeechSetupError
    from ..voice.sphinx import SphinxModel, SphinxRecognizer
    from ..voice.synthesis import EspeakSynthesizer

    problem = missing_extra()
    if problem:
        raise SpeechSetupError(problem)
    folders: dict[str, Path] = {}
    for item in models:
        lang, sep, where = item.partition("=")
        if not sep or not lang or not where:
            raise SpeechSetupError(f"--speech-model {item!r}: expected LANG=DIR")
        folders[lang.lower()] = Path(where)
    recognizers = RecognizerSet()
    for lang in languages or ["en-US"]:
        folder = folders.get(lang.lower())
        if folder is not None:
            model = SphinxModel.from_dir(folder, f"--speech-model {lang}={folder}")
        elif lang.lower() in ("en-us", "en"):
            model = SphinxModel.builtin()
        else:
            raise SpeechSetupError(
                f"no speech model for {lang}: pocketsphinx ships en-US only; give one with "
                f"--speech-model {lang}=DIR (a pocketsphinx model folder)"
            )
        recognizers.add(SphinxRecognizer(lang, model))
    return VoiceSettings(
        recognizers,
        CachedSynthesizer(EspeakSynthesizer()),
        WebRtcVad,
        media_listen=media_listen,
        media_address=media_address,
        end_silence=end_silence,
    )


def turn_uuid() -> str:
    return str(uuidlib.uuid4())


__all__ = [
    "AGISender",
    "MediaServer",
    "MediaStream",
    "Turn",
    "VoiceFailure",
    "VoiceLeg",
    "VoiceSettings",
    "turn_uuid",
    "voice_settings",
]
