"""What the command line does differently on a terminal: progress, colour, Ctrl-C.

- **Progress** (`progress`) goes to standard error, only when it is a terminal and the
  command was not given `--quiet`, drawn by tqdm (the `cli` extra, `ivrflow[cli]`). Without
  tqdm, or piped, or in a dumb terminal, there is none: nothing extra ever reaches a pipe or
  a log file.
- **Colour** (`colour`, `paint_diagnostic`) only on a terminal, and never when the
  environment sets NO_COLOR to anything (https://no-color.org); FORCE_COLOR is not honoured,
  so a pipe never gets escape codes.
- **Ctrl-C that keeps what is done** (`Interrupt`): while a long command runs, the first
  Ctrl-C only asks it to stop; the command ends the piece of work it is in, writes what it
  has (saying that it is partial) and exits 130. A second Ctrl-C interrupts at once.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
from collections.abc import Iterable, Iterator
from types import FrameType, TracebackType
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

PROGRESS_EXTRA = "progress bars need tqdm: install ivrflow[cli]"


def is_terminal(stream: TextIO) -> bool:
    """The stream is a terminal that can redraw a line (not a pipe, a file or TERM=dumb)."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # a closed or exotic stream
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


def colour_enabled(stream: TextIO) -> bool:
    """Colour on this stream: a terminal, and NO_COLOR unset or empty (no-color.org)."""
    return not os.environ.get("NO_COLOR") and is_terminal(stream)


_CODES = {"bold": "1", "red": "1;31", "yellow": "1;33", "cyan": "36", "green": "32", "dim": "2"}


def colour(text: str, style: str, on: bool) -> str:
    """`text` in `style` (bold, red, yellow, cyan, green, dim) when `on`, else as it is."""
    return f"\x1b[{_CODES[style]}m{text}\x1b[0m" if on and text else text


# `path:line:col: error[E104]: message` — the first line of errors.render
_HEAD = re.compile(r"^(?P<where>.*?): (?P<severity>error|warning)\[(?P<code>[^\]]+)\]: ")


def paint_diagnostic(rendered: str, on: bool) -> str:
    """A diagnostic as `errors.render` wrote it, coloured: the place in bold, the severity and
    its caret in red (error) or yellow (warning), the hint in cyan. Unchanged when not `on`."""
    if not on:
        return rendered
    lines = rendered.split("\n")
    head = _HEAD.match(lines[0])
    if head is None:
        return rendered
    tone = "red" if head["severity"] == "error" else "yellow"
    lines[0] = (
        f"{colour(head['where'], 'bold', on)}: "
        f"{colour(head['severity'] + '[' + head['code'] + ']', tone, on)}: "
        f"{lines[0][head.end() :]}"
    )
    for i, line in enumerate(lines[1:], 1):
        if line.startswith("  = hint: "):
            lines[i] = colour(line, "cyan", on)
        elif line.rstrip().endswith("^") and set(line.split("| ", 1)[-1].strip()) == {"^"}:
            gutter, _, marks = line.partition("| ")
            carets = marks.lstrip(" ")
            lines[i] = f"{gutter}| {marks[: len(marks) - len(carets)]}{colour(carets, tone, on)}"
    return "\n".join(lines)


class Progress:
    """A progress bar on standard error, or nothing. Use as a context manager; `advance(n)`
    counts done work, `note(text)` shows what it is working on."""

    def __init__(
        self,
        desc: str,
        *,
        total: int | None = None,
        unit: str = "it",
        quiet: bool = False,
        stream: TextIO | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self._bar: Any = None
        if quiet or not is_terminal(self.stream):
            return
        try:
            from tqdm import tqdm
        except ImportError:  # the `cli` extra is optional: no bar, no complaint
            return
        self._bar = tqdm(
            total=total,
            desc=desc,
            unit=unit,
            unit_scale=total is None or total > 10_000,
            file=self.stream,
            leave=False,  # the command's own output follows; the bar leaves no line behind
            dynamic_ncols=True,
            mininterval=0.2,
            colour=None,
        )

    @property
    def shown(self) -> bool:
        return self._bar is not None

    def advance(self, n: int = 1) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def note(self, text: str) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)

    def write(self, text: str, stream: TextIO) -> None:
        """Write `text` to `stream` (the command's output) without tearing the bar."""
        if self._bar is None:
            stream.write(text)
            return
        self._bar.clear()
        stream.write(text)
        stream.flush()
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class _Stopped(BaseException):
    """Raised by the first Ctrl-C into a read that waits (`Interrupt.items`); a BaseException
    so that no `except Exception` on the way mistakes it for a failed read."""


class Interrupt:
    """Within `with Interrupt() as stop:`, the first SIGINT sets `stop.requested` (the command
    checks it between pieces of work and ends with what it has); a second raises
    KeyboardInterrupt as usual. The previous handler is back on leaving. Off the main thread
    (where signals cannot be handled) it does nothing and Ctrl-C behaves as ever."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None
        self._installed = False
        self._reading = False

    def __call__(self) -> bool:
        return self.requested

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        if self._reading:  # blocked in a read (stdin, a socket): a flag alone would not wake it
            raise _Stopped

    def items(self, source: Iterable[T]) -> Iterator[T]:
        """`source`'s items until Ctrl-C: the item being read when it comes is dropped (its
        read is cut short, even one that waits for input), every item before it is kept, and
        the work done on an item is never cut in the middle."""
        it = iter(source)
        while not self.requested:
            try:
                self._reading = True
                item = next(it)
            except (StopIteration, _Stopped):
                return
            finally:
                self._reading = False
            yield item

    def __enter__(self) -> Interrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
            self._installed = False


__all__ = [
    "PROGRESS_EXTRA",
    "Interrupt",
    "Progress",
    "colour",
    "colour_enabled",
    "is_terminal",
    "paint_diagnostic",
]
