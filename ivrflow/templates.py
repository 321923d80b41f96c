"""Prompt templates: Jinja2's immutable sandbox, strict undefined, say-as filters.

One environment serves the compiler (syntax, filters and variables checked at
load time) and the interpreter (rendering). Filters read the call's language
from the render context, so `{{ balance | currency }}` speaks reais in pt-BR.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from . import sayas
from .errors import did_you_mean

if TYPE_CHECKING:  # jinja2 is imported on first use: flows without templates skip it
    from jinja2.runtime import Context
    from jinja2.sandbox import ImmutableSandboxedEnvironment


def _locale_filter(fn: Callable[..., str]) -> Callable[..., str]:
    from jinja2 import pass_context

    @pass_context
    def apply(context: Context, value: Any, *args: Any) -> str:
        locale = context.get("language") or "en-US"
        return fn(value, str(locale), *args)

    return apply


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    from jinja2 import StrictUndefined
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
    )
    for name, fn in sayas.FILTERS.items():
        env.filters[name] = _locale_filter(fn)
    return env


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    code: str  # E150 syntax, E151 undefined variable, E152 unknown filter
    message: str
    offset: int  # character offset inside the template text, for the caret
    length: int
    hint: str | None = None


def _find(text: str, needle: str) -> int:
    idx = text.find(needle)
    return max(idx, 0)


def check(text: str, known_variables: frozenset[str]) -> Iterator[TemplateProblem]:
    """Problems in one template: syntax, unknown filters, undefined variables."""
    if not is_template(text):
        return
    from jinja2 import TemplateSyntaxError, meta, nodes

    env = environment()
    try:
        tree = env.parse(text)
    except TemplateSyntaxError as exc:
        line_start = sum(len(x) + 1 for x in text.split("\n")[: (exc.lineno or 1) - 1])
        yield TemplateProblem(
            "E150",
            f"template syntax error: {exc.message}",
            line_start,
            1,
            "templates use {{ variable }} and {{ value | filter }}",
        )
        return
    unknown_filter = False
    for node in tree.find_all(nodes.Filter):
        if node.name not in env.filters:
            unknown_filter = True
            match = re.search(r"\|\s*" + re.escape(node.name) + r"\b", text)
            offset = match.start() + match.group(0).index(node.name) if match else 0
            yield TemplateProblem(
                "E152",
                f"unknown filter '{node.name}'",
                offset,
                len(node.name),
                did_you_mean(node.name, sayas.FILTERS)
                or "say-as filters: " + ", ".join(sorted(sayas.FILTERS)),
            )
    if unknown_filter:  # jinja cannot analyse variables past an unknown filter
        return
    for name in sorted(meta.find_undeclared_variables(tree)):
        if name not in known_variables:
            match = re.search(r"\b" + re.escape(name) + r"\b", text)
            yield TemplateProblem(
                "E151",
                f"unknown variable '{name}' in template",
                match.start() if match else 0,
                len(name),
            )


def render(text: str, variables: dict[str, Any]) -> str:
    if not is_template(text):
        return text
    return str(_compiled(text).render(variables))


@lru_cache(maxsize=4096)
def _compiled(text: str) -> Any:
    return environment().from_string(text)


__all__ = ["TemplateProblem", "check", "environment", "is_template", "render"]
