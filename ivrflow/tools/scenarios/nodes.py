"""Reading YAML with positions: every value with the line and column it was written at,
every problem collected (not raised) and rendered the way the compiler renders a flow's:
`path:line:col: error: message`, the line, a caret under the column, a hint."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import did_you_mean
from .data import Position

if TYPE_CHECKING:
    import yaml


@dataclass(frozen=True, order=True, slots=True)
class Problem:
    line: int
    column: int
    width: int  # characters to underline (0: one caret)
    message: str
    hint: str | None = None

    def render(self, path: str, lines: Sequence[str]) -> str:
        """`path:line:col: error: message`, the line, a caret under the column, a hint."""
        out = [f"{path}:{self.line}:{self.column}: error: {self.message}"]
        if 1 <= self.line <= len(lines):
            text = lines[self.line - 1].rstrip("\r").expandtabs(8)
            gutter = f"{self.line:>4} | "
            out.append(gutter + text)
            out.append(
                " " * (len(gutter) - 2) + "| " + " " * (self.column - 1) + "^" * max(1, self.width)
            )
        if self.hint:
            out.append(f"  = hint: {self.hint}")
        return "\n".join(out)


class NodeReader:
    """Checks the nodes of one YAML file, collecting every problem with its position."""

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text
        self.errors: list[Problem] = []

    def compose(self) -> yaml.Node | None:
        """The document's root node (None for an empty file); a syntax error is recorded,
        placed at what was left open rather than at the end of the file."""
        import yaml

        try:
            root = yaml.compose(self.text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            problem = getattr(exc, "problem", None) or str(exc)
            context, cmark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
            if context and cmark is not None and cmark is not mark:
                if "end of stream" in problem:  # point at what was left open, not at the end
                    what = context.removeprefix("while scanning ").removeprefix("while parsing ")
                    mark, problem = cmark, f"{what} that is never closed"
                else:
                    problem += f", {context} at {cmark.line + 1}:{cmark.column + 1}"
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            self.errors.append(Problem(line, col, 1, f"not valid YAML: {problem}"))
            return None
        return root

    def pos(self, node: yaml.Node) -> Position:
        return Position(self.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def error(self, node: yaml.Node | None, message: str, hint: str | None = None) -> None:
        if node is None:
            self.errors.append(Problem(1, 1, 0, message, hint))
            return
        start, end = node.start_mark, node.end_mark
        width = end.column - start.column if end.line == start.line else 0
        self.errors.append(Problem(start.line + 1, start.column + 1, width, message, hint))

    def value(self, node: yaml.Node) -> Any:
        """The plain Python value of a node (YAML's safe types)."""
        import yaml

        loader = yaml.SafeLoader("")
        try:
            return loader.construct_object(node, deep=True)
        finally:
            loader.dispose()

    def mapping(self, node: yaml.Node, what: str) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
        import yaml

        if not isinstance(node, yaml.MappingNode):
            self.error(node, f"{what} must be a mapping")
            return []
        out: list[tuple[yaml.ScalarNode, yaml.Node]] = []
        seen: set[str] = set()
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                self.error(k, f"{what}: keys must be plain names")
                continue
            if k.value in seen:
                self.error(k, f"{what}: '{k.value}' is given twice")
                continue
            seen.add(k.value)
            out.append((k, v))
        return out

    def unknown(self, key: yaml.Node, what: str, known: Iterable[str]) -> None:
        name = str(key.value)
        known = list(known)
        listed = f"the {what}s: {', '.join(known)}"
        guess = did_you_mean(name, known)
        self.error(key, f"unknown {what} '{name}'", f"{guess} ({listed})" if guess else listed)

    def string(self, node: yaml.Node, what: str) -> str | None:
        """A scalar as written (so `press: 0123` stays "0123"), or an error."""
        import yaml

        if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
            if node.value == "" and node.style is None:
                self.error(node, f"{what} needs a value")
                return None
            return str(node.value)
        self.error(node, f"{what} must be a text")
        return None

    def choice(self, node: yaml.Node, what: str, allowed: Sequence[str]) -> str | None:
        text = self.string(node, what)
        if text is not None and text not in allowed:
            hint = did_you_mean(text, allowed) or "one of: " + ", ".join(allowed)
            self.error(node, f"{what} '{text}' is not valid", hint)
            return None
        return text

    def relative(self, node: yaml.Node, what: str) -> Path | None:
        text = self.string(node, what)
        if text is None:
            return None
        p = Path(text)
        return p if p.is_absolute() else Path(self.path).parent / p

    def messages(self) -> list[str]:
        lines = self.text.split("\n")
        return [p.render(self.path, lines) for p in sorted(self.errors)]


def excerpt(text: str, node: yaml.Node) -> str:
    """The node's source text (first line, shortened)."""
    start, end = node.start_mark.index, node.end_mark.index
    raw = text[start:end].strip().splitlines()
    shown = raw[0] if raw else ""
    if len(raw) > 1:
        shown += " …"
    return shown if len(shown) <= 70 else shown[:69] + "…"


__all__ = ["NodeReader", "Problem", "excerpt"]
