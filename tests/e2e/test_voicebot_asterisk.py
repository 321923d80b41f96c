"""The voicebot behind a real Asterisk (issue 15): caller audio in, recognized offline, spoken
answers out, barge-in on speech.

SIPp calls the lab Asterisk and plays RTP pcaps made here from espeak-ng speech; Asterisk runs
the FastAGI flow, which opens an AudioSocket per listening turn to ivrflow's media server.
Every assertion is on the call records (utterance text, confidence, chosen option, outcome).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asterisk_lab import ROOT, Call, Lab, Probe, pcap, sipp_ok, sipp_report
from speech_audio import speech_pcap
from test_asterisk_lab import Server, office_always_open, serving, states

from ivrflow.host.gateways import audiosocket_protocol as asp

pytestmark = pytest.mark.asterisk


class MediaPeer(threading.Thread):
    """A bare AudioSocket listener: takes one stream, sends `reply_ms` of a tone, terminates."""

    def __init__(self, listen_ms: int = 2000, reply_ms: int = 400) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(30)
        self.port = int(self.sock.getsockname()[1])
        self.listen_ms, self.reply_ms = listen_ms, reply_ms
        self.events: list[asp.AudioSocketEvent] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(10)
                parser = asp.AudioSocketParser()
                conn.setblocking(False)
                # AudioSocket() gives up after 2 s without a frame either way, and a caller
                # who says nothing sends no RTP: the listener keeps sending (silence).
                silence = asp.audio_frames(bytes(asp.FRAME_BYTES))[0]
                for _ in range(self.listen_ms // 20):
                    conn.sendall(silence)
                    time.sleep(0.02)
                    try:
                        while data := conn.recv(65536):
                            self.events += parser.feed(data)
                    except BlockingIOError:
                        pass
                conn.setblocking(True)
                tone = (b"\x00\x10\x00\xf0" * 80) * (self.reply_ms // 20)
                for f in asp.audio_frames(tone):
                    conn.sendall(f)
                    time.sleep(0.02)
                conn.sendall(asp.terminate_frame())
                conn.settimeout(2)
                try:
                    while data := conn.recv(4096):
                        self.events += parser.feed(data)
                except (TimeoutError, asp.AudioSocketError):
                    pass
        except BaseException as exc:  # noqa: BLE001 — reported by the test
            self.error = exc
        finally:
            self.sock.close()


def test_audiosocket_media_path_cooperates_with_agi(asterisk: Lab) -> None:
    """EXEC AudioSocket from AGI: the UUID, caller audio and DTMF arrive; our terminate frame
    ends the application with result 0 and the AGI goes on with the same channel."""
    assert "AudioSocket" in asterisk.cli("core show application AudioSocket")
    media = MediaPeer()
    call_uuid = str(uuid.uuid4())
    probe = Probe(
        [
            f'EXEC AudioSocket "{call_uuid},127.0.0.1:{media.port}"',
            'GET VARIABLE "CHANNEL(state)"',
        ]
    )
    media.start()
    probe.start()
    proc = (
        Call(f"probe-{probe.port}", "+5511900001501")
        .play(speech_pcap("balance", asterisk.tmp / "balance.pcap"))
        .wait(1000)
        .rfc2833("5")
        .wait(2000)
        .place(asterisk.tmp, timeout=40)
    )
    probe.join(10)
    media.join(10)
    assert sipp_ok(proc), sipp_report(proc)
    assert probe.error is None and media.error is None, (probe.error, media.error)
    assert probe.replies[0] == "200 result=0", probe.replies
    assert probe.replies[1] == "200 result=1 (Up)", probe.replies
    assert media.events[0] == asp.Identified(call_uuid)
    audio = [e for e in media.events if isinstance(e, asp.Audio)]
    assert len(audio) >= 40 and all(len(a.pcm) == 320 for a in audio)
    assert asp.Dtmf("5") in media.events, media.events
    assert pcap("5").exists()


# ---------------------------------------------------------------- ivrflow serve agi --speech

ENGLISH_LINE = "+18885550142"  # billing.ivr speaks en-US to callers of this number


@pytest.fixture(scope="module")
def voicebot(asterisk: Lab) -> Iterator[Server]:
    work = asterisk.tmp / "voicebot"
    flows = work / "flows"
    shutil.copytree(ROOT / "flows", flows)
    office_always_open(flows)
    with serving(asterisk, work, flows, "--speech", "en-US") as srv:
        yield srv


def speech(record: dict[str, Any], state: str | None = None) -> list[tuple[str, float]]:
    return [
        (i["value"], i["confidence"])
        for i in record["inputs"]
        if i["kind"] == "speech" and (state is None or i["state"] == state)
    ]


def entered(record: dict[str, Any], state: str) -> float:
    return next(step["t"] for step in record["path"] if step["state"] == state)


def test_voice_alone_reaches_an_agent(asterisk: Lab, voicebot: Server) -> None:
    """'representative', said over the main menu's prompt (barge-in), takes the call to the
    English desk's queue with no key pressed."""
    ani = "+5511900001502"
    said = speech_pcap("representative", asterisk.tmp / "representative.pcap")
    proc = (
        Call(ENGLISH_LINE, ani, hold_ms=8000)
        .wait(3000)
        .play(said)
        .wait(4000)
        .place(asterisk.tmp, timeout=60)
    )
    assert sipp_ok(proc), sipp_report(proc)
    record = voicebot.record(ani, timeout=30)
    assert record["language"] == "en-US", record
    heard = speech(record, "main_menu")
    assert [text for text, _ in heard] == ["representative"], (record, voicebot.tail())
    assert heard[0][1] >= 0.6, record
    assert "agent_en" in states(record), record
    assert not [i for i in record["inputs"] if i["kind"] == "dtmf"], record


