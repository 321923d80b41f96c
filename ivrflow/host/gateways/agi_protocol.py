"""The Asterisk Gateway Interface, sans-IO: bytes in, events out; commands formatted as bytes.

A FastAGI session is line-based. Asterisk first sends an environment block,
``agi_name: value`` lines ended by a blank line; then the server sends one
command at a time and Asterisk answers each with a reply line:

    200 result=1 (timeout) endpos=1234      success; `result`, optional data, optional endpos
    510 Invalid or unknown command
    511 Command Not Permitted on a dead channel
    520-Invalid command syntax.  Proper usage follows:   (multi-line, until a line
    ...                                                   that starts with "520 ")
    520 End of proper usage.

A bare ``HANGUP`` line may arrive at any time, even while a command is pending:
it is a notice that the caller hung up, NOT the pending command's reply (which
still follows, usually as ``200 result=-1``). The parser reports it as a separate
`HangupNotice` event so the caller of this module never mistakes one for the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TypeAlias

MAX_LINE = 8192  # bytes per line
MAX_ENV_LINES = 256
MAX_MULTILINE = 256  # lines in one 520 usage block

_ENV_KEY = re.compile(r"^[A-Za-z0-9_]+$")
_REPLY = re.compile(r"^([1-5][0-9][0-9])([ -])(.*)$")
_ENDPOS = re.compile(r"\s*endpos=(-?\d+)\s*$")


class AGIProtocolError(Exception):
    """The peer broke the protocol: a malformed or overlong line, an oversized environment."""


@dataclass(frozen=True, slots=True)
class Environment:
    """The ``agi_*`` variables Asterisk sends first (keys without the ``agi_`` prefix kept as is)."""

    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class Reply:
    """A command's reply. `result` is the text after ``result=`` (None when absent)."""

    code: int
    result: str | None = None
    data: str | None = None  # the text in parentheses: "(timeout)" → "timeout"
    endpos: int | None = None
    text: str = ""  # the reply after the code, or the joined lines of a multi-line reply
    lines: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return self.code == 200

    @property
    def hangup(self) -> bool:
        """The command failed because the channel is gone: result=-1 or 511."""
        return self.code == 511 or (self.code == 200 and self.result == "-1")

    @property
    def result_int(self) -> int:
        """`result` as an integer; raises AGIProtocolError when it is not one."""
        try:
            return int(self.result or "")
        except ValueError:
            raise AGIProtocolError(f"expected a numeric result, got {self.text!r:.80}") from None


@dataclass(frozen=True, slots=True)
class HangupNotice:
    """A bare ``HANGUP`` line: the caller hung up (not a reply)."""


AGIEvent: TypeAlias = Environment | Reply | HangupNotice


def parse_reply(line: str) -> Reply:
    """One single-line reply, e.g. ``200 result=1 (timeout) endpos=300``."""
    m = _REPLY.match(line)
    if m is None or m.group(2) != " ":
        raise AGIProtocolError(f"malformed reply {line!r:.120}")
    code, rest = int(m.group(1)), m.group(3)
    if code != 200:
        return Reply(code, text=rest, lines=(line,))
    if not rest.startswith("result="):
        raise AGIProtocolError(f"200 reply without result= {line!r:.120}")
    body = rest[len("result=") :]
    endpos = None
    em = _ENDPOS.search(body)
    if em is not None:
        endpos = int(em.group(1))
        body = body[: em.start()]
    value, _, tail = body.partition(" ")
    tail = tail.strip()
    data = None
    if tail:
        if not (tail.startswith("(") and tail.endswith(")")):
            raise AGIProtocolError(f"malformed reply data {line!r:.120}")
        data = tail[1:-1]
    return Reply(code, value, data, endpos, rest, (line,))


