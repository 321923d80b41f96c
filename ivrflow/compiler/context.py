"""What every compiler pass shares: the symbol tables and the diagnostics list."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ..errors import Diagnostic, did_you_mean
from ..lang import ast
from ..model import Where

N = TypeVar("N")


@dataclass(frozen=True, slots=True)
class Declared(Generic[N]):
    """A declaration and the file it came from."""

    node: N
    path: str


@dataclass
class Symbols:
    states: dict[str, Declared[ast.StateDecl]] = field(default_factory=dict)
    queues: dict[str, Declared[ast.QueueDecl]] = field(default_factory=dict)
    lists: dict[str, Declared[ast.ListDecl]] = field(default_factory=dict)
    hours: dict[str, Declared[ast.HoursDecl]] = field(default_factory=dict)
    functions: dict[str, Declared[ast.FunctionDecl]] = field(default_factory=dict)
    prompts: dict[str, Declared[ast.PromptDecl]] = field(default_factory=dict)
    variables: dict[str, Declared[ast.VarDecl]] = field(default_factory=dict)
    # Every variable some line assigns (set, capture, look-up result), for name checks.
    assigned: set[str] = field(default_factory=set)


@dataclass
class Context:
    symbols: Symbols
    diagnostics: list[Diagnostic] = field(default_factory=list)
    path: str = "<string>"
    known_variables: frozenset[str] = frozenset()
    country: str | None = None
    sources: dict[str, str] = field(default_factory=dict)  # list files, for rendering
    warned_languages: set[tuple[str, str]] = field(default_factory=set)

    def error(
        self,
        code: str,
        message: str,
        span: ast.Span | None,
        hint: str | None = None,
        path: str | None = None,
    ) -> None:
        self.diagnostics.append(Diagnostic(code, "error", message, path or self.path, span, hint))

    def warning(
        self,
        code: str,
        message: str,
        span: ast.Span | None,
        hint: str | None = None,
        path: str | None = None,
    ) -> None:
        self.diagnostics.append(Diagnostic(code, "warning", message, path or self.path, span, hint))

    def unknown(
        self,
        code: str,
        what: str,
        name: str,
        span: ast.Span,
        candidates: Iterable[str],
        hint: str | None = None,
    ) -> None:
        self.error(code, f"unknown {what} '{name}'", span, did_you_mean(name, candidates) or hint)

    def where(self, span: ast.Span) -> Where:
        return Where(self.path, span)

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diagnostics if d.severity == "error")


__all__ = ["Context", "Declared", "Symbols"]
