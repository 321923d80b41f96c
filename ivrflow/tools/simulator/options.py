"""Placing the simulated call: the command line's options as data, checked against the flow.

A bad option is a `UsageError` (one line, exit status 2), never a traceback.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ...errors import did_you_mean
from ...host.fixtures import FixtureError, Fixtures, for_flow, parse_queue_option
from ...host.fixtures import load as load_fixtures
from ...model import Flow
from ...model.hours import zone
from ...runtime.events import TRANSFER_STATUSES
from ..testing import DEFAULT_AT, Call

TRANSFER_RESULTS = TRANSFER_STATUSES


class UsageError(Exception):
    """A bad option or script line: reported in one line, exit status 2."""


@dataclass(frozen=True)
class Options:
    """How to place the call (the command-line options, as data)."""

    ani: str | None = None
    dnis: str | None = None
    caller: str | None = None  # a name from the fixtures' `calls`
    at: str | None = None  # ISO; without an offset, in the flow's time zone
    language: str | None = None
    emergency: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()  # "billing:ewt=300,position=4"
    fixtures: str | None = None  # a fixtures file instead of the flow's own
    transfer: str = "answered"
    seed: int = 0


DEFAULT_HOUR = "10:00"


def parse_at(text: str, timezone: str) -> dt.datetime:
    """`2026-12-25T10:00` (in `timezone`), `2026-12-25T10:00-03:00`, `2026-12-25`, or `19:30`
    (a time on the default day, Tuesday 2026-11-24)."""
    raw = text.strip()
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", raw):
            day = dt.datetime.fromisoformat(DEFAULT_AT).date()
            hour = raw if raw.index(":") == 2 else f"0{raw}"
            when = dt.datetime.combine(day, dt.time.fromisoformat(hour))
        else:
            when = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(
            f"bad --at '{text}': write a date and time like 2026-12-25T10:00 (read in the "
            f"flow's time zone, {timezone}) or with a UTC offset, 2026-12-25T10:00-03:00"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=zone(timezone))


def make_call(flow: Flow, options: Options, **call_options: Any) -> Call:
    """A `Call` (not started) placed as `options` say; `UsageError` on a bad option."""
    fixtures = _fixtures(flow, options)
    caller: dict[str, str] = {}
    if options.caller is not None:
        if options.caller not in fixtures.calls:
            known = ", ".join(sorted(fixtures.calls)) or "none"
            raise UsageError(f"unknown caller '{options.caller}' (the fixtures have: {known})")
        caller = fixtures.calls[options.caller]
    kwargs: dict[str, Any] = dict(call_options)
    ani = options.ani if options.ani is not None else caller.get("ani")
    dnis = options.dnis if options.dnis is not None else caller.get("dnis")
    if ani is not None:
        kwargs["ani"] = ani
    if dnis is not None:
        kwargs["dnis"] = dnis
    for name in options.emergency:
        _known(name, flow.hours, "hours", "--emergency")
    if options.transfer not in TRANSFER_RESULTS:
        raise UsageError(
            f"bad --transfer '{options.transfer}': one of {', '.join(TRANSFER_RESULTS)}"
        )
    return Call(
        flow,
        # Without --at: 10:00 on the default day in the flow's own zone, not São Paulo's.
        at=parse_at(options.at or DEFAULT_HOUR, flow.settings.timezone),
        fixtures=fixtures,
        emergency=options.emergency,
        variables={"language": options.language} if options.language else None,
        transfer_result=options.transfer,
        seed=options.seed,
        **kwargs,
    )


def _fixtures(flow: Flow, options: Options) -> Fixtures:
    try:
        fixtures = load_fixtures(options.fixtures) if options.fixtures else for_flow(flow)
        for text in options.queues:
            name, status = parse_queue_option(text)
            _known(name, flow.queues, "queue", "--queue")
            fixtures.queues[name] = status
    except FixtureError as exc:
        raise UsageError(str(exc)) from None
    return fixtures


def _known(name: str, names: Iterable[str], what: str, option: str) -> None:
    names = sorted(names)
    if name not in names:
        hint = did_you_mean(name, names)
        listed = f"the flow has: {', '.join(names)}" if names else "the flow declares none"
        raise UsageError(f"{option}: unknown {what} '{name}' ({hint or listed})")


__all__ = ["TRANSFER_RESULTS", "Options", "UsageError", "make_call", "parse_at"]