class AGIParser:
    """Incremental parser for what Asterisk sends: feed bytes, take events."""

    def __init__(self, max_line: int = MAX_LINE, max_env_lines: int = MAX_ENV_LINES) -> None:
        self.max_line = max_line
        self.max_env_lines = max_env_lines
        self._buf = bytearray()
        self._env: dict[str, str] | None = {}
        self._env_lines = 0
        self._multi: list[str] | None = None
        self._events: list[AGIEvent] = []
        self.closed = False

    @property
    def in_environment(self) -> bool:
        return self._env is not None

    def feed(self, data: bytes) -> list[AGIEvent]:
        """Add bytes; return the events completed by them. Raises AGIProtocolError."""
        if self.closed:
            raise AGIProtocolError("data after end of stream")
        self._buf += data
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > self.max_line:
                    raise AGIProtocolError(f"line longer than {self.max_line} bytes")
                break
            if nl > self.max_line:
                raise AGIProtocolError(f"line longer than {self.max_line} bytes")
            raw = bytes(self._buf[:nl])
            del self._buf[: nl + 1]
            self._line(raw.rstrip(b"\r").decode("utf-8", "replace"))
        out, self._events = self._events, []
        return out

    def feed_eof(self) -> None:
        self.closed = True

    def _line(self, line: str) -> None:
        if self._env is not None:
            if line == "":
                self._events.append(Environment(self._env))
                self._env = None
                return
            self._env_lines += 1
            if self._env_lines > self.max_env_lines:
                raise AGIProtocolError(f"environment longer than {self.max_env_lines} lines")
            key, sep, value = line.partition(":")
            if not sep or not _ENV_KEY.match(key):
                raise AGIProtocolError(f"malformed environment line {line!r:.120}")
            self._env[key] = value.strip()
            return
        if self._multi is not None:
            self._multi.append(line)
            if line.startswith("520 "):
                lines, self._multi = self._multi, None
                self._events.append(Reply(520, text="\n".join(lines), lines=tuple(lines)))
            elif len(self._multi) > MAX_MULTILINE:
                raise AGIProtocolError("multi-line reply too long")
            return
        if line.strip() == "HANGUP":
            self._events.append(HangupNotice())
            return
        if line.startswith("520-"):
            self._multi = [line]
            return
        self._events.append(parse_reply(line))


# ------------------------------------------------------------------ commands


def quote(arg: str) -> str:
    """One AGI argument, double-quoted; line breaks (command injection) become spaces."""
    clean = arg.replace("\r", " ").replace("\n", " ")
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


def command(*words: str | int) -> bytes:
    """``command("STREAM FILE", quote(...), ...)``: join and terminate one command line."""
    return (" ".join(str(w) for w in words) + "\n").encode("utf-8")


def stream_file(name: str, escape: str = "") -> bytes:
    return command("STREAM FILE", quote(name), quote(escape))


def get_data(name: str, timeout_ms: int, max_digits: int) -> bytes:
    return command("GET DATA", quote(name), max(0, timeout_ms), max(1, max_digits))


def wait_for_digit(timeout_ms: int) -> bytes:
    return command("WAIT FOR DIGIT", timeout_ms)


def say_digits(digits: str, escape: str = "") -> bytes:
    return command("SAY DIGITS", quote(digits), quote(escape))


def set_variable(name: str, value: str) -> bytes:
    return command("SET VARIABLE", quote(name), quote(value))


def get_variable(name: str) -> bytes:
    return command("GET VARIABLE", quote(name))


def exec_app(app: str, args: str) -> bytes:
    return command("EXEC", app, quote(args))


def record_file(
    path: str, fmt: str, escape: str, max_ms: int, beep: bool, silence_s: int | None
) -> bytes:
    """``RECORD FILE path fmt escape timeout [BEEP] [s=silence]``: -1 is no length cap."""
    words: list[str | int] = ["RECORD FILE", quote(path), fmt, quote(escape), max_ms]
    if beep:
        words.append("BEEP")
    if silence_s:
        words.append(f"s={silence_s}")
    return command(*words)


def verbose(message: str, level: int = 1) -> bytes:
    return command("VERBOSE", quote(message), level)


def hangup() -> bytes:
    return command("HANGUP")


def digit_from_result(result: int) -> str | None:
    """STREAM FILE / WAIT FOR DIGIT answer with the key's ASCII code; 0 means none."""
    if result <= 0:
        return None
    key = chr(result)
    if key not in "0123456789*#ABCD":
        raise AGIProtocolError(f"unexpected key code {result}")
    return key


__all__ = [
    "AGIEvent",
    "AGIParser",
    "AGIProtocolError",
    "Environment",
    "HangupNotice",
    "Reply",
    "command",
    "digit_from_result",
    "exec_app",
    "get_data",
    "get_variable",
    "hangup",
    "parse_reply",
    "quote",
    "record_file",
    "say_digits",
    "set_variable",
    "stream_file",
    "verbose",
    "wait_for_digit",
]
