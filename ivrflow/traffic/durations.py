"""How long prompts take: words per minute per language, or the audio file's own length.

Templates are not rendered (the values are not known ahead of a call): each
`{{ … }}` placeholder counts as `PLACEHOLDER_WORDS` words, about what a date, an
amount or a short number takes to say.
"""

from __future__ import annotations

import re
import wave
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

__all__ = ["PLACEHOLDER_WORDS", "PLAY_DEFAULT", "audio_seconds", "speech_seconds", "wpm_for"]

PLACEHOLDER_WORDS = 4
PLAY_DEFAULT = 3.0  # seconds for a recording the model does not time and that cannot be read
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
_WORD = re.compile(r"\w+")


def wpm_for(language: str, wpm: Mapping[str, float], default: float) -> float:
    """The rate for a language tag, else its base language ('pt' for 'pt-BR'), else default."""
    if language in wpm:
        return wpm[language]
    base = language.split("-")[0]
    for tag, rate in wpm.items():
        if tag.split("-")[0] == base:
            return rate
    return default


def speech_seconds(text: str, words_per_minute: float) -> float:
    placeholders = len(_PLACEHOLDER.findall(text))
    plain = _PLACEHOLDER.sub(" ", text)
    words = len(_WORD.findall(plain)) + PLACEHOLDER_WORDS * placeholders
    # A short pause after every sentence, as synthesizers make.
    pauses = 0.3 * max(1, plain.count(".") + plain.count("?") + plain.count("!"))
    return words * 60.0 / words_per_minute + pauses


@lru_cache(maxsize=256)
def audio_seconds(path: str) -> float | None:
    """The length of a WAV recording, or None when it cannot be read."""
    try:
        with wave.open(str(Path(path)), "rb") as w:
            return w.getnframes() / float(w.getframerate())
    except (OSError, EOFError, wave.Error):
        return None
