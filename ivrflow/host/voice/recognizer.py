"""The speech-recognizer interface, the grammar a listening state gives it, and the set of
recognizers by language.

A recognizer is anything with `language` and `start(grammar) -> Recognition`; a
`Recognition` takes the utterance's audio as it comes (`feed`, 8 kHz signed linear 16-bit
mono, any chunk size) and gives one `Hypothesis` at the end (`result`). Both run in a worker
thread, never on the event loop, and the gateway bounds `result` with a timeout: a recognizer
that raises or hangs is a defined event of the call (docs/runtime.md), not a stuck call.

The grammar is built from the state the way VoiceXML compiles SRGS: a menu's phrases (all
synonyms of all choices) are the only sentences a `constrained` grammar accepts; a free-speech
capture asks for `free` recognition with the state's hints. pocketsphinx (`sphinx`) is the
offline default; Vosk or a whisper-class model plugs in by implementing the two methods and
being registered for a language (`RecognizerSet.add`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from ...model import speech


class SpeechSetupError(Exception):
    """Speech cannot start as configured (a language without a model, a broken model)."""


class RecognizerFailed(Exception):
    """A recognizer raised while decoding; the call's error path takes it from there."""


@dataclass(frozen=True, slots=True)
class Grammar:
    """What the caller may say: `phrases` for a constrained grammar, or free speech."""

    language: str
    phrases: tuple[str, ...] = ()
    free: bool = False
    hints: tuple[str, ...] = ()  # words to favour in free speech

    @classmethod
    def of_phrases(cls, language: str, phrases: Iterable[str], free: bool = False) -> Grammar:
        """Normalized and deduplicated, in the order the flow gives them."""
        seen: dict[str, None] = {}
        for p in phrases:
            norm = speech.normalize(p)
            if norm:
                seen.setdefault(norm, None)
        if free:
            return cls(language, (), True, tuple(seen))
        return cls(language, tuple(seen))


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """What the recognizer heard. `confidence` 0..1; `complete` False when the audio did not
    fit any sentence of the grammar (the text is then the best partial path, or empty)."""

    text: str
    confidence: float
    complete: bool = True
    detail: dict[str, float] = field(default_factory=dict)


class Recognition(Protocol):
    def feed(self, pcm: bytes) -> None: ...

    def result(self) -> Hypothesis: ...


class Recognizer(Protocol):
    language: str

    def start(self, grammar: Grammar) -> Recognition: ...


RecognizerFactory = Callable[[], Recognizer]


class RecognizerSet:
    """Recognizers by language (BCP 47 tags, matched case-insensitively, `en` for `en-US`
    only when no exact one is registered)."""

    def __init__(self) -> None:
        self._by_language: dict[str, Recognizer] = {}

    def add(self, recognizer: Recognizer) -> None:
        self._by_language[recognizer.language.lower()] = recognizer

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(r.language for r in self._by_language.values())

    def for_language(self, language: str) -> Recognizer | None:
        tag = language.lower()
        found = self._by_language.get(tag)
        if found is None:
            primary = tag.partition("-")[0]
            found = next(
                (r for t, r in self._by_language.items() if t.partition("-")[0] == primary), None
            )
        return found


def recognize(recognizer: Recognizer, grammar: Grammar, pcm: bytes) -> Hypothesis:
    """A whole utterance at once (tests, benchmarks)."""
    run = recognizer.start(grammar)
    run.feed(pcm)
    return run.result()


__all__ = [
    "Grammar",
    "Hypothesis",
    "Recognition",
    "Recognizer",
    "RecognizerFactory",
    "RecognizerFailed",
    "RecognizerSet",
    "SpeechSetupError",
    "recognize",
]
