"""The voicebot behind a real Asterisk (issue 15): caller audio in, recognized offline, spoken
answers out, barge-in on speech.

SIPp calls the lab Asterisk and plays RTP pcaps made here from espeak-ng speech; Asterisk runs
the FastAGI flow, which opens an AudioSocket per listening turn to ivrflow's media server.
Every assertion is on the call records (utterance text, confidence, chosen option, outcome).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid

import pytest
from asterisk_lab import Call, Lab, Probe, pcap, sipp_ok, sipp_report
from speech_audio import speech_pcap

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
