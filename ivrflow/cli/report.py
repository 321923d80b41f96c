"""`ivrflow report RECORDS.jsonl...`: contact-center KPIs from call records."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from . import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, count

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterator

    from ..insight import kpis
    from ..insight.kpis import FlowInfo
    from ..insight.records_input import Filters, InputStats
    from .terminal import Progress

T = TypeVar("T")

NAME = "report"
HELP = "contact-center KPIs from call records (tables, JSON, CSV, HTML)"
DESCRIPTION = (
    "Read call records (JSON lines; several files, gzip files, or - for stdin) and report "
    "containment, transfers per queue, abandonment in the IVR and where it happens, time in "
    "IVR, no-input and no-match, look-up errors and latency, and callbacks; every figure is "
    "defined in docs/metrics.md. Malformed lines are counted and the first few shown on "
    "stderr. Exit 0 with a report, 1 when no line was a usable record (or, with --strict, "
    "when any line was malformed), 2 on bad usage or an unreadable file. On a terminal a "
    "progress line counts the records read (not with --quiet); Ctrl-C stops reading and "
    "reports on the records read so far, saying so (exit 130)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("files", nargs="*", metavar="RECORDS", help="JSON-lines records, or -")
    p.add_argument(
        "--db",
        metavar="DSN",
        help="read the records from PostgreSQL (what `serve --records-db` wrote), instead of "
        "files: postgresql://user@host/db, or env:NAME for a DSN in an environment variable",
    )
    p.add_argument("--db-schema", metavar="NAME", help="the schema of the records table")
    p.add_argument("--format", choices=("text", "json", "csv"), default="text")
    p.add_argument("--html", metavar="FILE", type=Path, help="also write a self-contained page")
    p.add_argument("--by", choices=("hour", "day"), default="day", help="periods over time")
    p.add_argument("--tz", default="UTC", metavar="ZONE", help="time zone of periods and dates")
    p.add_argument("--dnis", action="append", default=[], help="only calls to this number")
    p.add_argument("--flow", action="append", default=[], help="only calls of this flow")
    p.add_argument("--flow-version", action="append", default=[], metavar="VERSION")
    p.add_argument("--since", metavar="TIME", help="calls started at or after (ISO date/time)")
    p.add_argument("--until", metavar="TIME", help="calls started before; a date: to its end")
    p.add_argument(
        "--flows",
        action="append",
        default=[],
        metavar="PATH",
        help="flow files or directories (state kinds, callback offers); "
        "default: <flow>.ivr beside the records or in their parent directory",
    )
    p.add_argument("--strict", action="store_true", help="fail on any malformed line")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress line on a terminal")
    p.add_argument(
        "--callbacks",
        metavar="DB",
        help="add the callback figures of this store (SQLite file or postgresql:// URL): "
        "requested, completed, time to callback, attempts per completion, exhausted",
    )
    p.add_argument(
        "--sl-target",
        action="append",
        default=[],
        metavar="SECONDS",
        help="service level: share answered within this wait (20s, 1m; several allowed; "
        "default 20s)",
    )
    p.add_argument(
        "--short-abandon",
        default="5s",
        metavar="SECONDS",
        help="abandons in queue shorter than this are reported apart (default 5s)",
    )


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from ..insight import kpis, render
    from ..insight.records_input import RecordsInputError, read

    out, err = out or sys.stdout, err or sys.stderr
    try:
        zone = _zone(args.tz)
        filters = _filters(args, zone)
        targets = tuple(_seconds(t, "--sl-target") for t in args.sl_target) or (20.0,)
        short_abandon = _seconds(args.short_abandon, "--short-abandon")
    except ValueError as exc:
        err.write(f"ivrflow report: {exc}\n")
        return EXIT_USAGE
    if bool(args.files) == bool(args.db):
        err.write("ivrflow report: give record files or --db, one of the two\n")
        return EXIT_USAGE
    if args.files.count("-") > 1:
        err.write("ivrflow report: '-' (stdin) can be read only once\n")
        return EXIT_USAGE
    from ..insight.records_input import InputStats, read_db

    stats = InputStats()
    resolve = _resolver(args.flows, args.files, err)
    if args.db:
        dsn = args.db
        if dsn.startswith("env:"):
            import os

            dsn = os.environ.get(dsn[4:], "")
        records = read_db(dsn, stats, filters, args.db_schema)
    else:
        records = read(args.files, stats, filters)
    from .terminal import Interrupt, Progress

    with Interrupt() as stop, Progress("report", unit=" records", quiet=args.quiet) as bar:
        try:
            report = kpis.build(
                _counted(stop.items(records), bar),
                by=args.by,
                zone=zone,
                resolve=resolve,
                sl_targets=targets,
                short_abandon=short_abandon,
            )
        except RecordsInputError as exc:
            err.write(f"ivrflow report: {exc}\n")
            return EXIT_USAGE
    partial = stop.requested
    if partial:
        err.write(
            f"ivrflow report: interrupted: a partial report, of the {stats.lines:,} lines "
            "read before Ctrl-C\n"
        )
    _tell_malformed(stats, err)
    if stats.records == 0:
        where = "the database" if args.db else count(len(args.files), "file")
        err.write(f"ivrflow report: no usable records in {where}\n")
        return EXIT_FAILED
    if args.strict and stats.malformed_total:
        err.write("ivrflow report: --strict: not reporting on part of the records\n")
        return EXIT_FAILED
    if stats.used == 0:
        err.write("ivrflow report: no record matches the filters\n")
    data = report.result(stats.as_json() | {"filters": filters.as_json()})
    if partial:
        data["interrupted"] = True  # only then: the figures are of the records read so far
    callback_figures = None
    if args.callbacks:
        callback_figures = _callback_figures(args.callbacks, filters, err)
        if callback_figures is None:
            return EXIT_FAILED
        data["callback_store"] = callback_figures
    if args.html is not None:
        from ..insight.page import render_page

        previous = (
            None if partial else _previous(args, report, filters, zone, targets, short_abandon)
        )
        try:
            args.html.write_text(render_page(data, previous=previous), encoding="utf-8")
        except OSError as exc:
            err.write(f"ivrflow report: cannot write '{args.html}': {exc.strerror or exc}\n")
            return EXIT_USAGE
    render.WRITERS[args.format](data, out)
    if callback_figures is not None and args.format == "text":
        from ..insight.callbacks import text

        out.write("\n" + text(callback_figures))
    if partial:
        if args.format == "text":
            out.write(f"\n(partial: interrupted after {stats.lines:,} lines)\n")
        return EXIT_INTERRUPTED
    return EXIT_OK


def _counted(records: Iterator[T], bar: Progress) -> Iterator[T]:
    """The records, counted on the progress line (in steps of 1,000: the bar costs nothing
    per record); the records themselves when no bar is shown."""
    if not bar.shown:
        yield from records
        return
    n = 0
    for record in records:
        yield record
        n += 1
        if n == 1000:
            bar.advance(n)
            n = 0
    bar.advance(n)


def _previous(
    args: argparse.Namespace,
    report: kpis.Report,
    filters: Filters,
    zone: dt.tzinfo,
    targets: tuple[float, ...],
    short_abandon: float,
) -> dict[str, Any] | None:
    """The report of the period of the same length just before this one (--since/--until,
    else the whole days the records span), for the page's changes; None without one."""
    import dataclasses

    from ..insight import kpis
    from ..insight.headline import period_bounds
    from ..insight.records_input import InputStats, read

    if "-" in args.files or report.first is None or report.last is None:
        return None  # stdin cannot be read twice
    start, end = period_bounds(report.first, report.last, zone)
    start = filters.since if filters.since is not None else start
    end = filters.until if filters.until is not None else end
    before = dataclasses.replace(filters, since=start - (end - start), until=start)
    earlier = kpis.build(
        read(args.files, InputStats(), before),
        by=args.by,
        zone=zone,
        sl_targets=targets,
        short_abandon=short_abandon,
    )
    return earlier.result() if earlier.total.calls else None


