"""Checks on what prompts say: keys they promise, secure values they would speak.

These read the syntax tree, where every text still has its exact position, so
the caret lands on "tecle 4" inside the string, in whichever file holds it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

from ..lang import ast
from .context import Context

# Keys in words ("press four", "tecle quatro"), English and Portuguese. A word counts only when
# a pause, "for"/"para" or another key follows it: "digite um número" asks for a number.
_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "um": "1", "uma": "1", "dois": "2", "duas": "2",
    "três": "3", "tres": "3", "quatro": "4", "cinco": "5", "seis": "6", "sete": "7",
    "oito": "8", "nove": "9",
}  # fmt: skip
_WORD_KEY = (
    r"(?:" + "|".join(sorted(_WORDS, key=len, reverse=True)) + r")"
    r"(?=\s*(?:$|[,;:.!?]|\b(?:para|pra|to|for|or|ou|e|and)\b))"
)
_KEY = (
    r"(\d|star|pound|hash|asterisco|estrela|cerquilha|sustenido|" + _WORD_KEY + r")"
    r"(?!\s*(?:digits|d[ií]gitos|n[uú]meros))"
)
# "press 4", "tecle 4", "dial star", "digite 9": a key the caller is told to press …
_FIRST = re.compile(
    r"\b(?:press|dial|key|select|tecle|digite|pressione|disque|aperte|escolha)\s+"
    r"(?:the\s+|a\s+tecla\s+|o\s+)?" + _KEY + r"\b",
    re.IGNORECASE,
)
# … and the ones listed after it in the same sentence: ", 2 para …", "or 3", "ou 4".
_MORE = re.compile(r"(?:,|;|\bor\b|\bou\b|\band\b|\be\b)\s*" + _KEY + r"\b", re.IGNORECASE)
_FOR = re.compile(r"\b(\d)\s+(?:para|pra|to|for)\b", re.IGNORECASE)
_SPOKEN = {"star": "*", "estrela": "*", "asterisco": "*", "pound": "#", "hash": "#",
           "cerquilha": "#", "sustenido": "#"}  # fmt: skip


def mentioned_keys(text: str) -> Iterator[tuple[str, int, int]]:
    """(key, start, end) of every key a prompt tells the caller to press."""
    seen: set[int] = set()
    for sentence in re.finditer(r"[^.!?]+", text):
        body, base = sentence.group(0), sentence.start()
        first = _FIRST.search(body)
        if first is None:
            continue
        found = [first] + [m for rx in (_MORE, _FOR) for m in rx.finditer(body, first.end())]
        for m in found:
            start = base + m.start(1)
            if start in seen:
                continue
            seen.add(start)
            word = m.group(1).lower()
            yield _SPOKEN.get(word, _WORDS.get(word, word)), start, base + m.end(1)


def says(lines: Iterable[ast.Line]) -> Iterator[ast.Say]:
    """Every say statement, nested ones included."""
    for line in lines:
        if isinstance(line, ast.Say):
            yield line
        elif isinstance(line, ast.If):
            for b in line.branches:
                yield from says(b.body)
        elif isinstance(line, ast.Switch):
            for c in line.cases:
                yield from says(c.body)
        elif isinstance(line, ast.Split | ast.Branch):
            for br in line.branches if isinstance(line, ast.Split) else [line]:
                yield from says(br.body)


def texts(ctx: Context, say: ast.Say) -> Iterator[tuple[str, ast.Span, str]]:
    """(text, span of the string, path of its file) for an inline or a named prompt."""
    if say.text is not None:
        yield say.text, say.prompt_span, ctx.path
    elif say.prompt is not None and say.prompt in ctx.symbols.prompts:
        decl = ctx.symbols.prompts[say.prompt]
        for t in decl.node.texts:
            yield t.text, t.text_span, decl.path


def _at(span: ast.Span, start: int, end: int) -> ast.Span:
    if span.line != span.end_line:
        return span
    col = span.column + 1 + start  # past the opening quote
    return ast.Span(span.line, col, span.line, col + (end - start))


def check_keys(ctx: Context, owner: str, lines: Sequence[ast.Line], bound: set[str]) -> None:
    """W203: a prompt offers a key that the menu (or callback offer) does not bind."""
    reported: set[tuple[str, int, str]] = set()
    for say in says(lines):
        for text, span, path in texts(ctx, say):
            for key, start, end in mentioned_keys(text):
                if key in bound or (path, span.line, key) in reported:
                    continue
                reported.add((path, span.line, key))
                ctx.warning(
                    "W203",
                    f"the prompt offers key {key} but {owner} has no choice for it",
                    _at(span, start, end),
                    f"add: {key} -> state, or change the prompt",
                    path,
                )


def check_secure(
    ctx: Context,
    lines: Iterable[ast.Line],
    secure: set[str],
    extra: Iterable[tuple[str, ast.Span]] = (),
) -> None:
    """W210: a template speaks a secure capture in full (TTS logs, prompt caches)."""
    if not secure:
        return
    candidates = [(t, s, p) for say in says(lines) for t, s, p in texts(ctx, say)]
    candidates += [(t, s, ctx.path) for t, s in extra]
    for text, span, path in candidates:
        for m in re.finditer(r"\{\{\s*(\w+)\s*(\||\}\})", text):
            if m.group(1) in secure:
                ctx.warning(
                    "W210",
                    f"this prompt speaks the secure value '{m.group(1)}' in full",
                    _at(span, m.start(1), m.end(1)),
                    f"read back only the end, e.g. {{{{ {m.group(1)}[-4:] | digits }}}}",
                    path,
                )


__all__ = ["check_keys", "check_secure", "mentioned_keys", "says", "texts"]
