"""Every prompt a flow can speak: the inventory a voice talent records from, and the line
between constant prompts (the same words on every call: cached, pre-rendered) and templated
ones (they carry the caller's data: rendered per call, never kept).

A prompt is constant when its text has no template markup (`templates.is_template`): the
runtime then builds one `Say` for every call (runtime/speaking.py), so the words the gateway
is handed are exactly the text listed here. The built-in prompts (`prompts.DEFAULTS`) that
take values (`prompts.VALUES`: the digits read back, the wait time) are templated.

A recorded file is named after its words, so a gateway finds it from the text it is asked to
speak, and a changed text no longer matches its old recording: `recorded_name`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from . import flow as model
from . import prompts, templates
from .walk import bodies, walk

BUILTIN = "(built-in)"  # the state column of a built-in prompt


@dataclass(frozen=True, slots=True)
class PromptText:
    """One prompt in one language, as a call in that language says it."""

    state: str  # the state that says it, or BUILTIN
    name: str  # "say" for a flow's statement, else the built-in prompt's key
    line: int  # where in the flow's files (0 for a built-in text)
    path: str
    language: str
    text: str
    voice: str | None
    templated: bool

    @property
    def file(self) -> str:
        """The recorded file's path under the recordings folder (see docs/operations.md)."""
        return f"{self.language}/{recorded_name(self.text)}.wav"


def recorded_name(text: str) -> str:
    """A file name for the words: a readable start, then a hash of the whole text."""
    digest = hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:10]
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:40].rstrip("-")
    return f"{words}-{digest}" if words else digest


def languages(flow: model.Flow, extra: Iterable[str] = ()) -> list[str]:
    """The languages a call of the flow may speak in: its setting, every language a prompt is
    written in or forced to, and `extra` (a language set at run time, e.g. by a menu)."""
    found: dict[str, None] = {flow.settings.language: None}
    for say in _statements(flow):
        if say.language:
            found[say.language] = None
        found.update((tag, None) for tag in say.text if tag)
    for prompt in flow.prompts.values():
        found.update((tag, None) for tag in prompt.text if tag)
    found.update((tag, None) for tag in extra)
    return list(found)


def _statements(flow: model.Flow) -> Iterator[model.Say]:
    for _, say in _says(flow):
        yield say


def _says(flow: model.Flow) -> Iterator[tuple[str, model.Say]]:
    for name, state in flow.states.items():
        for body in bodies(state):
            for stmt in walk(body):
                if isinstance(stmt, model.Say):
                    yield name, stmt
        confirm = getattr(state, "confirm", None)
        if isinstance(confirm, model.Say):
            yield name, confirm


def inventory(flow: model.Flow, extra_languages: Iterable[str] = ()) -> list[PromptText]:
    """Every prompt of the flow in every language a call may speak, once each."""
    langs = languages(flow, extra_languages)
    out: dict[tuple[str, str, str], PromptText] = {}
    for state, say in _says(flow):
        voice = say.voice or flow.settings.voice
        for lang in [say.language] if say.language else langs:
            text = say.text[""] if "" in say.text else prompts.in_language(say.text, lang)
            if text is None:
                continue
            entry = PromptText(
                state,
                "say",
                say.where.span.line,
                say.where.path,
                lang,
                text,
                voice,
                templates.is_template(text),
            )
            out.setdefault((state, lang, text), entry)
    voice = flow.settings.voice
    for key in prompts.DEFAULTS:
        override = flow.prompts.get(key)
        for lang in langs:
            if override is not None:
                text = prompts.in_language(override.text, lang) or ""
                line, path = override.where.span.line, override.where.path
                templated = templates.is_template(text)
            else:
                texts = prompts.DEFAULTS[key]
                text = texts.get(lang.split("-")[0], texts["en"])
                line, path, templated = 0, "", key in prompts.VALUES
            entry = PromptText(BUILTIN, key, line, path, lang, text, voice, templated)
            out.setdefault((f"{BUILTIN}{key}", lang, text), entry)
    return list(out.values())


def constant_texts(flow: model.Flow) -> frozenset[str]:
    """The words of every constant prompt: what a gateway may keep between calls."""
    return frozenset(p.text for p in inventory(flow) if not p.templated)


__all__ = ["BUILTIN", "PromptText", "constant_texts", "inventory", "languages", "recorded_name"]