# The other calls run at once (each is a real-time call of 20-30 s); each test reads its own.
SCENARIOS: dict[str, Any] = {
    # said over the menu, then the contract number keyed, then "yes" over the read-back
    "mixed": ("+5511900001503", [("wait", 3000), ("say", "how much do I owe"), ("wait", 4000),
              ("keys", "79927398713#"), ("wait", 3500), ("say", "yes"), ("wait", 4000)]),
    "silence": ("+5511900001504", [("wait", 26000)]),
    "nomatch": ("+5511900001505", [("wait", 3000), ("say", "I want a pizza"), ("wait", 5000)]),
    "unsure": ("+5511900001506", [("wait", 3000), ("say", "bill"), ("wait", 4500),
               ("say", "yes"), ("wait", 4000)]),
}  # fmt: skip


@pytest.fixture(scope="module")
def placed(asterisk: Lab, voicebot: Server) -> dict[str, dict[str, Any]]:
    def place(name: str) -> dict[str, Any]:
        ani, steps = SCENARIOS[name]
        call = Call(ENGLISH_LINE, ani, hold_ms=3000)
        for kind, arg in steps:
            if kind == "wait":
                call.wait(arg)
            elif kind == "keys":
                call.info(arg, gap_ms=200)
            else:
                call.play(speech_pcap(arg, asterisk.tmp / f"{name}-{len(call.steps)}.pcap"))
        proc = call.place(asterisk.tmp / name, timeout=90)
        assert sipp_ok(proc), sipp_report(proc)
        return voicebot.record(ani, timeout=30)

    with ThreadPoolExecutor(len(SCENARIOS)) as pool:
        futures = {name: pool.submit(place, name) for name in SCENARIOS}
        return {name: f.result(timeout=150) for name, f in futures.items()}


def test_voice_and_keys_in_one_call(placed: dict[str, dict[str, Any]]) -> None:
    record = placed["mixed"]
    assert [t for t, _ in speech(record, "main_menu")] == ["how much do i owe"], record
    assert [i["value"] for i in record["inputs"] if i["state"] == "account"] == ["79927398713"]
    assert [t for t, _ in speech(record, "confirm_account")] == ["yes"], record
    assert "find_account" in states(record), record


def test_speech_over_the_prompt_stops_it(placed: dict[str, dict[str, Any]]) -> None:
    """Barge-in: the menu's prompt lasts about 10 s; the answer said 3 s into the call is taken
    long before it would have ended."""
    record = placed["mixed"]
    said = next(i for i in record["inputs"] if i["kind"] == "speech")
    assert said["t"] - entered(record, "main_menu") < 5.0, record


def test_silence_is_a_no_input(placed: dict[str, dict[str, Any]]) -> None:
    record = placed["silence"]
    assert speech(record) == [], record
    assert {"state": "main_menu", "kind": "noinput"} in [
        {k: f[k] for k in ("state", "kind")} for f in record["failures"]
    ], record


def test_a_phrase_not_in_the_menu_is_a_no_match(placed: dict[str, dict[str, Any]]) -> None:
    record = placed["nomatch"]
    heard = speech(record, "main_menu")
    assert len(heard) == 1 and heard[0][1] < 0.6, record
    assert [f["kind"] for f in record["failures"]][:1] == ["nomatch"], record


def test_low_confidence_asks_did_you_say(placed: dict[str, dict[str, Any]]) -> None:
    record = placed["unsure"]
    heard = speech(record, "main_menu")
    assert heard[0][0] == "bill" and heard[0][1] < 0.6, record  # billing.ivr: confidence 0.6
    assert [t for t, _ in heard[1:]] == ["yes"], record
    assert "identify" in states(record), record
