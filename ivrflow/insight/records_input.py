"""Read call records for a report: JSON lines from files, gzip files or stdin.

One line at a time, never the whole file: a month of records is read in constant
memory. A line that is not a usable record is counted by reason — not JSON, a
missing field, a field of the wrong type — and its `file:line` kept (the first few),
so a report never silently rests on part of the data. Filters (DNIS, flow, flow
version, time range) apply to the well-formed records.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, cast

from ..runtime.record import OUTCOMES

MALFORMED_REASONS = ("not_json", "missing_field", "wrong_type")
EXAMPLES_KEPT = 5

# field → the JSON types it may have; the fields a report cannot do without.
REQUIRED: dict[str, tuple[type, ...]] = {
    "call_id": (str,),
    "flow": (str,),
    "started_at": (str,),
    "duration": (int, float),
    "outcome": (dict,),
    "path": (list,),
}
# Read when present (older or foreign records may lack them), but then of the right type.
OPTIONAL: dict[str, tuple[type, ...]] = {
    "flow_version": (str, type(None)),
    "dnis": (str, type(None)),
    "inputs": (list,),
    "lookups": (list,),
    "noinput": (int,),
    "nomatch": (int,),
    "failures": (list,),
    "queue": (dict,),  # the queue leg (issue 13); records before it have none
}


class RecordsInputError(Exception):
    """A source that cannot be read at all (missing file, permission): a usage error."""


@dataclass
class InputStats:
    """What reading found: lines, good records, malformed lines by reason, filtered ones."""

    files: list[str] = field(default_factory=list)
    lines: int = 0
    records: int = 0  # well-formed
    used: int = 0  # well-formed and kept by the filters
    malformed: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)  # "file:line: reason"

    @property
    def malformed_total(self) -> int:
        return sum(self.malformed.values())

    @property
    def filtered_out(self) -> int:
        return self.records - self.used

    def bad(self, source: str, line: int, reason: str, detail: str) -> None:
        self.malformed[reason] += 1
        if len(self.examples) < EXAMPLES_KEPT:
            self.examples.append(f"{source}:{line}: {detail}")

    def as_json(self) -> dict[str, Any]:
        return {
            "files": list(self.files),
            "lines": self.lines,
            "records": self.records,
            "used": self.used,
            "filtered_out": self.filtered_out,
            "malformed": {reason: self.malformed.get(reason, 0) for reason in MALFORMED_REASONS},
            "malformed_examples": list(self.examples),
        }


@dataclass(frozen=True)
class Filters:
    """Keep a record only if it matches every filter given; an empty set matches all."""

    dnis: frozenset[str] = frozenset()
    flows: frozenset[str] = frozenset()
    flow_versions: frozenset[str] = frozenset()
    since: float | None = None  # epoch seconds, inclusive
    until: float | None = None  # epoch seconds, exclusive

    def keeps(self, record: dict[str, Any], started: float) -> bool:
        if self.dnis and record.get("dnis") not in self.dnis:
            return False
        if self.flows and record["flow"] not in self.flows:
            return False
        if self.flow_versions and str(record.get("flow_version")) not in self.flow_versions:
            return False
        if self.since is not None and started < self.since:
            return False
        return self.until is None or started < self.until

    def as_json(self) -> dict[str, Any]:
        def iso(at: float | None) -> str | None:
            return None if at is None else dt.datetime.fromtimestamp(at, dt.UTC).isoformat()

        return {
            "dnis": sorted(self.dnis),
            "flow": sorted(self.flows),
            "flow_version": sorted(self.flow_versions),
            "since": iso(self.since),
            "until": iso(self.until),
        }


def parse_time(text: str, zone: dt.tzinfo, *, end: bool = False) -> float:
    """`2026-11-16` or `2026-11-16T08:00` (in `zone` unless it has an offset) → epoch.

    A date alone as an end (`--until 2026-11-20`) means the end of that day: the whole
    day is in the range."""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            if end:
                day += dt.timedelta(days=1)
            return dt.datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO date or date-time (2026-11-16T08:00)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    return when.timestamp()


def started_epoch(text: str) -> float:
    """The record's `started_at` (ISO-8601, with its offset) as epoch seconds."""
    when = dt.datetime.fromisoformat(text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)  # the record format writes UTC
    return when.timestamp()


