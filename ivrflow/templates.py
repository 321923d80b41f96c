"""Prompt templates: Jinja2's immutable sandbox, strict undefined, say-as filters.

One environment serves the compiler (syntax, filters and variables checked at
load time) and the interpreter (rendering). Filters read the call's language
from the render context, so `{{ balance | currency }}` speaks reais in pt-BR.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping
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


def check(text: str, known_variables: frozenset[str]) -> Iterator[TemplateProblem]:
    """Problems in one template: syntax, unknown filters, undefined variables."""
    if not is_template(text):
        return
    parts = _parts(text)
    if parts is not None:  # simple: every name is visible here, no need for Jinja
        for part in parts:
            if isinstance(part, _Value) and part.path[0] not in known_variables:
                yield TemplateProblem(
                    "E151",
                    f"unknown variable '{part.path[0]}' in template",
                    part.offset,
                    len(part.path[0]),
                )
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


# {{ name.attr[-4:] | filter('arg') }}: what most prompts are. Names, fields, one slice, and
# one say-as filter with literal arguments.
_SIMPLE = re.compile(
    r"\{\{\s*(?P<path>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)"
    r"(?:\[(?P<lo>-?\d*):(?P<hi>-?\d*)\])?"
    r"\s*(?:\|\s*(?P<filter>[A-Za-z_]\w*)\s*(?:\((?P<args>[^()]*)\))?\s*)?\}\}"
)


@dataclass(frozen=True, slots=True)
class _Value:
    path: tuple[str, ...]
    sliced: bool  # `[lo:hi]` follows the name
    lo: int | None
    hi: int | None
    filter: str | None
    args: tuple[Any, ...]
    offset: int  # where the name starts in the text, for carets


class _Fallback(Exception):
    """The fast path cannot say it: let Jinja render (and word the error)."""


@lru_cache(maxsize=4096)
def _parts(text: str) -> tuple[str | _Value, ...] | None:
    """`Saldo {{ acct.balance | currency }}.` → ("Saldo ", _Value(("acct", "balance"), …), ".")

    Most prompts only print values through a say-as filter; those are checked and
    rendered without Jinja (a tenth of the cost, and no Jinja import for `ivrflow check`).
    Anything else — tags, expressions, other filters — is None and goes to Jinja.
    """
    if "{%" in text or "{#" in text:
        return None
    parts: list[str | _Value] = []
    pos = 0
    for m in _SIMPLE.finditer(text):
        parts.append(text[pos : m.start()])
        name = m.group("filter")
        if name is not None and name not in sayas.FILTERS:
            return None
        args: tuple[Any, ...] = ()
        if m.group("args"):
            try:
                args = tuple(ast.literal_eval("(" + m.group("args") + ",)"))
            except (ValueError, SyntaxError):
                return None
            if not all(isinstance(a, str | int | float) for a in args):
                return None
        lo, hi = m.group("lo"), m.group("hi")
        parts.append(
            _Value(
                tuple(m.group("path").split(".")),
                lo is not None,
                int(lo) if lo else None,
                int(hi) if hi else None,
                name,
                args,
                m.start("path"),
            )
        )
        pos = m.end()
    parts.append(text[pos:])
    if any(isinstance(p, str) and ("{{" in p or "}}" in p) for p in parts):
        return None
    return tuple(parts)


def _render_simple(
    parts: tuple[str | _Value, ...], variables: Mapping[str, Any], language: str
) -> str:
    out = []
    for part in parts:
        if type(part) is str:
            out.append(part)
            continue
        assert isinstance(part, _Value)
        path = part.path
        try:
            value = language if path[0] == "language" else variables[path[0]]
        except KeyError:
            raise _Fallback from None
        for attr in path[1:]:
            if not (isinstance(value, dict) and attr in value):
                raise _Fallback
            value = value[attr]
        if part.sliced:
            if not isinstance(value, str | list | tuple):
                raise _Fallback
            value = value[part.lo : part.hi]
        if part.filter is None:
            out.append(str(value))
        else:
            out.append(sayas.FILTERS[part.filter](value, language, *part.args))
    return "".join(out)


def render(text: str, variables: Mapping[str, Any], language: str | None = None) -> str:
    """Render a prompt; `variables` may be any mapping (read lazily on the fast path).

    Say-as filters speak `language`, by default the `language` variable, else en-US.
    """
    if not is_template(text):
        return text
    if language is None:
        language = str(variables.get("language") or "en-US")
    parts = _parts(text)
    if parts is not None:
        try:
            return _render_simple(parts, variables, language)
        except _Fallback:
            pass
    return str(_compiled(text).render({**dict(variables), "language": language}))


@lru_cache(maxsize=4096)
def _compiled(text: str) -> Any:
    return environment().from_string(text)


__all__ = ["TemplateProblem", "check", "environment", "is_template", "render"]
