"""The rules of a callback request's life, as pure functions: when it is first due, what an
attempt's outcome leads to, and when the next attempt may ring.

    pending ──claim──► dialing ──answered──────────────► completed
       ▲                  │ busy, no answer, machine,
       └──retry delay─────┤ failed, hung up, later      (attempts < max, inside the window)
                          ├──attempts == max──────────► exhausted
                          └──no open time left─────────► expired
    pending/dialing ──operator──► cancelled

Every store (SQLite, PostgreSQL) applies these in the same transaction that records the
attempt, so the rule lives here once and the stores only keep the bookkeeping. Time is an
argument: the rules never read the clock (a property test drives them with random outcomes).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from .. import model
from ..model import hours as hours_mod

State = Literal["pending", "dialing", "completed", "exhausted", "cancelled", "expired"]
STATES: tuple[State, ...] = ("pending", "dialing", "completed", "exhausted", "cancelled", "expired")
FINAL_STATES: frozenset[str] = frozenset({"completed", "exhausted", "cancelled", "expired"})

# What one attempt came to. `answered`: the customer heard the outbound flow and reached the
# queue (or agent). `later`: they answered and asked to be called later. `hung_up`: they
# answered and left before the queue. `interrupted`: the dispatcher lost the attempt (it was
# killed before it knew whether the call was placed) — retried like a failure.
Outcome = Literal[
    "answered", "later", "hung_up", "busy", "no_answer", "machine", "failed", "interrupted"
]
OUTCOMES: tuple[Outcome, ...] = (
    "answered", "later", "hung_up", "busy", "no_answer", "machine", "failed", "interrupted",
)  # fmt: skip

DAY = 86400.0
SEARCH_DAYS = 31  # how far ahead the next open time is looked for


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a store dials its requests back (Amazon Connect's queued-callback settings)."""

    initial_delay: float = 0.0  # seconds after the request before the first attempt
    retry_delay: float = 300.0  # seconds between attempts
    max_attempts: int = 3
    expire_after: float = DAY  # a request without a window expires this long after it was made
    hours: model.Hours | None = None  # when customers may be called (weekly hours, holidays)
    lease: float = 120.0  # how long a dispatcher holds a claim before another may adopt it

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(self.initial_delay, self.retry_delay, self.expire_after) < 0 or self.lease <= 0:
            raise ValueError("delays must not be negative and the lease must be positive")


def parse_window(window: tuple[str, str] | None) -> tuple[float, float] | None:
    """The request's preferred window (ISO datetimes with their offset) as epoch seconds."""
    if not window:
        return None
    start, end = (dt.datetime.fromisoformat(w).timestamp() for w in window)
    return start, end


def deadline(policy: RetryPolicy, requested_at: float, window: tuple[float, float] | None) -> float:
    """After this moment the request is expired: the end of its window, or `expire_after`."""
    return window[1] if window is not None else requested_at + policy.expire_after


def open_at(policy: RetryPolicy, at: float, window: tuple[float, float] | None) -> float | None:
    """The earliest moment ≥ `at` inside the window and the policy's open hours (holidays
    closed), or None when there is none before the window ends."""
    if window is not None:
        if at >= window[1]:
            return None
        at = max(at, window[0])
    if policy.hours is None:
        return at
    h = policy.hours
    local = hours_mod.local_time(at, h.timezone)
    for days in range(SEARCH_DAYS):
        day = local.date() + dt.timedelta(days=days)
        for start, stop in hours_mod.open_spans(h, day):
            begin = dt.datetime.combine(day, start, local.tzinfo)
            end = (
                dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), local.tzinfo)
                if stop == dt.time.max
                else dt.datetime.combine(day, stop, local.tzinfo)
            )
            if end.timestamp() <= at:
                continue
            moment = max(begin.timestamp(), at)
            if window is not None and moment >= window[1]:
                return None
            return moment
    return None


def first_due(
    policy: RetryPolicy, requested_at: float, window: tuple[float, float] | None
) -> float | None:
    """When the first attempt may ring, or None if never (the request is born expired)."""
    due = open_at(policy, requested_at + policy.initial_delay, window)
    if due is None or due >= deadline(policy, requested_at, window):
        return None
    return due


@dataclass(frozen=True, slots=True)
class Step:
    state: State
    due_at: float | None  # the next attempt's time while pending


def after_attempt(
    policy: RetryPolicy,
    *,
    attempts: int,
    outcome: Outcome,
    now: float,
    requested_at: float,
    window: tuple[float, float] | None,
) -> Step:
    """What an attempt's outcome makes of a request that has had `attempts` attempts (this one
    included)."""
    if outcome == "answered":
        return Step("completed", None)
    if attempts >= policy.max_attempts:
        return Step("exhausted", None)
    due = open_at(policy, now + policy.retry_delay, window)
    if due is None or due >= deadline(policy, requested_at, window):
        return Step("expired", None)
    return Step("pending", due)


__all__ = [
    "FINAL_STATES",
    "OUTCOMES",
    "STATES",
    "Outcome",
    "RetryPolicy",
    "State",
    "Step",
    "after_attempt",
    "deadline",
    "first_due",
    "open_at",
    "parse_window",
]
