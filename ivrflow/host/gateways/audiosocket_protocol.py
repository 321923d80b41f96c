"""Asterisk's AudioSocket, sans-IO: bytes in, events out; frames formatted as bytes.

AudioSocket is a TCP stream of frames, each a 3-byte header (kind, payload length as a
big-endian 16-bit number) and the payload:

    0x00  terminate (no payload)            either side: the stream ends; Asterisk's
                                            AudioSocket() application then returns 0
    0x01  the call's UUID (16 bytes)        the first frame Asterisk sends
    0x03  a DTMF key (1 ASCII byte)         Asterisk → us, when the caller presses a key
    0x10  audio: signed linear 16-bit, 8 kHz, mono, little-endian (20 ms = 320 bytes)
    0x11… audio at other rates (newer channel-driver builds): not what we asked for
    0xff  an error (optional 1-byte code)

The parser never trusts the peer: an unknown kind, an oversized or odd-length audio payload,
a UUID that is not 16 bytes, audio before the UUID, anything after a terminate, or a stream
that ends inside a frame is an `AudioSocketError` (`WrongAudioFormat` for audio at another
rate) — the caller of this module decides what the call does about it.
"""

from __future__ import annotations

import struct
import uuid as uuidlib
from dataclasses import dataclass
from typing import TypeAlias

KIND_TERMINATE = 0x00
KIND_UUID = 0x01
KIND_DTMF = 0x03
KIND_AUDIO = 0x10  # slin16 at 8 kHz: the only format AudioSocket() sends
KIND_ERROR = 0xFF
OTHER_RATES = frozenset(range(0x11, 0x19))  # slin at 12…192 kHz (chan_audiosocket)

SAMPLE_RATE = 8000
FRAME_BYTES = 320  # 20 ms of 8 kHz 16-bit mono
MAX_PAYLOAD = 8192  # a quarter second of audio; Asterisk sends 20 ms frames
_HEADER = struct.Struct("!BH")
DTMF_KEYS = frozenset("0123456789*#ABCD")


class AudioSocketError(Exception):
    """The peer broke the protocol: garbage, an oversized frame, a truncated stream."""


class WrongAudioFormat(AudioSocketError):
    """Audio that is not 8 kHz signed linear (another rate, an odd number of bytes)."""


@dataclass(frozen=True, slots=True)
class Identified:
    """The first frame: which call this stream belongs to (the UUID given to AudioSocket())."""

    uuid: str


@dataclass(frozen=True, slots=True)
class Audio:
    """Caller audio: 8 kHz signed linear 16-bit mono, little-endian."""

    pcm: bytes


@dataclass(frozen=True, slots=True)
class Dtmf:
    key: str


@dataclass(frozen=True, slots=True)
class Terminated:
    """The peer ended the stream: a terminate frame, or the socket closed between frames."""


@dataclass(frozen=True, slots=True)
class PeerError:
    """Asterisk reported an error (code 1: hang-up, 2: frame forwarding, 4: memory)."""

    code: int | None


AudioSocketEvent: TypeAlias = Identified | Audio | Dtmf | Terminated | PeerError


class AudioSocketParser:
    """Incremental parser for what Asterisk sends: feed bytes, take events."""

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.max_payload = max_payload
        self._buf = bytearray()
        self.uuid: str | None = None
        self.ended = False

    def feed(self, data: bytes) -> list[AudioSocketEvent]:
        """Add bytes; return the events completed by them. Raises AudioSocketError."""
        if self.ended:
            if data:
                raise AudioSocketError("data after the stream ended")
            return []
        self._buf += data
        out: list[AudioSocketEvent] = []
        while len(self._buf) >= _HEADER.size and not self.ended:
            kind, length = _HEADER.unpack_from(self._buf)
            self._check_header(kind, length)
            if len(self._buf) < _HEADER.size + length:
                break
            payload = bytes(self._buf[_HEADER.size : _HEADER.size + length])
            del self._buf[: _HEADER.size + length]
            out.append(self._event(kind, payload))
        if self.ended and self._buf:
            raise AudioSocketError("data after a terminate frame")
        return out

    def feed_eof(self) -> list[AudioSocketEvent]:
        """The socket closed. Between frames that is a terminate; inside one, an error."""
        if self._buf:
            n = len(self._buf)
            self._buf.clear()
            self.ended = True
            raise AudioSocketError(f"stream closed inside a frame ({n} bytes left)")
        if self.ended:
            return []
        self.ended = True
        return [Terminated()]

    def _check_header(self, kind: int, length: int) -> None:
        if kind in OTHER_RATES:
            raise WrongAudioFormat(f"audio kind 0x{kind:02x}: not 8 kHz signed linear")
        if kind not in (KIND_TERMINATE, KIND_UUID, KIND_DTMF, KIND_AUDIO, KIND_ERROR):
            raise AudioSocketError(f"unknown frame kind 0x{kind:02x}")
        if length > self.max_payload:
            raise AudioSocketError(f"frame of {length} bytes (at most {self.max_payload})")

    def _event(self, kind: int, payload: bytes) -> AudioSocketEvent:
        if kind == KIND_TERMINATE:
            self.ended = True
            return Terminated()
        if kind == KIND_ERROR:
            return PeerError(payload[0] if payload else None)
        if kind == KIND_UUID:
            if self.uuid is not None:
                raise AudioSocketError("a second UUID frame")
            if len(payload) != 16:
                raise AudioSocketError(f"UUID frame of {len(payload)} bytes (16 expected)")
            self.uuid = str(uuidlib.UUID(bytes=payload))
            return Identified(self.uuid)
        if self.uuid is None:
            raise AudioSocketError("media before the UUID frame")
        if kind == KIND_DTMF:
            key = payload.decode("ascii", "replace") if len(payload) == 1 else ""
            if key not in DTMF_KEYS:
                raise AudioSocketError(f"malformed DTMF frame {payload!r:.20}")
            return Dtmf(key)
        if len(payload) % 2:
            raise WrongAudioFormat(f"audio frame of {len(payload)} bytes: not 16-bit samples")
        return Audio(payload)


# ------------------------------------------------------------------ frames we send


def frame(kind: int, payload: bytes = b"") -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError("an AudioSocket payload holds at most 65535 bytes")
    return _HEADER.pack(kind, len(payload)) + payload


def audio_frames(pcm: bytes, size: int = FRAME_BYTES) -> list[bytes]:
    """8 kHz slin16 cut into 20 ms frames (the last one padded with silence)."""
    if len(pcm) % 2:
        raise ValueError("16-bit audio has an even number of bytes")
    out = []
    for i in range(0, len(pcm), size):
        chunk = pcm[i : i + size]
        out.append(frame(KIND_AUDIO, chunk + bytes(size - len(chunk))))
    return out


def terminate_frame() -> bytes:
    return frame(KIND_TERMINATE)


def uuid_frame(value: str) -> bytes:
    return frame(KIND_UUID, uuidlib.UUID(value).bytes)


def dtmf_frame(key: str) -> bytes:
    if key not in DTMF_KEYS:
        raise ValueError(f"not a DTMF key: {key!r}")
    return frame(KIND_DTMF, key.encode("ascii"))


__all__ = [
    "FRAME_BYTES",
    "SAMPLE_RATE",
    "Audio",
    "AudioSocketError",
    "AudioSocketEvent",
    "AudioSocketParser",
    "Dtmf",
    "Identified",
    "PeerError",
    "Terminated",
    "WrongAudioFormat",
    "audio_frames",
    "dtmf_frame",
    "frame",
    "terminate_frame",
    "uuid_frame",
]
