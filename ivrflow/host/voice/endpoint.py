"""Where the caller's speech starts and ends, sans-IO: frames (and the time) in, events out.

A `VoiceDetector` says whether one 20 ms frame is speech (webrtcvad by default). The
`Endpointer` turns those answers into `SpeechStarted` (enough voiced frames in a row: a cough
or a click is not a barge-in) and `SpeechEnded` (the state's end-of-speech silence has passed,
or the utterance reached its longest). The time comes in with each call, never from a clock
here: a caller who stops talking may also stop sending audio (no RTP during silence), so the
silence is measured in time, by `poll`, not by counting frames.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Protocol, TypeAlias

from .audio import FRAME_BYTES, FRAME_MS

START_FRAMES = 3  # 60 ms of speech in a row starts an utterance
PRE_ROLL_FRAMES = 15  # 300 ms kept from before the start: the first phoneme is quiet
END_SILENCE = 0.6  # seconds of silence that end an utterance, unless the state says
MAX_UTTERANCE = 20.0  # seconds: longer is cut (and recognized as far as it went)


class VoiceDetector(Protocol):
    def is_speech(self, frame: bytes) -> bool:
        """Is this 20 ms frame of 8 kHz PCM speech?"""
        ...


class WebRtcVad:
    """Google's WebRTC voice-activity detector (aggressiveness 0..3; 2 suits phone lines)."""

    def __init__(self, aggressiveness: int = 2) -> None:
        import webrtcvad

        self._vad = webrtcvad.Vad(aggressiveness)

    def is_speech(self, frame: bytes) -> bool:
        return bool(self._vad.is_speech(frame, 8000))


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    at: float


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    at: float
    pcm: bytes  # the utterance, with its pre-roll
    truncated: bool = False  # cut at the longest utterance


EndpointEvent: TypeAlias = SpeechStarted | SpeechEnded


class Endpointer:
    def __init__(
        self,
        detector: VoiceDetector,
        end_silence: float = END_SILENCE,
        max_utterance: float = MAX_UTTERANCE,
    ) -> None:
        self.detector = detector
        self.end_silence = end_silence
        self.max_bytes = int(max_utterance * 1000 / FRAME_MS) * FRAME_BYTES
        self._recent: deque[bytes] = deque(maxlen=PRE_ROLL_FRAMES)
        self._run = 0  # voiced frames in a row before the start
        self._speech: bytearray | None = None
        self._last_voiced = 0.0
        self._taken = 0  # bytes of the utterance already handed out by `take`
        self.ended = False

    @property
    def speaking(self) -> bool:
        return self._speech is not None and not self.ended

    @property
    def untaken(self) -> int:
        return 0 if self._speech is None else len(self._speech) - self._taken

    def take(self) -> bytes:
        """The utterance's audio not handed out yet (a recognizer fed while the caller talks)."""
        if self._speech is None:
            return b""
        chunk = bytes(self._speech[self._taken :])
        self._taken = len(self._speech)
        return chunk

    def feed(self, frame: bytes, at: float) -> EndpointEvent | None:
        """One 20 ms frame heard at `at`."""
        if self.ended or len(frame) != FRAME_BYTES:
            return None
        voiced = self.detector.is_speech(frame)
        if self._speech is None:
            self._recent.append(frame)
            self._run = self._run + 1 if voiced else 0
            if self._run < START_FRAMES:
                return None
            self._speech = bytearray(b"".join(self._recent))
            self._last_voiced = at
            return SpeechStarted(at)
        self._speech += frame
        if voiced:
            self._last_voiced = at
        if len(self._speech) >= self.max_bytes:
            return self._end(at, truncated=True)
        return self.poll(at)

    def poll(self, at: float) -> SpeechEnded | None:
        """Has the caller been silent long enough (or sent nothing) since the last speech?"""
        if self._speech is None or self.ended:
            return None
        if at - self._last_voiced >= self.end_silence:
            return self._end(at)
        return None

    def finish(self, at: float) -> SpeechEnded | None:
        """The stream ended: what was said so far, if the caller had started."""
        if self._speech is None or self.ended:
            return None
        return self._end(at)

    def _end(self, at: float, truncated: bool = False) -> SpeechEnded:
        self.ended = True
        assert self._speech is not None
        return SpeechEnded(at, bytes(self._speech), truncated)


__all__ = [
    "END_SILENCE",
    "MAX_UTTERANCE",
    "EndpointEvent",
    "Endpointer",
    "SpeechEnded",
    "SpeechStarted",
    "VoiceDetector",
    "WebRtcVad",
]