def _callback_figures(spec: str, filters: Filters, err: TextIO) -> dict[str, Any] | None:
    from ..host.callbacks import CallbackStoreError, open_store
    from ..insight.callbacks import figures

    since = filters.since
    try:
        store = open_store(spec)
        try:
            return figures(store, since)
        finally:
            store.close()
    except CallbackStoreError as exc:
        err.write(f"ivrflow report: --callbacks: {exc}\n")
        return None


def _seconds(text: str, option: str) -> float:
    """'20s', '1m30s', '90' → seconds: the flow language's durations, or plain seconds."""
    from ..compiler.expressions import parse_duration

    value = float(text) if text.strip().isdigit() else parse_duration(text.strip())
    if value is None:
        raise ValueError(f"bad {option} '{text}': a duration like 20s, 1m30s or 90")
    return value


def _zone(name: str) -> dt.tzinfo:
    import datetime as dt
    import zoneinfo

    if name.upper() == "UTC":
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{name}' (an IANA name: America/Sao_Paulo)") from None


def _filters(args: argparse.Namespace, zone: dt.tzinfo) -> Filters:
    from ..insight.records_input import Filters, parse_time

    since = parse_time(args.since, zone) if args.since else None
    until = parse_time(args.until, zone, end=True) if args.until else None
    if since is not None and until is not None and until <= since:
        raise ValueError("--until must be later than --since")
    return Filters(
        dnis=frozenset(d.replace(" ", "") for d in args.dnis),
        flows=frozenset(args.flow),
        flow_versions=frozenset(args.flow_version),
        since=since,
        until=until,
    )


