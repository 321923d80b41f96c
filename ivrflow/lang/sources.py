"""Reading flow files and their data files safely: every failure is a diagnostic.

A missing, unreadable, binary, empty or enormous file gets a clear message with
a position where one makes sense, never a traceback.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from ..errors import Diagnostic
from .ast import Span

MAX_BYTES = 8 * 1024 * 1024  # a 20,000-line flow is under 1 MiB


@dataclass(frozen=True, slots=True)
class SourceError(Exception):
    diagnostic: Diagnostic


def _fail(
    code: str, message: str, path: str, span: Span | None = None, hint: str | None = None
) -> SourceError:
    return SourceError(Diagnostic(code, "error", message, path, span, hint))


LIST_SUFFIXES = (".csv", ".txt", ".yaml", ".yml")


def check_reference(target: str, suffixes: tuple[str, ...]) -> tuple[str, str] | None:
    """(message, hint) when a `use`/`list … from` path is not one a flow may name.

    Paths are relative to the flow and name flow or list files: a flow compiled on a
    server cannot reach (and quote) /etc/shadow.
    """
    if not target.strip() or "\x00" in target:
        return (
            f"'{target}' is not a file name",
            'write the path of a file, like "common/hours.ivr"',
        )
    if target.startswith(("/", "\\")) or (len(target) > 1 and target[1] == ":"):
        return (
            f"'{target}' is an absolute path",
            'name files relative to the flow, like "lists/vip.csv"',
        )
    if not target.lower().endswith(suffixes):
        return (
            f"'{target}' is not a {' or '.join(suffixes)} file",
            "flows use .ivr modules and .csv, .txt or .yaml lists",
        )
    return None


def display_path(path: str | Path, *, absolute: bool = False) -> str:
    """Paths in messages: where the file really is, relative to the working directory when
    below it. Elsewhere, the path as given; or, with `absolute`, the absolute real path, for a
    path built by joining (a scenario's folder and `../../billing.ivr`), whose spelling would
    only confuse."""
    p = Path(path)
    try:
        real = p.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL
        return os.path.normpath(p.absolute()) if absolute else str(p)
    try:
        return str(real.relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):  # elsewhere (or no working directory left)
        return str(real) if absolute else str(p)


def read_text(
    path: Path, shown: str, *, allow_empty: bool = False, at: tuple[str, Span] | None = None
) -> str:
    """The file's text, or `SourceError`. `at` places errors at the line that named it."""
    where_path, where_span = at if at else (shown, None)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise _fail("E001", f"'{shown}' is a directory, not a file", where_path, where_span)
        if not stat.S_ISREG(info.st_mode):
            raise _fail(
                "E001",
                f"'{shown}' is not a regular file",
                where_path,
                where_span,
                "flows are read from ordinary text files",
            )
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise _fail(
                "E004",
                f"'{shown}' is too large ({info.st_size // 1024} KiB)",
                where_path,
                where_span,
                f"flow files are limited to {MAX_BYTES // 1024 // 1024} MiB",
            )
    except FileNotFoundError:
        raise _fail("E001", f"file not found: '{shown}'", where_path, where_span) from None
    except PermissionError:
        raise _fail(
            "E001", f"cannot read '{shown}': permission denied", where_path, where_span
        ) from None
    except (OSError, RuntimeError, ValueError) as exc:  # symlink loops, I/O errors, NULs
        reason = getattr(exc, "strerror", None) or str(exc)
        raise _fail("E001", f"cannot read '{shown}': {reason}", where_path, where_span) from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    nul = data.find(b"\x00")
    if nul >= 0:
        raise _fail(
            "E002",
            f"'{shown}' is a binary file, not text",
            shown,
            _byte_span(data, nul),
            "flow files are UTF-8 text",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(
            "E002",
            f"'{shown}' is not valid UTF-8",
            shown,
            _byte_span(data, exc.start),
            "save the file as UTF-8",
        ) from None
    if not allow_empty and all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise _fail(
            "E003",
            f"'{shown}' is empty" if not text.strip() else f"'{shown}' holds only comments",
            where_path,
            where_span,
            'a flow starts with a line like: flow billing "Billing hotline"',
        )
    return text.replace("\r\n", "\n")


def _byte_span(data: bytes, offset: int) -> Span:
    before = data[:offset]
    line = before.count(b"\n") + 1
    col = len(before) - (before.rfind(b"\n") + 1) + 1
    return Span(line, col, line, col + 1)


def read_list(path: Path, shown: str, at: tuple[str, Span]) -> tuple[str, list[tuple[str, Span]]]:
    """The file's text and its entries with their positions: CSV (first column, or a column
    named number/ani/phone) or YAML (a list, or a mapping holding one list)."""
    text = read_text(path, shown, allow_empty=True, at=at)
    if path.suffix.lower() in (".yaml", ".yml"):
        return text, _yaml_entries(text, shown)
    return text, _csv_entries(text)


def _csv_entries(text: str) -> list[tuple[str, Span]]:
    lines = text.split("\n")
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return []
    column = 0
    header = [h.strip().lower() for h in rows[0]]
    start = 0
    for name in ("number", "ani", "phone", "dnis", "value"):
        if name in header:
            column, start = header.index(name), 1
            break
    out = []
    for n, row in enumerate(rows[start:], start=start + 1):
        if len(row) > column and row[column].strip() and not row[0].lstrip().startswith("#"):
            value = row[column].strip()
            raw = lines[n - 1] if n <= len(lines) else ""
            col = raw.find(value) + 1 or 1
            out.append((value, Span(n, col, n, col + len(value))))
    return out


def _yaml_entries(text: str, shown: str) -> list[tuple[str, Span]]:
    import yaml  # only flows with YAML lists pay for it

    try:
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        span = (
            Span(mark.line + 1, mark.column + 1, mark.line + 1, mark.column + 2) if mark else None
        )
        problem = str(getattr(exc, "problem", "") or "")
        raise _fail(
            "E023",
            f"'{shown}' is not valid YAML ({problem})"
            if problem
            else f"'{shown}' is not valid YAML",
            shown,
            span,
            "the mistake is often on the line above: an unclosed quote or a missing '-'",
        ) from None
    if isinstance(node, yaml.MappingNode) and len(node.value) == 1:
        node = node.value[0][1]
    if node is None:
        return []
    if not isinstance(node, yaml.SequenceNode) or not all(
        isinstance(item, yaml.ScalarNode) for item in node.value
    ):
        raise _fail(
            "E023",
            f"'{shown}' must hold a list of numbers or names",
            shown,
            None,
            'one entry per line, like: - "+5511999990000"',
        )
    out = []
    for item in node.value:
        m = item.start_mark
        out.append(
            (str(item.value), Span(m.line + 1, m.column + 1, m.line + 1, item.end_mark.column + 1))
        )
    return out


__all__ = ["MAX_BYTES", "SourceError", "display_path", "read_list", "read_text"]
