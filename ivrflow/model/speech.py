"""Matching what a caller said against a menu's phrases.

Normalization (case, accents, punctuation), synonyms (every phrase of a
choice), containment ("I want my balance please" contains "balance") and
fuzzy similarity above a threshold. Spoken digits ("one", "dois") pick keys.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

SPOKEN_DIGITS = {
    # en-US
    "zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9", "star": "*", "pound": "#", "hash": "#",
    # pt-BR
    "um": "1", "uma": "1", "dois": "2", "duas": "2", "tres": "3", "quatro": "4", "cinco": "5",
    "seis": "6", "meia": "6", "sete": "7", "oito": "8", "nove": "9", "asterisco": "*",
    "estrela": "*", "sustenido": "#", "cerquilha": "#",
}  # fmt: skip

YES = frozenset({"yes", "yeah", "yep", "correct", "right", "sure", "sim", "isso", "certo",
                 "correto", "pode", "claro", "1"})  # fmt: skip
NO = frozenset({"no", "nope", "wrong", "nao", "errado", "incorreto", "2"})


def normalize(text: str) -> str:
    """Case, accents, punctuation and spacing do not make two phrases different."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(c if c.isalnum() else " " for c in decomposed if not unicodedata.combining(c))
    return " ".join(kept.split())


def spoken_key(utterance: str) -> str | None:
    """'one' / '1' / 'dois' → the key, when the caller says just a key."""
    norm = normalize(utterance)
    if len(norm) == 1 and norm in "0123456789":
        return norm
    return SPOKEN_DIGITS.get(norm)


def score(utterance: str, phrase: str) -> float:
    """1.0 exact, 0.95 the phrase inside the utterance, else a similarity ratio."""
    u, p = normalize(utterance), normalize(phrase)
    if not u or not p:
        return 0.0
    if u == p:
        return 1.0
    if f" {p} " in f" {u} ":
        return 0.95
    from difflib import SequenceMatcher  # only utterances that are not exact pay for it

    return SequenceMatcher(None, u, p).ratio()


def best_match(
    utterance: str,
    choices: Sequence[Sequence[str]],
    threshold: float,
) -> tuple[int, str, float] | None:
    """(choice index, phrase, score) of the best phrase at or above threshold."""
    best: tuple[int, str, float] | None = None
    for i, phrases in enumerate(choices):
        for phrase in phrases:
            s = score(utterance, phrase)
            if s >= threshold and (best is None or s > best[2]):
                best = (i, phrase, s)
    return best


def yes_no(utterance: str) -> bool | None:
    words = set(normalize(utterance).split())
    if words & YES and not words & NO:
        return True
    if words & NO and not words & YES:
        return False
    return None


__all__ = ["best_match", "normalize", "score", "spoken_key", "yes_no"]
