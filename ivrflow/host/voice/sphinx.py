"""The offline recognizer: CMU pocketsphinx 5 (its PyPI wheel ships a US English model).

Constrained recognition compiles the state's phrases into a JSGF grammar (one public rule,
one alternative per phrase), keeping the phrases whose every word the model's dictionary
knows: a menu's Portuguese synonyms are not sentences of an English model. Free speech uses
the model's n-gram language model.

Confidence: pocketsphinx's own posterior is near 0.5 for any one-word grammar, and its path
score is relative to the best state of each frame, so neither tells a phrase that was said
from one the grammar forced onto other words. ivrflow uses the words' acoustic score per
10 ms frame (log base 1.0001): a phrase the caller said fits the acoustic model about as well
as speech does (-20 000 to -40 000 per frame on 8 kHz espeak-ng voices through G.711),
words forced onto something else fit it badly (-45 000 to -70 000). The confidence is that
score mapped linearly from `CONFIDENCE_FLOOR` (0) to `CONFIDENCE_CEILING` (1); bench/speech.py
measures how it separates right from wrong answers. Audio that reaches no final state of the
grammar is `complete=False` with confidence 0.

Decoders are not thread-safe and cost about 0.1 s and 27 MB each: a recognizer keeps a pool
of them, one per recognition in flight, created on demand.
"""

from __future__ import annotations

import hashlib
import math
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import audio
from .recognizer import Grammar, Hypothesis, RecognizerFailed, SpeechSetupError

CONFIDENCE_FLOOR = -65_000.0  # acoustic score per frame (log base 1.0001) that is confidence 0
CONFIDENCE_CEILING = -25_000.0  # … and confidence 1
LOG_BASE = math.log(1.0001)
POOL_LIMIT = 16  # decoder pairs per recognizer: recognitions beyond wait for one


@dataclass(frozen=True, slots=True)
class SphinxModel:
    acoustic: Path  # the folder with mdef, means, variances…
    dictionary: Path
    language_model: Path | None = None  # for free speech

    @classmethod
    def builtin(cls) -> SphinxModel:
        """The US English model inside the pocketsphinx wheel."""
        from pocketsphinx import get_model_path

        root = Path(get_model_path()) / "en-us"
        return cls(
            root / "en-us",
            root / "cmudict-en-us.dict",
            root / "en-us.lm.bin",
        )

    @classmethod
    def from_dir(cls, folder: Path, option: str) -> SphinxModel:
        """A model folder as CMU Sphinx publishes them: one acoustic model folder (with
        `mdef`), one `.dict`, optionally a language model `*.lm.bin` for free speech."""
        if not folder.is_dir():
            raise SpeechSetupError(f"{option}: {folder} is not a folder")
        acoustic = sorted(p.parent for p in folder.glob("*/mdef"))
        dicts = sorted(folder.glob("*.dict"))
        if not acoustic or not dicts:
            raise SpeechSetupError(
                f"{option}: {folder} holds no pocketsphinx model "
                "(expected an acoustic model folder with 'mdef' and a '.dict' file)"
            )
        lms = [p for p in sorted(folder.glob("*.lm.bin")) if "phone" not in p.name]
        return cls(acoustic[0], dicts[0], lms[0] if lms else None)


def words_of(dictionary: Path) -> frozenset[str]:
    """The words a pronunciation dictionary knows (alternates like `read(2)` folded)."""
    out = set()
    with dictionary.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            word = line.split(maxsplit=1)[0] if line.strip() else ""
            out.add(word.partition("(")[0].lower())
    out.discard("")
    return frozenset(out)


def jsgf(phrases: tuple[str, ...]) -> str:
    body = " | ".join(phrases)
    return f"#JSGF V1.0;\ngrammar ivrflow;\npublic <choice> = {body} ;\n"


class _Decoder:
    """A pocketsphinx decoder and the searches (grammars) already added to it."""

    def __init__(self, model: SphinxModel) -> None:
        from pocketsphinx import Decoder

        self.decoder: Any = Decoder(
            hmm=str(model.acoustic),
            dict=str(model.dictionary),
            lm=None,
            samprate=16000,
            loglevel="FATAL",
        )
        self.searches: set[str] = set()


