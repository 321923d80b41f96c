"""How a flow or a state listens: `input dtmf | speech | dtmf speech`, and the recognizer's
settings (`speech_language`, `speech_timeout`, `hints`). The header gives the defaults and a
state may override each of them; what a state kind does when nothing is given (menus hear
speech only when they have phrases, secure captures DTMF only) is the runtime's rule
(runtime/recognition.py)."""

from __future__ import annotations

import re

from .. import model
from ..errors import did_you_mean
from ..lang import ast
from .settings import Settings

MODES = ("dtmf", "speech")
LANG_TAG = re.compile(r"^[a-z]{2,3}-[A-Z]{2}$")
MAX_END_TIMEOUT = 10.0
MAX_WORDS = 200  # an utterance longer than this is not an answer to a question


def modes(s: Settings, default: tuple[str, ...] | None) -> tuple[str, ...] | None:
    """`input dtmf`, `input speech`, `input dtmf speech` (or `dtmf, speech`)."""
    setting = s.get("input")
    if setting is None:
        return default
    found: list[str] = []
    for v in setting.values:
        word = v.path[0] if isinstance(v, ast.Ref) and len(v.path) == 1 else None
        if word not in MODES:
            shown = word or "this"
            s.ctx.error(
                "E121",
                f"'input' expects dtmf, speech or both, not {shown}",
                v.span,
                did_you_mean(word, MODES) if word else "for example: input dtmf speech",
            )
            return default
        if word not in found:
            found.append(word)
    if not found:
        s.ctx.error("E121", "'input' expects dtmf, speech or both", setting.span)
        return default
    return tuple(m for m in MODES if m in found)


def recognizer(s: Settings, default: model.Recognizer) -> model.Recognizer:
    """The recognizer settings given here, over `default` (the header's)."""
    language = s.language("speech_language")
    if language is not None and not LANG_TAG.match(language):
        where = s.by_name["speech_language"].values[0].span
        s.ctx.error("E145", f"bad language tag '{language}'", where, "write it like en-US or pt-BR")
        language = None
    language = language or default.language
    end_timeout = default.end_timeout
    setting = s.get("speech_timeout")
    if setting is not None:
        v = setting.values[0] if len(setting.values) == 1 else None
        if isinstance(v, ast.Ref) and v.path == ("auto",):
            end_timeout = None
        else:
            end_timeout = s.duration("speech_timeout", 0.0)
            if not 0 < end_timeout <= MAX_END_TIMEOUT:
                s.ctx.error(
                    "E121",
                    f"'speech_timeout' expects auto or a duration up to {MAX_END_TIMEOUT:g}s",
                    setting.values[0].span if setting.values else setting.span,
                    "for example: speech_timeout 1500ms",
                )
                end_timeout = default.end_timeout
    hints = default.hints
    setting = s.get("hints")
    if setting is not None:
        values: tuple[ast.Value, ...] = setting.values
        if len(values) == 1 and isinstance(values[0], ast.ListExpr):
            values = values[0].items
        texts = []
        for v in values:
            if isinstance(v, ast.Literal) and v.kind == "string" and v.text.strip():
                texts.append(v.text.strip())
            else:
                s.ctx.error(
                    "E121", '\'hints\' expects phrases, like "boleto", "segunda via"', v.span
                )
        hints = tuple(dict.fromkeys(texts))
    return model.Recognizer(language, end_timeout, hints)


def words(s: Settings) -> tuple[int, int] | None:
    """A capture's `words 1..30` (or `words 8`: up to 8): free speech, not digits."""
    setting = s.get("words")
    if setting is None:
        return None
    v = setting.values[0] if len(setting.values) == 1 else None
    if isinstance(v, ast.Literal) and v.kind == "number" and v.text.isdigit():
        low, high = 1, int(v.text)
    elif isinstance(v, ast.RangeValue) and v.low.text.isdigit() and v.high.text.isdigit():
        low, high = int(v.low.text), int(v.high.text)
    else:
        s.ctx.error("E121", "'words' expects a count like 8 or a range like 1..30", setting.span)
        return (1, MAX_WORDS)
    if not 1 <= low <= high <= MAX_WORDS:
        s.ctx.error(
            "E121",
            f"'words' expects at least 1 and at most {MAX_WORDS} words, fewest first",
            v.span,
        )
        return (1, MAX_WORDS)
    for other in ("digits", "end", "valid"):
        found = s.get(other) or next(iter(s.all(other)), None)
        if found is not None:
            s.ctx.error(
                "E121",
                f"a capture of words takes no '{other}': it is for captures of digits",
                found.span,
            )
    return (low, high)


__all__ = ["MAX_WORDS", "MODES", "modes", "recognizer", "words"]