def check(record: Any) -> tuple[str, str] | None:
    """(reason, detail) when `record` is not usable, else None."""
    # Exact types: JSON gives exact ones, and `type(True) is not int` keeps booleans out.
    if type(record) is not dict:
        return "wrong_type", f"a record is a JSON object, not {type(record).__name__}"
    for name, types in REQUIRED.items():
        if name not in record:
            return "missing_field", f"missing field '{name}'"
        if type(record[name]) not in types:
            return "wrong_type", f"field '{name}' is {type(record[name]).__name__}"
    for name, types in OPTIONAL.items():
        if name in record and type(record[name]) not in types:
            return "wrong_type", f"field '{name}' is {type(record[name]).__name__}"
    kind = record["outcome"].get("kind")
    if type(kind) is not str:
        return "missing_field", "missing field 'outcome.kind'"
    if kind not in OUTCOMES:
        return "wrong_type", f"outcome '{kind:.40}' is not one of {', '.join(OUTCOMES)}"
    for step in record["path"]:
        if type(step) is not dict or type(step.get("state")) is not str:
            return "wrong_type", "a path entry without a 'state'"
    try:
        started_epoch(record["started_at"])
    except ValueError:
        return "wrong_type", f"started_at '{record['started_at']:.40}' is not an ISO time"
    return None


def _open(name: str) -> IO[bytes]:
    """The source as bytes, gunzipped when it starts with gzip's magic number."""
    if name == "-":
        raw: IO[bytes] = sys.stdin.buffer
    else:
        try:
            raw = open(name, "rb")  # noqa: SIM115  (closed by the caller)
        except OSError as exc:
            raise RecordsInputError(f"cannot read '{name}': {exc.strerror or exc}") from None
    if isinstance(raw, io.BufferedReader):
        buffered = raw
    else:  # a pipe or test stream without peek(): give it a buffer that has one
        buffered = io.BufferedReader(cast(io.RawIOBase, raw))
    if buffered.peek(2)[:2] == b"\x1f\x8b":
        return cast(IO[bytes], gzip.GzipFile(fileobj=buffered))
    return buffered


def read(
    sources: Iterable[str],
    stats: InputStats,
    filters: Filters = Filters(),
) -> Iterator[tuple[dict[str, Any], float]]:
    """Each usable record that the filters keep, with its start as epoch seconds."""
    for name in sources:
        shown = "<stdin>" if name == "-" else name
        stats.files.append(shown)
        stream = _open(name)
        reached = [0]  # the last line number read, for the message if reading fails
        try:
            yield from _usable(shown, _numbered(stream, reached), stats, filters)
        except (OSError, EOFError) as exc:  # a truncated gzip file, a read error
            stats.bad(shown, reached[0] + 1, "not_json", f"cannot read further: {exc}")
        finally:
            if name != "-":
                stream.close()


def read_db(
    dsn: str,
    stats: InputStats,
    filters: Filters = Filters(),
    schema: str | None = None,
) -> Iterator[tuple[dict[str, Any], float]]:
    """`read` for records in PostgreSQL (`host.records_postgres`): the same checks and
    filters, record by record, so the figures are those of the same records in files. The
    filters also go to the database, which then sends only what they keep."""
    from ..host.records_postgres import RecordStoreError, read_records, shown

    where = shown(dsn)
    stats.files.append(where)
    rows = read_records(
        dsn,
        schema=schema,
        flows=sorted(filters.flows),
        dnis=sorted(filters.dnis),
        flow_versions=sorted(filters.flow_versions),
        since=filters.since,
        until=filters.until,
    )
    try:
        yield from _usable(where, enumerate(rows, 1), stats, filters)
    except RecordStoreError as exc:
        raise RecordsInputError(str(exc)) from None


def _numbered(stream: IO[bytes], reached: list[int]) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(stream, 1):
        reached[0] = number
        yield number, raw


def _usable(
    shown: str,
    lines: Iterable[tuple[int, bytes | str]],
    stats: InputStats,
    filters: Filters,
) -> Iterator[tuple[dict[str, Any], float]]:
    for number, raw in lines:
        if not raw.strip():
            continue
        stats.lines += 1
        try:
            record = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            stats.bad(shown, number, "not_json", f"not JSON ({str(exc)[:60]})")
            continue
        problem = check(record)
        if problem is not None:
            stats.bad(shown, number, *problem)
            continue
        stats.records += 1
        started = started_epoch(record["started_at"])
        if filters.keeps(record, started):
            stats.used += 1
            yield record, started


__all__ = [
    "EXAMPLES_KEPT",
    "MALFORMED_REASONS",
    "Filters",
    "InputStats",
    "RecordsInputError",
    "check",
    "parse_time",
    "read",
    "read_db",
    "started_epoch",
]