class SphinxRecognizer:
    def __init__(self, language: str, model: SphinxModel | None = None) -> None:
        self.language = language
        self.model = model or SphinxModel.builtin()
        try:
            self.vocabulary = words_of(self.model.dictionary)
        except OSError as exc:
            raise SpeechSetupError(f"cannot read {self.model.dictionary}: {exc}") from exc
        self._idle: queue.LifoQueue[_Decoder] = queue.LifoQueue()
        self._made = 0
        self._lock = threading.Lock()
        self.warm()

    def warm(self) -> None:
        """Load one decoder pair now: a broken model fails at start-up, not on a call."""
        try:
            self._idle.put(self._new_pair())
        except Exception as exc:
            raise SpeechSetupError(
                f"pocketsphinx cannot load {self.model.acoustic}: {exc}"
            ) from exc

    def _new_pair(self) -> _Decoder:
        with self._lock:
            self._made += 1
        return _Decoder(self.model)

    def _take(self) -> _Decoder:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        if self._made < POOL_LIMIT:
            return self._new_pair()
        return self._idle.get(timeout=30)

    def _give(self, pair: _Decoder) -> None:
        self._idle.put(pair)

    def known(self, phrase: str) -> bool:
        return all(w in self.vocabulary for w in phrase.split())

    def start(self, grammar: Grammar) -> SphinxRecognition:
        return SphinxRecognition(self, grammar)


class SphinxRecognition:
    """One utterance. Not thread-safe: the gateway feeds it from one worker at a time."""

    def __init__(self, recognizer: SphinxRecognizer, grammar: Grammar) -> None:
        self.recognizer = recognizer
        self.grammar = grammar
        self.phrases = tuple(p for p in grammar.phrases if recognizer.known(p))
        self._pair: _Decoder | None = None
        self._bytes = 0
        self._done = False

    def _begin(self) -> _Decoder:
        pair = self.recognizer._take()
        try:
            if self.grammar.free:
                name = "_free"
                if name not in pair.searches:
                    if self.recognizer.model.language_model is None:
                        raise RecognizerFailed("the model has no language model for free speech")
                    pair.decoder.add_lm_file(name, str(self.recognizer.model.language_model))
                    pair.searches.add(name)
            else:
                name = "g" + hashlib.sha1("\n".join(self.phrases).encode()).hexdigest()[:16]
                if name not in pair.searches:
                    pair.decoder.add_jsgf_string(name, jsgf(self.phrases))
                    pair.searches.add(name)
            pair.decoder.activate_search(name)
            pair.decoder.start_utt()
        except BaseException:
            self.recognizer._give(pair)
            raise
        self._pair = pair
        return pair

    def feed(self, pcm: bytes) -> None:
        if self._done or not pcm or (not self.phrases and not self.grammar.free):
            return
        pair = self._pair or self._begin()
        wide = audio.upsample_2x(pcm)
        pair.decoder.process_raw(wide, False, False)
        self._bytes += len(pcm)

    def result(self) -> Hypothesis:
        if self._done:
            raise RecognizerFailed("result() asked twice")
        self._done = True
        pair = self._pair
        if pair is None:  # no audio, or nothing this model could recognize
            return Hypothesis("", 0.0, complete=False)
        try:
            pair.decoder.end_utt()
            found = pair.decoder.hyp()
            text = found.hypstr.strip() if found is not None else ""
            score, frames = 0.0, 0
            for seg in pair.decoder.seg() or ():  # None when nothing was heard
                if seg.word.startswith(("<", "[")):  # silence and fillers
                    continue
                score += _raw(seg.ascore)
                frames += seg.end_frame - seg.start_frame + 1
        except Exception as exc:
            raise RecognizerFailed(f"pocketsphinx: {type(exc).__name__}: {exc}") from exc
        finally:
            self.recognizer._give(pair)
        text = " ".join(w.partition("(")[0] for w in text.split())  # alternates: read(2)
        complete = bool(text) and (self.grammar.free or text in self.phrases)
        if not complete or not frames:
            return Hypothesis(text, 0.0, complete=False)
        per_frame = score / frames
        span = CONFIDENCE_CEILING - CONFIDENCE_FLOOR
        confidence = min(1.0, max(0.0, (per_frame - CONFIDENCE_FLOOR) / span))
        return Hypothesis(text, round(confidence, 3), True, {"score_per_frame": round(per_frame)})


def _raw(probability: float) -> float:
    """pocketsphinx's Python API gives scores as probabilities: back to log base 1.0001."""
    return math.log(max(probability, 1e-300)) / LOG_BASE


__all__ = [
    "CONFIDENCE_CEILING",
    "CONFIDENCE_FLOOR",
    "SphinxModel",
    "SphinxRecognition",
    "SphinxRecognizer",
    "jsgf",
]
