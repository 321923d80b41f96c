"""Text-to-speech for the voicebot: the interface, and espeak-ng as the embedded engine.

A `Synthesizer` turns a prompt's text into 8 kHz signed linear 16-bit mono PCM, the format
AudioSocket plays; it runs in a worker thread. `CachedSynthesizer` keeps what was rendered,
by language, voice and text, so a menu read a second time costs nothing; a templated
prompt (caller data) is synthesized for its call and not kept. Another engine
(a cloud TTS, Piper) implements `synthesize` and is handed to the gateway instead.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections import OrderedDict
from typing import Protocol

from .recognizer import SpeechSetupError

RENDER_TIMEOUT = 30.0  # seconds for one prompt


class Synthesizer(Protocol):
    def synthesize(self, text: str, language: str, voice: str | None = None) -> bytes:
        """The text spoken, as 8 kHz signed linear 16-bit mono PCM."""
        ...


class EspeakSynthesizer:
    """espeak-ng for the words, sox to resample its 22 kHz output to the telephone's 8 kHz."""

    def __init__(self, voice_of: dict[str, str] | None = None, speed: int = 165) -> None:
        espeak, sox = shutil.which("espeak-ng"), shutil.which("sox")
        if espeak is None or sox is None:
            missing = " and ".join(n for n, p in (("espeak-ng", espeak), ("sox", sox)) if not p)
            raise SpeechSetupError(f"spoken prompts need {missing} (apt-get install {missing})")
        self.espeak, self.sox = espeak, sox
        self.voice_of = {k.lower(): v for k, v in (voice_of or {}).items()}
        self.speed = speed

    def synthesize(self, text: str, language: str, voice: str | None = None) -> bytes:
        # A flow's `voice` names a cloud TTS voice, not espeak's: the language picks espeak's.
        espeak_voice = self.voice_of.get(language.lower(), language.lower())
        wav = subprocess.run(
            [self.espeak, "-v", espeak_voice, "-s", str(self.speed), "--stdout", text],
            capture_output=True,
            check=True,
            timeout=RENDER_TIMEOUT,
        ).stdout
        raw = ["-t", "raw", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", "-"]
        return subprocess.run(
            [self.sox, "-t", "wav", "-", *raw],
            input=wav,
            capture_output=True,
            check=True,
            timeout=RENDER_TIMEOUT,
        ).stdout


class CachedSynthesizer:
    """Rendered prompts kept in memory, least recently used out past `max_bytes`."""

    def __init__(self, engine: Synthesizer, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.engine = engine
        self.max_bytes = max_bytes
        self._cache: OrderedDict[tuple[str, str, str | None], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def cached(self, text: str, language: str, voice: str | None = None) -> bytes | None:
        key = (text, language, voice)
        with self._lock:
            pcm = self._cache.get(key)
            if pcm is not None:
                self._cache.move_to_end(key)
            return pcm

    def synthesize(
        self, text: str, language: str, voice: str | None = None, keep: bool = True
    ) -> bytes:
        """`keep=False` for a templated prompt (the caller's data): rendered, never kept."""
        found = self.cached(text, language, voice)
        if found is not None:
            return found
        pcm = self.engine.synthesize(text, language, voice)
        if not keep:
            return pcm
        with self._lock:
            self._cache[(text, language, voice)] = pcm
            self._size += len(pcm)
            while self._size > self.max_bytes and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._size -= len(old)
        return pcm


__all__ = ["CachedSynthesizer", "EspeakSynthesizer", "Synthesizer"]
