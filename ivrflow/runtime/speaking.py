"""What the caller hears: a flow's `say` and `play`, and the default prompts.

A constant prompt's action is built once per statement and language and shared by every
call (actions are immutable values); a template is rendered per call, in Jinja2's sandbox,
with the call's variables.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterator, Mapping
from typing import Any

from .. import model
from ..model import prompts, templates
from . import actions as act
from .evaluate import EvaluationError
from .state import UNAVAILABLE, CallState
from .trace import notify

# (id of the statement, language, voice, barge-in) → (the statement, its action or template)
_SAID: dict[tuple[Any, ...], tuple[model.Say, act.Say | str]] = {}


def language(call: CallState) -> str:
    return str(call.vars.get("language") or call.flow.settings.language)


def barge_in(call: CallState, flag: bool | None) -> bool:
    return call.flow.settings.barge_in if flag is None else flag


def say(call: CallState, statement: model.Say) -> None:
    variables = call.vars
    settings = call.flow.settings
    lang = statement.language or variables["language"] or settings.language
    voice = statement.voice or variables["voice"]
    barge = settings.barge_in if statement.barge_in is None else statement.barge_in
    key = (id(statement), lang, voice, barge)
    cached = _SAID.get(key)
    if cached is None or cached[0] is not statement:
        cached = _SAID[key] = (statement, _prepare(statement, lang, voice, barge))
        if len(_SAID) > 20_000:
            _SAID.clear()
    prepared = cached[1]
    if isinstance(prepared, str):  # a template: render it for this call
        try:
            text = templates.render(prepared, TemplateScope(call), lang)
        except Exception as exc:
            raise EvaluationError(f"{statement.where}: prompt template failed: {exc}") from exc
        prepared = act.Say(text, lang, voice, barge)
    call.out.append(prepared)
    for listener in call.listeners:
        notify(call, listener, "prompt", prepared)


def _prepare(statement: model.Say, lang: str, voice: str | None, barge: bool) -> act.Say | str:
    """Per statement and language, once: the action of a constant prompt, or the
    template text to render each time."""
    text = (
        statement.text.get("")
        if "" in statement.text
        else prompts.in_language(statement.text, lang)
    )
    if text is None:
        raise EvaluationError(f"{statement.where}: the prompt has no text in {lang}")
    if templates.is_template(text):
        return text
    return act.Say(text, lang, voice, barge)


def play(call: CallState, statement: model.Play) -> None:
    emit_prompt(call, act.Play(statement.path, barge_in(call, statement.barge_in)))


def emit_prompt(call: CallState, action: act.Say | act.Play) -> None:
    call.out.append(action)
    for listener in call.listeners:
        notify(call, listener, "prompt", action)


def say_default(call: CallState, key: str, **values: str) -> None:
    """One of the built-in prompts (docs/runtime.md), in the call's language."""
    lang = language(call)
    override = call.flow.prompts.get(key)
    if override is None:
        text = prompts.default(key, lang, **values)
    else:  # the flow's own text for it (`prompt nomatch:`), a template like any prompt
        template = prompts.in_language(override.text, lang) or ""
        try:
            scope: Mapping[str, Any] = ChainMap(values, TemplateScope(call))  # type: ignore[arg-type]
            text = templates.render(template, scope, lang)
        except Exception as exc:
            raise EvaluationError(f"{override.where}: prompt template failed: {exc}") from exc
    emit_prompt(call, act.Say(text, lang, call.vars.get("voice"), True))


class TemplateScope(Mapping[str, Any]):
    """What a prompt template sees: the call's variables and `now`, read lazily."""

    __slots__ = ("call",)

    def __init__(self, call: CallState) -> None:
        self.call = call

    def __getitem__(self, name: str) -> Any:
        if name == "now":
            return self.call.variable("now")
        value = self.call.vars[name]
        if value is UNAVAILABLE:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        names = [k for k, v in self.call.vars.items() if v is not UNAVAILABLE]
        return iter([*names, "now"])

    def __len__(self) -> int:
        return len(self.call.vars) + 1


__all__ = ["TemplateScope", "barge_in", "emit_prompt", "language", "play", "say", "say_default"]
