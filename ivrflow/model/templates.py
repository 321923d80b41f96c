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

from ..errors import did_you_mean
from . import sayas

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


# Bounds on what a prompt template may compute: a prompt is a sentence, not a program.
MAX_PROMPT = 10_000  # characters of a rendered prompt (and of any text made on the way)
MAX_NUMBER = 10**15  # magnitude of a number computed in a template (as in expressions)
MAX_EXPONENT = 64  # `x ** n`: larger powers are refused before they are computed
MAX_RANGE = 1_000  # items `range()` may give
# Methods a template may call on a value; every other one (format, center, ljust, zfill,
# replace …: ways to build huge texts) is refused like an unsafe attribute.
SAFE_METHODS = frozenset(
    {"lower", "upper", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith",
     "endswith", "isdigit", "get", "keys", "values", "items"}
)  # fmt: skip
# Jinja filters that can build huge texts, or are not deterministic.
UNSAFE_FILTERS = frozenset(
    {"center", "indent", "wordwrap", "format", "replace", "random", "batch", "slice", "pprint",
     "xmlattr", "truncate", "filesizeformat", "urlize"}
)  # fmt: skip
# Template constructs refused when a flow compiles (nested loops, macros: unbounded work).
_REFUSED_HINT = "prompts print the call's values: {{ name }}, {{ acct.field | filter }}, {% if %}"
_REFUSED_NODES = ("Macro", "CallBlock", "Import", "FromImport", "Include", "Extends", "Block")


class TemplateLimitError(Exception):
    """A template went past one of the bounds above."""


def _sized(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_PROMPT:
        raise TemplateLimitError(f"a text or list of {len(value)} items is too long")
    if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_NUMBER:
        raise TemplateLimitError("number too large")
    return value


def _bounded_range(*args: int) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise TemplateLimitError(f"range of {len(r)} items (at most {MAX_RANGE})")
    return r


def _sandbox_class() -> type[ImmutableSandboxedEnvironment]:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class BoundedSandbox(ImmutableSandboxedEnvironment):
        """Jinja's immutable sandbox, with the arithmetic and methods that could exhaust
        memory or CPU bounded (`**`, `*` on texts and lists, `+`, `format` …)."""

        intercepted_binops = frozenset({"*", "**", "+", "//", "%", "-"})

        def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
            if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise TemplateLimitError(f"power {right} is too large (at most {MAX_EXPONENT})")
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    if (
                        isinstance(seq, str | list | tuple)
                        and isinstance(times, int)
                        and len(seq) * times > MAX_PROMPT
                    ):
                        raise TemplateLimitError("repeating that would make a text too long")
            if operator == "%" and isinstance(left, str):
                raise TemplateLimitError("'%' formatting is not available in prompts")
            return _sized(super().call_binop(context, operator, _sized(left), _sized(right)))

        def wrap_str_format(self, value: Any) -> None:
            return None  # no str.format / format_map: widths build huge texts

        def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
            if callable(value) and not isinstance(obj, type) and attr not in SAFE_METHODS:
                return False
            return bool(super().is_safe_attribute(obj, attr, value))

    return BoundedSandbox


@lru_cache(maxsize=1)
def environment() -> ImmutableSandboxedEnvironment:
    from jinja2 import StrictUndefined

    env = _sandbox_class()(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    for name in UNSAFE_FILTERS:
        env.filters.pop(name, None)
    # Only what a prompt needs: no lipsum, cycler, joiner, namespace or dict factories.
    env.globals.clear()
    env.globals["range"] = _bounded_range
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
            private = (
                next((p for p in part.path if p.startswith("_")), None)
                if isinstance(part, _Value)
                else None
            )
            if private is not None:
                yield TemplateProblem(
                    "E150",
                    f"template refused: '{private}' is private",
                    max(text.find(private), 0),
                    len(private),
                    _REFUSED_HINT,
                )
                return
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
    refused = _refused(tree, text)
    if refused is not None:
        yield refused
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


def _refused(tree: Any, text: str) -> TemplateProblem | None:
    """A construct prompts may not use: private attributes (`''.__class__` and the
    sandbox escapes built on them), loops inside loops, macros, imports."""
    from jinja2 import nodes

    hint = _REFUSED_HINT
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", "")
        if isinstance(name, str) and name.startswith("_"):
            at = text.find(name)
            return TemplateProblem(
                "E150", f"template refused: '{name}' is private", max(at, 0), len(name), hint
            )
    for node in tree.find_all(nodes.For):
        if any(True for _ in node.find_all(nodes.For)) or node.recursive:
            at = text.find("{%")
            return TemplateProblem(
                "E150", "template refused: a loop inside a loop", max(at, 0), 2, hint
            )
    for kind in _REFUSED_NODES:
        for _ in tree.find_all(getattr(nodes, kind)):
            at = text.find("{%")
            return TemplateProblem(
                "E150", f"template refused: {kind.lower()} is not available in prompts",
                max(at, 0), 2, hint,
            )  # fmt: skip
    return None


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
            said = _render_simple(parts, variables, language)
        except _Fallback:
            pass
        else:
            if len(said) > MAX_PROMPT:
                raise TemplateLimitError(f"the prompt is longer than {MAX_PROMPT} characters")
            return said
    out: list[str] = []
    size = 0
    for chunk in _compiled(text).generate({**dict(variables), "language": language}):
        size += len(chunk)
        if size > MAX_PROMPT:
            raise TemplateLimitError(f"the prompt is longer than {MAX_PROMPT} characters")
        out.append(chunk)
    return "".join(out)


@lru_cache(maxsize=4096)
def _compiled(text: str) -> Any:
    return environment().from_string(text)


__all__ = [
    "MAX_PROMPT",
    "TemplateLimitError",
    "TemplateProblem",
    "check",
    "environment",
    "is_template",
    "render",
]
