"""Random attempt outcomes against the retry rules (issue 14), through a real SQLite store:
whatever the customer's phone does, a request ends in exactly one final state, never takes
more attempts than allowed, never rings outside its window, and each attempt has one outcome."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ivrflow.host.callback_rules import (
    OUTCOMES,
    RetryPolicy,
    after_attempt,
    first_due,
    open_at,
    parse_window,
)
from ivrflow.host.callbacks import CallbackRequest, SQLiteCallbackStore

T0 = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC).timestamp()


@settings(max_examples=60, deadline=None)
@given(
    outcomes=st.lists(st.sampled_from(OUTCOMES), min_size=1, max_size=12),
    max_attempts=st.integers(1, 5),
    retry_delay=st.integers(0, 4000),
    window_minutes=st.one_of(st.none(), st.integers(1, 240)),
    reports=st.integers(1, 3),
)
def test_random_outcomes_follow_the_rules(
    outcomes: list[str],
    max_attempts: int,
    retry_delay: int,
    window_minutes: int | None,
    reports: int,
) -> None:
    policy = RetryPolicy(retry_delay=retry_delay, max_attempts=max_attempts)
    window = None
    if window_minutes is not None:
        start = dt.datetime.fromtimestamp(T0, dt.UTC)
        window = (start.isoformat(), (start + dt.timedelta(minutes=window_minutes)).isoformat())
    store = SQLiteCallbackStore(":memory:", policy=policy)
    store.store(CallbackRequest("c", "+5511987654321", "q", None, window, T0, "f", {}))
    now, tried = T0, []
    for outcome in outcomes:
        claims = store.claim("d", now)
        entry = store.entry("c")
        assert entry is not None
        if entry.state != "pending" and not claims:
            break
        if not claims:  # not due yet: jump to when it is
            assert entry.due_at is not None and entry.due_at > now
            now = entry.due_at
            claims = store.claim("d", now)
        (claim,) = claims
        if window is not None:
            assert now < parse_window(window)[1]  # type: ignore[index]
        tried.append(outcome)
        for _ in range(reports):  # the status callback, the call's end, an adopter: once
            store.finish_attempt("c", claim.attempt, outcome, now=now + 30)  # type: ignore[arg-type]
        now += 31
    entry = store.entry("c")
    assert entry is not None
    assert entry.attempts == len(tried) <= max_attempts
    assert [a.outcome for a in entry.history] == tried
    if "answered" in tried:
        assert entry.state == "completed" and tried[-1] == "answered"
    elif len(tried) == max_attempts:
        assert entry.state == "exhausted"
    elif entry.state != "pending":
        assert entry.state == "expired" and window is not None
    store.close()


@settings(max_examples=200, deadline=None)
@given(
    attempts=st.integers(1, 6),
    outcome=st.sampled_from(OUTCOMES),
    delay=st.integers(0, 10_000),
    offset=st.integers(0, 3 * 86400),
)
def test_a_pending_step_is_due_later_and_inside_the_deadline(
    attempts: int, outcome: str, delay: int, offset: int
) -> None:
    policy = RetryPolicy(retry_delay=delay, max_attempts=4)
    step = after_attempt(
        policy, attempts=attempts, outcome=outcome, now=T0 + offset, requested_at=T0, window=None
    )  # type: ignore[arg-type]
    if step.state == "pending":
        assert step.due_at is not None and T0 + offset + delay <= step.due_at < T0 + 86400
    else:
        assert step.due_at is None
    assert (step.state == "completed") == (outcome == "answered")


def test_no_open_time_before_the_window_ends_is_none() -> None:
    window = (T0, T0 + 60)
    assert open_at(RetryPolicy(), T0 + 61, window) is None
    assert open_at(RetryPolicy(), T0 - 100, window) == T0
    assert first_due(RetryPolicy(initial_delay=120), T0, window) is None


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(retry_delay=-1)
