"""The callback lifecycle (issue 14): claims, attempts, retries, windows and hours, exactly
once — the same tests against SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ivrflow.compiler import compile_file
from ivrflow.host.callback_lifecycle import LifecycleStore, attempt_id, parse_attempt_id
from ivrflow.host.callback_rules import RetryPolicy
from ivrflow.host.callbacks import CallbackRequest, CallbackStoreError, SQLiteCallbackStore

T0 = dt.datetime(2026, 12, 7, 14, 0, tzinfo=dt.UTC).timestamp()  # a Monday, 11:00 in São Paulo


def request(n: int = 1, *, at: float = T0, window: tuple[str, str] | None = None, **extra: Any):
    return CallbackRequest(
        f"call-{n}", "+5511987654321", "billing", "+5511987654321", window, at, "billing", extra
    )


Factory = Callable[..., LifecycleStore]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """Opens stores on one database (each call: a new connection, as another host would)."""
    opened: list[LifecycleStore] = []
    if request.param == "sqlite":
        db = tmp_path / "callbacks.db"

        def open_one(**kw: Any) -> LifecycleStore:
            opened.append(SQLiteCallbackStore(db, **kw))
            return opened[-1]

    else:
        pytest.importorskip("psycopg")
        dsn = str(request.getfixturevalue("postgres"))
        schema = f"t_{uuid.uuid4().hex[:12]}"
        from ivrflow.host.callback_postgres import PostgresCallbackStore

        def open_one(**kw: Any) -> LifecycleStore:
            opened.append(PostgresCallbackStore(dsn, schema=schema, **kw))
            return opened[-1]

    yield open_one
    for s in opened:
        s.close()


def test_busy_then_answered_is_completed_with_both_attempts(make: Factory) -> None:
    s = make(policy=RetryPolicy(initial_delay=60, retry_delay=300, max_attempts=3))
    s.store(request())
    assert s.claim("d1", T0 + 30) == []  # the initial delay
    (c,) = s.claim("d1", T0 + 60)
    assert (c.attempt, c.adopted, c.attempt_id) == (1, False, "call-1~1")
    assert s.claim("d2", T0 + 61) == []  # held: nobody else dials it
    assert s.finish_attempt("call-1", 1, "busy", detail="486", now=T0 + 90)
    e = s.entry("call-1")
    assert e is not None and (e.state, e.attempts, e.due_at) == ("pending", 1, T0 + 390)
    assert s.claim("d2", T0 + 389) == []
    (c2,) = s.claim("d2", T0 + 390)
    assert c2.attempt == 2
    assert s.finish_attempt("call-1", 2, "answered", now=T0 + 420)
    e = s.entry("call-1")
    assert e is not None and e.state == "completed" and e.done_at == T0 + 420
    assert [(a.number, a.outcome, a.dispatcher) for a in e.history] == [
        (1, "busy", "d1"),
        (2, "answered", "d2"),
    ]
    assert s.pending() == []
    f = s.figures()
    assert (f.requested, f.by_state, f.time_to_callback, f.attempts_per_completion) == (
        1,
        {"completed": 1},
        [420.0],
        [2],
    )


def test_a_second_report_of_an_attempt_changes_nothing(make: Factory) -> None:
    s = make(policy=RetryPolicy(retry_delay=10))
    s.store(request())
    (c,) = s.claim("d1", T0)
    assert s.finish_attempt("call-1", 1, "no_answer", now=T0 + 5)
    assert not s.finish_attempt("call-1", 1, "answered", now=T0 + 6)
    assert not s.finish_attempt("call-9", 1, "answered", now=T0 + 6)
    e = s.entry("call-1")
    assert e is not None and e.state == "pending" and e.history[0].outcome == "no_answer"


def test_max_attempts_then_exhausted(make: Factory) -> None:
    s = make(policy=RetryPolicy(retry_delay=10, max_attempts=2))
    s.store(request())
    now = T0
    for outcome in ("machine", "busy"):
        (c,) = s.claim("d", now)
        s.finish_attempt("call-1", c.attempt, outcome, now=now + 1)  # type: ignore[arg-type]
        now += 20
    e = s.entry("call-1")
    assert e is not None and (e.state, e.attempts, e.last_outcome) == ("exhausted", 2, "busy")
    assert s.claim("d", now + 1000) == []


def test_the_window_ends_then_expired(make: Factory) -> None:
    window = ("2026-12-07T11:00-03:00", "2026-12-07T11:10-03:00")  # ten minutes from T0
    s = make(policy=RetryPolicy(retry_delay=300))
    s.store(request(window=window))
    (c,) = s.claim("d", T0)
    s.finish_attempt("call-1", 1, "no_answer", now=T0 + 400)  # next try would be past 11:10
    e = s.entry("call-1")
    assert e is not None and e.state == "expired"
    s.store(request(2, window=("2026-12-07T08:00-03:00", "2026-12-07T09:00-03:00")))
    assert s.claim("d", T0) == []
    e2 = s.entry("call-2")
    assert e2 is not None and e2.state == "expired"


_HOURS = compile_file(
    "h.ivr",
    'flow h "h"\n  timezone "America/Sao_Paulo"\nhours dial:\n  timezone "America/Sao_Paulo"\n'
    '  mon-fri 09:00-19:00\n  sat, sun closed\n  closed 2026-12-08 "feriado"\nstart:\n  hangup\n',
)
assert _HOURS.flow is not None, _HOURS.diagnostics
HOURS = _HOURS.flow.hours["dial"]


def test_attempts_wait_for_open_hours_and_skip_holidays(make: Factory) -> None:
    s = make(policy=RetryPolicy(retry_delay=600, hours=HOURS, expire_after=7 * 86400))
    evening = T0 + 7 * 3600 + 50 * 60  # Monday 18:50 local
    s.store(request(at=evening))
    (c,) = s.claim("d", evening)
    s.finish_attempt("call-1", 1, "no_answer", now=evening + 60)  # 19:01 + 10 min: closed
    e = s.entry("call-1")
    wednesday_9 = dt.datetime(2026, 12, 9, 12, 0, tzinfo=dt.UTC).timestamp()  # Tue is a holiday
    assert e is not None and e.due_at == wednesday_9


def test_higher_priority_first(make: Factory) -> None:
    s = make()
    s.store(request(1, at=T0))
    s.store(request(2, at=T0 + 1, priority=10))
    (c,) = s.claim("d", T0 + 5, limit=1)
    assert (c.request.call_id, c.priority) == ("call-2", 10)


def test_an_expired_lease_is_adopted_not_dialled_again(make: Factory) -> None:
    s = make(policy=RetryPolicy(lease=30))
    s.store(request())
    (c,) = s.claim("dead", T0)
    s.set_reference("call-1", 1, "CA123")
    assert s.claim("alive", T0 + 29) == []
    (a,) = s.claim("alive", T0 + 31)
    assert (a.adopted, a.attempt, a.reference, a.owner) == (True, 1, "CA123", "alive")
    assert s.renew(c, T0 + 32) is None  # the dead one lost it
    assert s.renew(a, T0 + 32) is not None
    s.finish_attempt("call-1", 1, "answered", now=T0 + 40)
    e = s.entry("call-1")
    assert e is not None and e.state == "completed" and len(e.history) == 1


def test_release_counts_no_attempt(make: Factory) -> None:
    s = make()
    s.store(request())
    (c,) = s.claim("d", T0)
    assert s.release(c, T0 + 60, "connection refused")
    e = s.entry("call-1")
    assert e is not None and (e.state, e.attempts, e.history, e.due_at) == (
        "pending",
        0,
        (),
        T0 + 60,
    )
    (c2,) = s.claim("d", T0 + 60)
    assert c2.attempt == 1


def test_operators_cancel_and_retry(make: Factory) -> None:
    s = make(policy=RetryPolicy(max_attempts=1))
    s.store(request(1))
    s.store(request(2))
    assert s.cancel("call-1", T0)
    assert not s.cancel("call-1", T0)
    assert s.claim("d", T0)[0].request.call_id == "call-2"
    assert not s.retry("call-2", T0)  # ringing now
    s.finish_attempt("call-2", 1, "busy", now=T0 + 1)
    assert [e.state for e in s.entries()] == ["exhausted", "cancelled"]
    assert [e.request.call_id for e in s.entries(state="cancelled")] == ["call-1"]
    assert s.retry("call-2", T0 + 2)
    (c,) = s.claim("d", T0 + 2)
    assert c.attempt == 2  # one more, numbered after the first
    s.finish_attempt("call-2", 2, "busy", now=T0 + 3)
    assert s.entry("call-2").state == "exhausted"  # type: ignore[union-attr]
    with pytest.raises(CallbackStoreError, match="no callback request"):
        s.cancel("call-404")
    with pytest.raises(CallbackStoreError, match="unknown state"):
        s.entries(state="lost")


def test_claims_of_dispatchers_on_other_connections_never_overlap(make: Factory) -> None:
    stores = [make() for _ in range(4)]
    for n in range(200):
        stores[0].store(request(n))
    claimed: list[str] = []
    lock = threading.Lock()

    def dispatcher(store: LifecycleStore, name: str) -> None:
        while True:
            got = store.claim(name, T0 + 1, limit=7)
            if not got:
                return
            with lock:
                claimed.extend(c.request.call_id for c in got)

    threads = [threading.Thread(target=dispatcher, args=(s, f"d{i}")) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(f"call-{n}" for n in range(200))


def test_attempt_ids_round_trip() -> None:
    assert parse_attempt_id(attempt_id("1700000000.42", 3)) == ("1700000000.42", 3)
    with pytest.raises(CallbackStoreError):
        parse_attempt_id("no-number")


def test_a_version_1_file_is_brought_to_version_2_with_its_requests(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    conn = sqlite3.connect(db)
    conn.executescript(
        "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);"
        "CREATE TABLE callbacks (id INTEGER PRIMARY KEY AUTOINCREMENT, call_id TEXT NOT NULL UNIQUE,"
        " number TEXT NOT NULL, queue TEXT NOT NULL, ani TEXT, window_start TEXT, window_end TEXT,"
        " requested_at REAL NOT NULL, flow TEXT NOT NULL, extra TEXT NOT NULL DEFAULT '{}',"
        " stored_at REAL NOT NULL, status TEXT, done_at REAL);"
        "INSERT INTO callbacks (call_id, number, queue, requested_at, flow, stored_at, status)"
        " VALUES ('old-1', '+5511987654321', 'billing', 1.0, 'billing', 1.0, NULL),"
        " ('old-2', '+5511987654321', 'billing', 1.0, 'billing', 1.0, 'done');"
    )
    conn.close()
    s = SQLiteCallbackStore(db, policy=RetryPolicy(expire_after=1e12))
    assert [e.state for e in s.entries()] == ["completed", "pending"]
    (c,) = s.claim("d", T0)
    assert c.request.call_id == "old-1"
    s.close()
