"""Errors and diagnostics: data first (code, message, span, hint), one renderer.

Every error the project raises derives from `IvrflowError`, split by phase.
Diagnostics are plain frozen data so they pickle, compare in tests and turn
into JSON for editors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, Literal, NamedTuple


class Span(NamedTuple):
    """1-based line and column of the first character; end is exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    def to(self, other: Span) -> Span:
        return Span(self.line, self.column, other.end_line, other.end_column)


Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    severity: Severity
    message: str
    path: str
    span: Span | None
    hint: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
        }
        if self.span is not None:
            out.update(
                line=self.span.line,
                column=self.span.column,
                end_line=self.span.end_line,
                end_column=self.span.end_column,
            )
        if self.hint:
            out["hint"] = self.hint
        return out


class IvrflowError(Exception):
    """Root of every error ivrflow raises on purpose."""


class FlowError(IvrflowError):
    """A flow could not be loaded: carries every diagnostic found."""

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: dict[str, str] | None = None):
        self.diagnostics = tuple(diagnostics)
        self.sources = dict(sources or {})
        super().__init__(render_all(self.diagnostics, self.sources))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.diagnostics, self.sources))


class FlowSyntaxError(FlowError):
    """The text does not parse."""


class FlowValidationError(FlowError):
    """The text parses but the flow is wrong."""


class IvrflowRuntimeError(IvrflowError):
    """Something failed while running a call."""


class LookupFailure(IvrflowRuntimeError):
    """Raise it from a look-up function to fail the look-up with a clean reason.

    The flow's `error` branch runs and the `error` variable holds the message.
    """


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    close = get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def _expand_tabs_prefix(line: str, column: int) -> int:
    """Display column of 1-based `column` once tabs are shown as spaces (may be past the end)."""
    shown = len(line[: column - 1].expandtabs(8)) + 1
    return shown + max(0, column - 1 - len(line))


def render(diagnostic: Diagnostic, source: str | None) -> str:
    """`path:line:col: error[E104]: message`, the source line, a caret, a hint."""
    d = diagnostic
    where = d.path
    if d.span is not None:
        where += f":{d.span.line}:{d.span.column}"
    out = [f"{where}: {d.severity}[{d.code}]: {d.message}"]
    if d.span is not None and source is not None:
        lines = source.split("\n")  # as the parser counts lines: a lone \r is not a break
        if 1 <= d.span.line <= len(lines):
            text = lines[d.span.line - 1].rstrip("\r")
            start = _expand_tabs_prefix(text, d.span.column)
            if d.span.end_line == d.span.line and d.span.end_column > d.span.column:
                end = _expand_tabs_prefix(text, d.span.end_column)
            else:
                end = start + 1
            gutter = f"{d.span.line:>4} | "
            out.append(gutter + text.expandtabs(8))
            out.append(" " * (len(gutter) - 2) + "| " + " " * (start - 1) + "^" * (end - start))
    if d.hint:
        out.append(f"  = hint: {d.hint}")
    return "\n".join(out)


def render_all(diagnostics: Sequence[Diagnostic], sources: dict[str, str]) -> str:
    return "\n".join(render(d, sources.get(d.path)) for d in diagnostics)


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    if d.span is None:
        return (d.path, 0, 0, d.code)
    return (d.path, d.span.line, d.span.column, d.code)


__all__ = [
    "Diagnostic",
    "FlowError",
    "FlowSyntaxError",
    "FlowValidationError",
    "IvrflowError",
    "IvrflowRuntimeError",
    "LookupFailure",
    "Severity",
    "Span",
    "did_you_mean",
    "render",
    "render_all",
    "sort_key",
]
