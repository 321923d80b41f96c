"""Callback stores: SQLite (WAL, idempotent per call id, survives restarts), memory, and the spool
that keeps a request the store refused, then replays it exactly once."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

import ivrflow
from ivrflow.errors import IvrflowRuntimeError
from ivrflow.host.callbacks import (
    SCHEMA_VERSION,
    CallbackRequest,
    CallbackStore,
    CallbackStoreError,
    MemoryCallbackStore,
    SpoolingStore,
    SQLiteCallbackStore,
)
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.runtime.session import Session

FLOWS = Path(__file__).resolve().parents[2] / "flows"
T0 = 1795525200.0  # 2026-11-24 10:00 in São Paulo (a Tuesday)
NIGHT = T0 + 13 * 3600  # 23:00: the billing desk is closed, a callback is offered


def req(call_id: str = "c1", queue: str = "billing", at: float = T0, **kw: Any) -> CallbackRequest:
    values: dict[str, Any] = dict(
        call_id=call_id,
        number="+5511987650000",
        queue=queue,
        ani="+5511987650000",
        window=("2026-11-25T09:00-03:00", "2026-11-25T19:00-03:00"),
        requested_at=at,
        flow="billing",
        extra={"reason": "ewt"},
    )
    values.update(kw)
    return CallbackRequest(**values)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "callbacks.db"


@pytest.fixture(params=["sqlite", "memory"])
def store(request: pytest.FixtureRequest, db: Path) -> Any:
    s = SQLiteCallbackStore(db) if request.param == "sqlite" else MemoryCallbackStore()
    yield s
    s.close()


class FailingStore(MemoryCallbackStore):
    """A store whose writes fail while `error` is set (disk full, read-only, …)."""

    def __init__(self, error: Exception | None = None) -> None:
        super().__init__()
        self.error = error
        self.calls = 0

    def store(self, request: CallbackRequest) -> str:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return super().store(request)


# ------------------------------------------------------------ the request


def test_request_from_action_keeps_every_field() -> None:
    action = act.StoreCallback("c9", "+5511987650000", "billing", None, ("a", "b"), T0, {"k": 1})
    r = CallbackRequest.from_action(action, "billing")
    assert r == CallbackRequest("c9", "+5511987650000", "billing", None, ("a", "b"), T0,
                                "billing", {"k": 1})  # fmt: skip
    assert CallbackRequest.from_dict(json.loads(json.dumps(r.as_dict()))) == r
    assert (
        CallbackRequest.from_action(
            act.StoreCallback("c9", "+5511987650000", "billing", None, None, T0), "f"
        ).window
        is None
    )


def test_store_error_is_a_runtime_error() -> None:
    assert issubclass(CallbackStoreError, IvrflowRuntimeError)


# ------------------------------------------------------------ both stores


def test_stores_follow_the_protocol(store: Any) -> None:
    assert isinstance(store, CallbackStore)


def test_idempotent_per_call_id(store: Any) -> None:
    first = store.store(req("c1"))
    again = store.store(req("c1", number="+5521999990000"))  # a retry: the first one wins
    other = store.store(req("c2"))
    assert first == again != other
    assert store.get("c1") == req("c1")
    assert [r.call_id for r in store.pending()] == ["c1", "c2"]


def test_get_unknown_is_none(store: Any) -> None:
    assert store.get("nope") is None


def test_pending_oldest_first_by_queue_and_limit(store: Any) -> None:
    store.store(req("late", at=T0 + 60))
    store.store(req("early", at=T0))
    store.store(req("intl", queue="billing_intl", at=T0 + 30))
    assert [r.call_id for r in store.pending()] == ["early", "intl", "late"]
    assert [r.call_id for r in store.pending("billing")] == ["early", "late"]
    assert [r.call_id for r in store.pending(limit=1)] == ["early"]


def test_mark_done_removes_from_pending(store: Any) -> None:
    store.store(req("c1"))
    store.store(req("c2", at=T0 + 1))
    store.mark_done("c1", "called")
    assert [r.call_id for r in store.pending()] == ["c2"]
    assert store.get("c1") is not None  # done requests are kept
    with pytest.raises(CallbackStoreError, match="no callback request"):
        store.mark_done("nope", "called")
    with pytest.raises(CallbackStoreError, match="non-empty"):
        store.mark_done("c2", "")


def test_closed_store_raises(store: Any) -> None:
    store.close()
    with pytest.raises(CallbackStoreError, match="closed"):
        store.store(req())


# ------------------------------------------------------------ SQLite


def test_survives_reopen(db: Path) -> None:
    s = SQLiteCallbackStore(db)
    ref = s.store(req("c1"))
    s.store(req("c2", window=None, ani=None, extra={}))
    s.mark_done("c2", "no_answer")
    s.close()
    s = SQLiteCallbackStore(db)
    assert s.store(req("c1")) == ref
    assert s.get("c1") == req("c1")
    assert s.get("c2") == req("c2", window=None, ani=None, extra={})
    assert [r.call_id for r in s.pending()] == ["c1"]
    s.close()


def test_wal_full_sync_and_schema_version(db: Path) -> None:
    s = SQLiteCallbackStore(db)
    assert s._conn is not None
    assert s._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    s.close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()


def test_newer_schema_is_refused(db: Path) -> None:
    SQLiteCallbackStore(db).close()
    conn = sqlite3.connect(db)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(CallbackStoreError, match="schema version 99"):
        SQLiteCallbackStore(db)


def test_one_row_per_call_id(db: Path) -> None:
    s = SQLiteCallbackStore(db)
    for _ in range(3):
        s.store(req("c1"))
    s.close()
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM callbacks").fetchone() == (1,)
    conn.close()


def test_four_threads_store_200_requests(db: Path) -> None:
    s = SQLiteCallbackStore(db)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(50):
                s.store(req(f"t{k}-{i}", at=T0 + i))
                s.store(req(f"t{k}-{i}"))  # retried: still one row
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(s.pending(limit=1000)) == 200
    s.close()


def test_locked_database_is_a_clear_error_and_the_spool_replays_once(
    db: Path, tmp_path: Path
) -> None:
    inner = SQLiteCallbackStore(db, timeout=0.05)
    spool = SpoolingStore(inner, tmp_path / "spool.jsonl")
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(CallbackStoreError, match="locked"):
            inner.store(req("c1"))
        assert spool.store(req("c1")) == "spooled:c1"
        assert spool.get("c1") == req("c1")  # found in the spool
        with pytest.raises(CallbackStoreError, match="0 of 1 moved"):
            spool.replay()
        assert len(spool.spooled()) == 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert spool.replay() == 1
    assert spool.replay() == 0
    assert not (tmp_path / "spool.jsonl").exists()
    assert [r.call_id for r in inner.pending()] == ["c1"]
    spool.close()


def test_read_only_database(db: Path) -> None:
    SQLiteCallbackStore(db).close()
    if os.geteuid() != 0:
        db.chmod(0o444)
        try:
            ro = SQLiteCallbackStore(db)  # opens (reads work), refuses writes
            with pytest.raises(CallbackStoreError, match="read-only"):
                ro.store(req())
            ro.close()
        finally:
            db.chmod(0o644)
    s = SQLiteCallbackStore(db)  # root ignores file modes: make the connection read-only
    assert s._conn is not None
    s._conn.execute("PRAGMA query_only = ON")
    with pytest.raises(CallbackStoreError, match=r"storing the callback of call c1.*read-only"):
        s.store(req("c1"))
    s.close()


def test_disk_full_in_sqlite_is_a_clear_error(db: Path, tmp_path: Path) -> None:
    s = SQLiteCallbackStore(db)
    assert s._conn is not None
    pages = s._conn.execute("PRAGMA page_count").fetchone()[0]
    s._conn.execute(f"PRAGMA max_page_count = {pages}")
    big = {"note": "x" * 20000}
    with pytest.raises(CallbackStoreError, match="disk is full"):
        s.store(req("c1", extra=big))
    spool = SpoolingStore(s, tmp_path / "spool.jsonl")
    assert spool.store(req("c1", extra=big)) == "spooled:c1"
    s._conn.execute("PRAGMA max_page_count = 1000000")
    assert spool.replay() == 1
    assert s.get("c1") == req("c1", extra=big)
    s.close()


# ------------------------------------------------------------ the spool


def test_spool_keeps_what_a_failing_store_refused(tmp_path: Path) -> None:
    inner = FailingStore(OSError(28, "No space left on device"))
    spool = SpoolingStore(inner, tmp_path / "spool.jsonl")
    assert spool.store(req("c1")) == "spooled:c1"
    assert spool.store(req("c2")) == "spooled:c2"
    lines = (tmp_path / "spool.jsonl").read_text().splitlines()
    assert [json.loads(line)["call_id"] for line in lines] == ["c1", "c2"]
    inner.error = None
    ref = spool.store(req("c3"))  # a successful store replays the spool
    assert ref.startswith("mem:")
    assert {r.call_id for r in inner.pending()} == {"c1", "c2", "c3"}
    assert not (tmp_path / "spool.jsonl").exists()
    assert spool.replay() == 0


def test_replay_is_exactly_once_even_after_a_crash_before_rewrite(tmp_path: Path) -> None:
    inner = FailingStore(CallbackStoreError("down"))
    path = tmp_path / "spool.jsonl"
    spool = SpoolingStore(inner, path)
    spool.store(req("c1"))
    saved = path.read_bytes()
    inner.error = None
    assert spool.replay() == 1
    path.write_bytes(saved)  # as if the process died after storing, before the rewrite
    restarted = SpoolingStore(inner, path)
    assert restarted.store(req("c2")).startswith("mem:")
    assert [r.call_id for r in inner.pending()] == ["c1", "c2"]
    assert len(inner._rows) == 2


def test_replay_stops_at_the_first_refusal_and_keeps_the_rest(tmp_path: Path) -> None:
    class Flaky(MemoryCallbackStore):
        def store(self, request: CallbackRequest) -> str:
            if request.call_id == "c2":
                raise CallbackStoreError("still down")
            return super().store(request)

    path = tmp_path / "spool.jsonl"
    down = SpoolingStore(FailingStore(CallbackStoreError("down")), path)
    for c in ("c1", "c2", "c3"):
        down.store(req(c))
    inner = Flaky()
    with pytest.raises(CallbackStoreError, match="1 of 3 moved"):
        SpoolingStore(inner, path).replay()
    assert [r.call_id for r in inner.pending()] == ["c1"]
    assert [json.loads(x)["call_id"] for x in path.read_text().splitlines()] == ["c2", "c3"]


def test_torn_last_line_is_skipped_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "spool.jsonl"
    good = json.dumps({"v": 1, **req("c1").as_dict()})
    path.write_text(good + "\n" + '{"v": 1, "call_id": "c2", "num')  # the crash cut this one
    inner = MemoryCallbackStore()
    spool = SpoolingStore(inner, path)
    assert spool.replay() == 1
    assert [r.call_id for r in inner.pending()] == ["c1"]
    assert path.read_text().strip() == '{"v": 1, "call_id": "c2", "num'
    # A new request spooled after the torn line starts on a line of its own.
    spool.inner = FailingStore(CallbackStoreError("down"))
    spool.store(req("c3"))
    assert [r.call_id for r in spool.spooled()] == ["c3"]
    spool.inner = inner
    assert spool.replay() == 1
    assert [r.call_id for r in inner.pending()] == ["c1", "c3"]
    assert "c2" in path.read_text()


def test_spool_unwritable_raises(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    spool = SpoolingStore(FailingStore(CallbackStoreError("db down")), blocker / "spool.jsonl")
    with pytest.raises(CallbackStoreError, match=r"neither stored \(db down\) nor spooled"):
        spool.store(req("c1"))


# ------------------------------------------------------------ end to end with a session


def drive_to_callback(flow: ivrflow.Flow, call_id: str = "call-1") -> tuple[Session, Any]:
    s = Session(flow, call_id=call_id, ani="+5511987650000", dnis="+551140040000", at=NIGHT)
    s.start()
    s.send(ev.Digits(NIGHT + 5, "0"))  # an agent, please → closed → callback offer
    actions = s.send(ev.Digits(NIGHT + 9, "1"))  # yes, call me back
    stores = [a for a in actions if isinstance(a, act.StoreCallback)]
    assert len(stores) == 1, actions
    return s, stores[0]


def test_billing_call_stores_its_callback(db: Path) -> None:
    flow = ivrflow.load(FLOWS / "billing.ivr")
    s, action = drive_to_callback(flow)
    store = SQLiteCallbackStore(db)
    reference = store.store(CallbackRequest.from_action(action, flow.name))
    actions = s.send(ev.CallbackStored(NIGHT + 10, reference))
    assert isinstance(actions[-1], act.Hangup)
    assert s.ended and s.record is not None
    assert s.record["outcome"]["kind"] == "callback_scheduled"
    stored = store.get("call-1")
    assert stored is not None
    assert (stored.number, stored.queue, stored.flow) == ("+5511987650000", "billing", "billing")
    assert stored.window == ("2026-11-25T09:00-03:00", "2026-11-25T19:00-03:00")
    store.close()


def test_billing_call_with_a_failing_store_takes_the_failed_branch(tmp_path: Path) -> None:
    flow = ivrflow.load(FLOWS / "billing.ivr")
    s, action = drive_to_callback(flow)
    spool = SpoolingStore(FailingStore(CallbackStoreError("db down")), tmp_path / "x" / "spool")
    (tmp_path / "x").write_text("")  # even the spool cannot be written
    with pytest.raises(CallbackStoreError) as caught:
        spool.store(CallbackRequest.from_action(action, flow.name))
    s.send(ev.CallbackFailed(NIGHT + 10, str(caught.value)))
    assert s.ended and s.record is not None
    # billing's failed branch apologizes and hangs up `as error`: not a contained call.
    assert s.record["outcome"]["kind"] == "error"
    assert s.record["outcome"]["reason"] == "callback_failed"


def test_spooled_callback_is_scheduled_and_not_lost(tmp_path: Path) -> None:
    flow = ivrflow.load(FLOWS / "billing.ivr")
    s, action = drive_to_callback(flow)
    inner = FailingStore(CallbackStoreError("db down"))
    spool = SpoolingStore(inner, tmp_path / "spool.jsonl")
    reference = spool.store(CallbackRequest.from_action(action, flow.name))
    assert reference == "spooled:call-1"
    s.send(ev.CallbackStored(NIGHT + 10, reference))
    assert s.record is not None and s.record["outcome"]["kind"] == "callback_scheduled"
    inner.error = None
    assert spool.replay() == 1
    assert inner.get("call-1") == CallbackRequest.from_action(action, "billing")


INLINE = """
flow cb "Callback only"
  language en-US
queue sales "Sales"
start:
  -> offer
callback offer:
  say "Press 1 for a call back."
  queue sales
  scheduled:
    say "Done."
    hangup "scheduled"
  noinput: say "Sorry?"
  nomatch: say "Sorry?"
  exhausted -> repeat
"""


def test_inline_flow_without_failed_branch_ends_in_error(tmp_path: Path) -> None:
    result = ivrflow.compile_file(tmp_path / "cb.ivr", text=INLINE)
    assert result.flow is not None, result.diagnostics
    s = Session(result.flow, call_id="c7", ani="+15551230000", dnis=None, at=T0)
    s.start()
    (action,) = [a for a in s.send(ev.Digits(T0 + 2, "1")) if isinstance(a, act.StoreCallback)]
    assert (action.queue, action.number) == ("sales", "+15551230000")
    store = FailingStore(CallbackStoreError("disk full"))
    with pytest.raises(CallbackStoreError):
        store.store(CallbackRequest.from_action(action, "cb"))
    actions = s.send(ev.CallbackFailed(T0 + 3, "disk full"))
    assert isinstance(actions[-1], act.Hangup)
    assert s.record is not None
    assert s.record["outcome"]["kind"] == "error"
    assert "disk full" in s.record["outcome"]["reason"]
