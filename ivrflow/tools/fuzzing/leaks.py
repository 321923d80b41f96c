"""The secure-value audit: a card number or a PIN must never be seen in clear.

Secrets are what a caller keyed (or spoke) into a `secure` capture, and the values the
flow's secure variables hold. They are looked for in every text the call produced:
prompts and other actions (the transcript's IVR lines), the call record, listener traces,
Python log records, and snapshots (`to_dict()` without a key, and the parts of
`to_dict(key=…)` that are not sealed).

One exception, by design: a `Lookup` action's arguments carry the secure value to the
host's function (paying with a card needs the card). They are handed to the host, never
spoken, recorded or traced.

How a value counts as "seen": digits separated by a space, a dot or a dash are read
together (the `digits` say-as filter speaks "4 1 1 1"); a value of 8 digits or more is
found anywhere inside a run of digits, a shorter one only as a whole run (so the CVV 737
is not "found" in 17:37). The fuzzer's callers key distinctive secure values (see
`callers.Secrets`), so a hit is a leak, not a coincidence.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ...runtime.record import Listener

__all__ = [
    "LEAK_PLACES",
    "LogCapture",
    "SecretAudit",
    "TraceListener",
    "find_secret",
]

LEAK_PLACES = ("action", "record", "trace", "log", "snapshot")
MIN_SECRET = 3  # shorter entries (a single key) are not audited: they are not secrets
LONG_SECRET = 8  # from this length a secret is found inside a longer run of digits
_JOINED = re.compile(r"(?<=\d)[ .\-](?=\d)")
_RUN = re.compile(r"\d+")
# Fields that are times, hashes or counters: never where a caller's digits go.
_SKIP_KEYS = frozenset({"started_at", "ended_at", "flow_hash", "t", "duration", "latency_ms"})


def find_secret(text: str, secrets: Iterable[str]) -> str | None:
    """The first secret seen in clear in `text`, or None."""
    if not text or not any(ch.isdigit() for ch in text):
        return None
    runs = _RUN.findall(_JOINED.sub("", text))
    if not runs:
        return None
    for secret in secrets:
        if len(secret) < MIN_SECRET:
            continue
        if len(secret) >= LONG_SECRET:
            if any(secret in run for run in runs):
                return secret
        elif secret in runs:
            return secret
    return None


def strings(value: Any, skip: frozenset[str] = _SKIP_KEYS) -> Iterator[str]:
    """Every string (and integer, as text) inside a JSON-like value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, bool) or value is None or isinstance(value, float):
        return
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in skip:
                yield str(k)
                yield from strings(v, skip)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from strings(v, skip)
    else:
        yield str(value)


@dataclass
class Leak:
    place: str  # one of LEAK_PLACES
    where: str  # which field, line or hook
    secret: str

    def __str__(self) -> str:
        # Never the value itself, not even its last digits: reports end up in logs too.
        what = (
            f"a secure value ({len(self.secret)} digits)"
            if self.secret.isdigit()
            else (f"secure variable '{self.secret}'")
        )
        return f"{what} in clear in {self.place}: {self.where}"


@dataclass
class SecretAudit:
    """Collects secrets during a call and the places where one showed up."""

    secrets: set[str] = field(default_factory=set)
    leaks: list[Leak] = field(default_factory=list)
    # Digit runs of the flow and its fixtures (a card's last four, a test PIN): seeing one
    # of those says nothing, so a caller who keys one is not audited for it.
    ignore: frozenset[str] = frozenset()

    def add(self, value: Any) -> None:
        text = "" if value is None else str(value)
        if len(text) >= MIN_SECRET and text.isdigit() and text not in self.ignore:
            self.secrets.add(text)

    def scan(self, place: str, where: str, texts: Iterable[str]) -> None:
        if not self.secrets:
            return
        for text in texts:
            hit = find_secret(text, self.secrets)
            if hit is not None:
                self.leaks.append(Leak(place, f"{where}: {_clip(text, hit)}", hit))
                return

    def scan_snapshot(self, where: str, data: dict[str, Any], keyed: bool) -> None:
        """A snapshot: everything but the secure section and sealed keys, which must be
        empty without a key (`keyed` False) and sealed with one."""
        plain = {k: v for k, v in data.items() if k not in ("secure", "keys")}
        self.scan("snapshot", where, strings(plain))
        keys = data.get("keys") or {}
        if "sealed" not in keys:
            self.scan("snapshot", f"{where} keys", strings(keys))
        elif keys["sealed"] is not None and not keyed:
            self.leaks.append(Leak("snapshot", f"{where}: keys kept without a key", "keys"))
        for name, token in (data.get("secure") or {}).items():
            if token is None:
                continue
            if not keyed:
                self.leaks.append(
                    Leak("snapshot", f"{where}: secure.{name} kept without a key", name)
                )
            elif not isinstance(token, str) or len(token) < 44 or token in self.secrets:
                self.leaks.append(Leak("snapshot", f"{where}: secure.{name} not sealed", name))


def _clip(text: str, secret: str) -> str:
    """The text around the hit, with the secret itself masked (reports are logs too)."""
    flat = _JOINED.sub("", text)
    i = flat.find(secret)
    around = flat[max(0, i - 30) : i + len(secret) + 30] if i >= 0 else flat[:70]
    return repr(around.replace(secret, "#" * len(secret)))


class TraceListener(Listener):
    """Keeps every value a listener is handed, as text, to audit."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []
        self.ended_calls = 0

    def state_entered(self, session: Any, state: str, at: float) -> None:
        self.texts.append(("state_entered", state))

    def prompt(self, session: Any, action: Any) -> None:
        self.texts.append(("prompt", str(getattr(action, "text", getattr(action, "path", "")))))

    def input(self, session: Any, kind: str, value: str, at: float) -> None:
        self.texts.append(("input", value))

    def lookup(self, session: Any, function: str, status: str, latency_ms: float) -> None:
        self.texts.append(("lookup", f"{function} {status}"))

    def edge(self, session: Any, source: str, target: str, label: str) -> None:
        self.texts.append(("edge", f"{source} {target} {label}"))

    def ended(self, session: Any, record: dict[str, Any]) -> None:
        self.ended_calls += 1
        self.texts.extend(("ended", s) for s in strings(record))


class LogCapture(logging.Handler):
    """Every Python log record, at every level, while a call runs (install with `with`)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self._level = logging.WARNING

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(f"{record.name}: {record.getMessage()}")
        except Exception:  # a malformed log call is not ours to crash on
            self.lines.append(f"{record.name}: {record.msg!r} {record.args!r}")

    def __enter__(self) -> LogCapture:
        root = logging.getLogger()
        self._level = root.level
        root.addHandler(self)
        root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: object) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self._level)