def _resolver(flows: list[str], files: list[str], err: TextIO) -> Callable[[str], FlowInfo | None]:
    """flow name → its FlowInfo, from --flows, or else from a flow file beside the records."""
    from ..insight.kpis import flow_info

    given = [Path(p) for p in flows]
    dirs = [p for p in given if p.is_dir()]
    if not given:
        for name in files:
            if name != "-":
                here = Path(name).resolve().parent
                dirs += [d for d in (here, here.parent) if d not in dirs]

    def compiled(path: Path) -> FlowInfo | None:
        try:
            return flow_info(path)
        except Exception as exc:  # a broken flow file costs its details, not the report
            err.write(f"ivrflow report: {path}: cannot compile ({str(exc)[:200]})\n")
            return None

    # A file named on the command line counts under its flow's name, whatever the file's.
    cache: dict[str, FlowInfo | None] = {}
    for path in given:
        if path.is_file() and (info := compiled(path)) is not None:
            cache[info.name] = info

    def resolve(flow: str) -> FlowInfo | None:
        if flow not in cache:
            path = next((d / f"{flow}.ivr" for d in dirs if (d / f"{flow}.ivr").is_file()), None)
            info = compiled(path) if path is not None else None
            cache[flow] = info if info is not None and info.name == flow else None
        return cache[flow]

    return resolve


def _tell_malformed(stats: InputStats, err: TextIO) -> None:
    from ..insight.records_input import MALFORMED_REASONS

    if not stats.malformed_total:
        return
    labels = {
        "not_json": "not JSON",
        "missing_field": "missing a field",
        "wrong_type": "wrong type",
    }
    reasons = ", ".join(
        f"{stats.malformed[reason]:,} {labels[reason]}"
        for reason in MALFORMED_REASONS
        if stats.malformed[reason]
    )
    err.write(
        f"ivrflow report: {count(stats.malformed_total, 'malformed line')} "
        f"of {stats.lines:,} skipped ({reasons})\n"
    )
    for example in stats.examples:
        err.write(f"  {example}\n")
    if stats.malformed_total > len(stats.examples):
        err.write(f"  … and {stats.malformed_total - len(stats.examples):,} more\n")
