"""The AudioSocket wire format without a socket: framing, garbage, wrong formats, closing."""

from __future__ import annotations

import struct
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ivrflow.host.gateways import audiosocket_protocol as asp

CALL = "40f3f6e8-7a3b-4c53-9d8e-0123456789ab"


def hello() -> bytes:
    return asp.uuid_frame(CALL)


def test_uuid_then_audio_and_dtmf() -> None:
    p = asp.AudioSocketParser()
    pcm = bytes(range(256)) + bytes(64)
    data = hello() + asp.frame(asp.KIND_AUDIO, pcm) + asp.dtmf_frame("5") + asp.terminate_frame()
    assert p.feed(data) == [
        asp.Identified(CALL),
        asp.Audio(pcm),
        asp.Dtmf("5"),
        asp.Terminated(),
    ]
    assert p.ended and p.uuid == CALL


def test_frames_split_anywhere_give_the_same_events() -> None:
    data = hello() + b"".join(asp.audio_frames(bytes(1000))) + asp.dtmf_frame("#")
    whole = asp.AudioSocketParser().feed(data)
    p = asp.AudioSocketParser()
    split = [e for i in range(len(data)) for e in p.feed(data[i : i + 1])]
    assert split == whole and len(whole) == 1 + 4 + 1


def test_audio_frames_are_20_ms_padded_with_silence() -> None:
    frames = asp.audio_frames(b"\x01\x00" * 170)  # 340 bytes: one full frame and a bit
    assert [len(f) for f in frames] == [3 + 320, 3 + 320]
    assert frames[1][:3] == bytes([0x10, 0x01, 0x40]) and frames[1][3 + 20 :] == bytes(300)
    with pytest.raises(ValueError):
        asp.audio_frames(b"\x00")


@pytest.mark.abuse
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x42\x00\x00", "unknown frame kind 0x42"),
        (struct.pack("!BH", 0x10, 9000), "frame of 9000 bytes"),
        (asp.frame(asp.KIND_UUID, b"short"), "UUID frame of 5 bytes"),
        (asp.frame(asp.KIND_AUDIO, bytes(320)), "media before the UUID"),
        (hello() + hello(), "a second UUID frame"),
        (hello() + asp.frame(asp.KIND_DTMF, b"x"), "malformed DTMF frame"),
        (hello() + asp.frame(asp.KIND_DTMF, b"12"), "malformed DTMF frame"),
        (hello() + asp.terminate_frame() + b"\x10", "data after a terminate frame"),
    ],
)
def test_garbage_is_a_protocol_error(data: bytes, message: str) -> None:
    with pytest.raises(asp.AudioSocketError, match=message):
        asp.AudioSocketParser().feed(data)


@pytest.mark.abuse
@pytest.mark.parametrize(
    "data",
    [
        asp.frame(0x12, bytes(640)),  # slin16 at 16 kHz from a newer chan_audiosocket
        asp.frame(asp.KIND_AUDIO, bytes(321)),  # not whole 16-bit samples
    ],
)
def test_audio_in_another_format_is_refused(data: bytes) -> None:
    with pytest.raises(asp.WrongAudioFormat):
        asp.AudioSocketParser().feed(hello() + data)


def test_socket_closed_between_frames_is_a_terminate() -> None:
    p = asp.AudioSocketParser()
    p.feed(hello())
    assert p.feed_eof() == [asp.Terminated()]
    assert p.feed_eof() == []


@pytest.mark.abuse
def test_socket_closed_inside_a_frame_is_an_error() -> None:
    p = asp.AudioSocketParser()
    p.feed(hello() + asp.frame(asp.KIND_AUDIO, bytes(320))[:100])
    with pytest.raises(asp.AudioSocketError, match="closed inside a frame"):
        p.feed_eof()
    with pytest.raises(asp.AudioSocketError, match="after the stream ended"):
        p.feed(b"\x00")


def test_error_frame_carries_its_code() -> None:
    p = asp.AudioSocketParser()
    assert p.feed(hello() + asp.frame(asp.KIND_ERROR, b"\x01") + asp.frame(asp.KIND_ERROR)) == [
        asp.Identified(CALL),
        asp.PeerError(1),
        asp.PeerError(None),
    ]


@pytest.mark.abuse
@given(st.binary(max_size=400))
def test_random_bytes_never_escape_as_anything_but_a_protocol_error(data: bytes) -> None:
    p = asp.AudioSocketParser()
    try:
        events = p.feed(hello() + data)
        events += p.feed_eof()
    except asp.AudioSocketError:
        return
    assert isinstance(events[0], asp.Identified)


def test_uuid_frame_round_trip() -> None:
    value = str(uuid.uuid4())
    assert asp.AudioSocketParser().feed(asp.uuid_frame(value)) == [asp.Identified(value)]
    with pytest.raises(ValueError):
        asp.dtmf_frame("x")
