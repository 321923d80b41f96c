"""The voicebot's listening turn (issue 15) over a real loopback AudioSocket, with a fake
Asterisk on the other end and fake recognizers: endpointing, barge-in, keys, and every bad
input ending in a defined event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ivrflow.host.gateways import audiosocket_protocol as asp
from ivrflow.host.gateways.voice import MediaServer, Turn, VoiceFailure, VoiceSettings
from ivrflow.host.voice import audio
from ivrflow.host.voice.endpoint import Endpointer, SpeechEnded, SpeechStarted
from ivrflow.host.voice.recognizer import Grammar, Hypothesis, RecognizerSet
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev

LOUD = b"\x00\x20" * 160  # a frame the fake detector calls speech
QUIET = bytes(audio.FRAME_BYTES)
CALL = "0b8f6a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"


class Loudness:
    def is_speech(self, frame: bytes) -> bool:
        return frame != QUIET


class Fake:
    """A recognizer that hears what it was told to, or raises, or hangs."""

    language = "en-US"

    def __init__(self, text: str = "balance", how: str = "ok") -> None:
        self.text, self.how = text, how
        self.fed = 0
        self.grammars: list[Grammar] = []

    def start(self, grammar: Grammar) -> Fake:
        self.grammars.append(grammar)
        return self

    def feed(self, pcm: bytes) -> None:
        self.fed += len(pcm)

    def result(self) -> Hypothesis:
        if self.how == "raise":
            raise RuntimeError("decoder exploded")
        if self.how == "hang":
            time.sleep(3)
        return Hypothesis(self.text, 0.9)


def spec(timeout: float = 2.0) -> act.Collect:
    return act.Collect(("dtmf", "speech"), 1, 1, None, timeout, 1.0, True, ("balance", "bill"))


# ---------------------------------------------------------------- the endpointer alone


def test_speech_starts_after_60_ms_and_keeps_its_pre_roll() -> None:
    e = Endpointer(Loudness(), end_silence=0.3)
    assert e.feed(QUIET, 0.00) is None
    assert e.feed(LOUD, 0.02) is None and e.feed(LOUD, 0.04) is None
    started = e.feed(LOUD, 0.06)
    assert started == SpeechStarted(0.06)
    assert e.take() == QUIET + LOUD * 3
    assert e.feed(QUIET, 0.08) is None
    assert e.poll(0.30) is None
    ended = e.poll(0.37)
    assert isinstance(ended, SpeechEnded) and not ended.truncated
    assert ended.pcm == QUIET + LOUD * 3 + QUIET


def test_a_click_is_not_speech() -> None:
    e = Endpointer(Loudness())
    events = [e.feed(f, i * 0.02) for i, f in enumerate([LOUD, LOUD, QUIET, LOUD, QUIET])]
    assert events == [None] * 5 and not e.speaking


@pytest.mark.abuse
def test_a_60_second_utterance_is_cut_at_the_longest() -> None:
    e = Endpointer(Loudness(), max_utterance=20.0)
    out = [e.feed(LOUD, i * 0.02) for i in range(3000)]
    ended = [x for x in out if isinstance(x, SpeechEnded)]
    assert len(ended) == 1 and ended[0].truncated
    assert audio.seconds(ended[0].pcm) == pytest.approx(20.0, abs=0.05)


def test_grammar_normalizes_and_deduplicates() -> None:
    g = Grammar.of_phrases("en-US", ["Balance!", "balance", "How much do I owe?", ""])
    assert g.phrases == ("balance", "how much do i owe") and not g.free
    assert Grammar.of_phrases("en-US", ["bill"], free=True).hints == ("bill",)


def test_recognizers_by_language() -> None:
    rs = RecognizerSet()
    rs.add(Fake())
    assert rs.for_language("EN-us") is not None and rs.for_language("en-GB") is not None
    assert rs.for_language("pt-BR") is None


# ---------------------------------------------------------------- a turn over a socket


class Asterisk:
    """The Asterisk side of one AudioSocket stream: sends frames, collects what comes back."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received = bytearray()

    @classmethod
    async def connect(cls, address: str) -> Asterisk:
        host, _, port = address.rpartition(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(asp.uuid_frame(CALL))
        return cls(reader, writer)

    async def say(self, frames: list[bytes], pace: float = 0.0) -> None:
        for f in frames:
            self.writer.write(asp.frame(asp.KIND_AUDIO, f))
            if pace:
                await asyncio.sleep(pace)
        await self.writer.drain()

    async def heard(self) -> list[asp.AudioSocketEvent]:
        """Everything ivrflow sent, parsed as Asterisk would."""
        with_uuid = asp.uuid_frame(CALL) + bytes(self.received)
        return asp.AudioSocketParser().feed(with_uuid)[1:]

    async def drain(self) -> None:
        while True:
            try:
                data = await asyncio.wait_for(self.reader.read(65536), 0.5)
            except TimeoutError:
                return
            if not data:
                return
            self.received += data


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


async def open_turn(recognizer: Any, end_silence: float = 0.2) -> tuple[Turn, Asterisk, Any]:
    server = MediaServer()
    address = await server.start()
    settings = VoiceSettings(
        RecognizerSet(),
        None,
        Loudness,
        media_address=address,
        recognize_timeout=1.0,  # type: ignore[arg-type]
    )
    arriving = server.expect(CALL)
    peer = await Asterisk.connect(address)
    stream = await asyncio.wait_for(arriving, 2)
    grammar = Grammar.of_phrases("en-US", ["balance", "bill"])
    turn = Turn(stream, settings, recognizer, grammar, end_silence)
    turn.start()
    return turn, peer, server


def run(loop: asyncio.AbstractEventLoop, coro: Any) -> Any:
    return loop.run_until_complete(asyncio.wait_for(coro, 15))


def test_listen_hears_an_utterance_and_feeds_the_recognizer(
    loop: asyncio.AbstractEventLoop,
) -> None:
    async def go() -> tuple[ev.Event, Fake, list[asp.AudioSocketEvent]]:
        fake = Fake("balance")
        turn, peer, server = await open_turn(fake)
        listening = asyncio.ensure_future(turn.listen(spec()))
        await peer.say([QUIET] * 3 + [LOUD] * 20 + [QUIET] * 3, pace=0.005)
        event = await listening
        await turn.close()
        await peer.drain()
        await server.close()
        return event, fake, await peer.heard()

    event, fake, heard = run(loop, go())
    assert isinstance(event, ev.Utterance) and (event.text, event.confidence) == ("balance", 0.9)
    assert fake.fed >= 20 * audio.FRAME_BYTES  # the whole utterance, with its pre-roll
    assert fake.grammars[0].phrases == ("balance", "bill")
    assert heard[-1] == asp.Terminated()  # AudioSocket() returns 0 to the AGI
    assert all(isinstance(e, asp.Audio) for e in heard[:-1]) and heard[:-1]  # silence sent


def test_speech_over_a_prompt_stops_it(loop: asyncio.AbstractEventLoop) -> None:
    async def go() -> tuple[ev.Event | None, int]:
        turn, peer, server = await open_turn(Fake("bill"))
        prompt = LOUD * 250  # 5 s of prompt
        playing = asyncio.ensure_future(turn.play(prompt, True, spec()))
        await asyncio.sleep(0.3)
        await peer.say([LOUD] * 10 + [QUIET] * 2)
        event = await playing
        left = len(turn._playing)
        await turn.close()
        await server.close()
        return event, left

    event, left = run(loop, go())
    assert isinstance(event, ev.Utterance) and event.text == "bill"
    assert left == 0  # the rest of the prompt was dropped


def test_a_key_over_a_prompt_is_the_choice(loop: asyncio.AbstractEventLoop) -> None:
    async def go() -> ev.Event | None:
        turn, peer, server = await open_turn(Fake())
        playing = asyncio.ensure_future(turn.play(LOUD * 250, True, spec()))
        await asyncio.sleep(0.1)
        peer.writer.write(asp.dtmf_frame("2"))
        event = await playing
        await turn.close()
        await server.close()
        return event

    event = run(loop, go())
    assert isinstance(event, ev.Digits) and event.keys == "2"


def test_silence_is_no_input(loop: asyncio.AbstractEventLoop) -> None:
    async def go() -> ev.Event:
        turn, peer, server = await open_turn(Fake())
        event = await turn.listen(spec(timeout=0.3))
        await turn.close()
        await server.close()
        return event

    assert isinstance(run(loop, go()), ev.NoInput)


@pytest.mark.abuse
@pytest.mark.parametrize("how", ["raise", "hang"])
def test_a_recognizer_that_fails_is_heard_as_nothing(
    loop: asyncio.AbstractEventLoop, how: str
) -> None:
    async def go() -> tuple[ev.Event, float]:
        turn, peer, server = await open_turn(Fake(how=how))
        began = time.monotonic()
        listening = asyncio.ensure_future(turn.listen(spec()))
        await peer.say([LOUD] * 10 + [QUIET] * 2)
        event = await listening
        took = time.monotonic() - began
        await turn.close()
        await server.close()
        return event, took

    event, took = run(loop, go())
    assert isinstance(event, ev.Utterance) and (event.text, event.confidence) == ("", 0.0)
    assert took < 2.5  # bounded by recognize_timeout (1 s here), not the hung decoder (3 s)


@pytest.mark.abuse
def test_socket_closed_mid_utterance_is_a_hangup(loop: asyncio.AbstractEventLoop) -> None:
    async def go() -> ev.Event:
        turn, peer, server = await open_turn(Fake())
        listening = asyncio.ensure_future(turn.listen(spec()))
        await peer.say([LOUD] * 8)
        peer.writer.close()
        event = await listening
        await turn.close()
        await server.close()
        return event

    assert isinstance(run(loop, go()), ev.Hangup)


@pytest.mark.abuse
@pytest.mark.parametrize(
    "garbage", [b"\x42\x00\x01x", asp.frame(0x12, bytes(640)), asp.frame(asp.KIND_AUDIO, b"x")]
)
def test_garbage_or_wrong_format_fails_the_turn(
    loop: asyncio.AbstractEventLoop, garbage: bytes
) -> None:
    async def go() -> None:
        turn, peer, server = await open_turn(Fake())
        listening = asyncio.ensure_future(turn.listen(spec()))
        peer.writer.write(garbage)
        try:
            await listening
        finally:
            await turn.close()
            await server.close()

    with pytest.raises(VoiceFailure, match="AudioSocket"):
        run(loop, go())


def test_a_stream_for_an_unknown_call_is_refused(loop: asyncio.AbstractEventLoop) -> None:
    async def go() -> bytes:
        server = MediaServer()
        address = await server.start()
        peer = await Asterisk.connect(address)
        data = await asyncio.wait_for(peer.reader.read(100), 2)
        await server.close()
        return data

    assert run(loop, go()) == b""  # closed at once


def test_the_leg_reads_the_collects_recognizer_settings() -> None:
    """Issue 12's settings: the state's language wins over the call's; a capture of words is
    free speech; spoken digits of a capture (no phrases, no hints) stay keys behind Asterisk."""
    from dataclasses import replace

    from ivrflow.host.gateways.voice import VoiceLeg

    fake = Fake()
    rs = RecognizerSet()
    rs.add(fake)
    leg = VoiceLeg(None, VoiceSettings(rs, None, Loudness), MediaServer())  # type: ignore[arg-type]
    menu = spec()
    assert leg.recognizer_for(menu, "en-US") is fake
    assert leg.recognizer_for(replace(menu, language="pt-BR"), "en-US") is None
    assert leg.recognizer_for(replace(menu, language="en-US"), "pt-BR") is fake
    digits = replace(menu, phrases=())
    assert leg.recognizer_for(digits, "en-US") is None
    assert leg.recognizer_for(replace(digits, free_speech=True), "en-US") is fake
    assert leg.recognizer_for(replace(menu, kinds=("dtmf",)), "en-US") is None
