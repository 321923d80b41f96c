"""Fault injection on the callback store, through whole calls: the database locked, read-only or
out of space. The caller is told the callback is scheduled, the request waits in the spool,
and when the store recovers it lands there exactly once, even if a crash interrupts the
replay."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ivrflow.host.callbacks import SpoolingStore, SQLiteCallbackStore
from ivrflow.host.engine import Engine
from ivrflow.host.gateways import hosting
from ivrflow.host.sinks import MemorySink, read_records
from ivrflow.tools.scripted_caller import ScriptedChannel

pytestmark = pytest.mark.fault

FLOWS = Path(__file__).resolve().parents[2] / "flows"
NIGHT = 1795525200.0 + 13 * 3600  # 23:00 in São Paulo: billing is closed, offers a callback


def callback_call(engine: Engine, call_id: str) -> dict[str, Any]:
    """A billing caller at night: an agent please (0), yes call me back (1)."""
    flow = engine.load(FLOWS / "billing.ivr")
    s = engine.session(flow, ani="+5511987650000", dnis="+551140040000", at=NIGHT,
                       call_id=call_id)  # fmt: skip
    return asyncio.run(asyncio.wait_for(engine.run(s, ScriptedChannel(["0", "1"], NIGHT)), 30))


@contextmanager
def locked(db: Path) -> Iterator[None]:
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def read_only(inner: SQLiteCallbackStore, on: bool) -> None:
    assert inner._conn is not None  # root ignores file modes: make the connection read-only
    inner._conn.execute(f"PRAGMA query_only = {'ON' if on else 'OFF'}")


def disk_full(inner: SQLiteCallbackStore, on: bool) -> None:
    """The database may not grow, and its free room is filled: the next insert fails FULL."""
    conn = inner._conn
    assert conn is not None
    if not on:
        conn.execute("PRAGMA max_page_count = 1000000")
        conn.execute("DELETE FROM callbacks WHERE call_id LIKE 'filler-%'")
        return
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        for n in range(100_000):
            conn.execute(
                "INSERT INTO callbacks (call_id, number, queue, requested_at, flow, stored_at) "
                "VALUES (?, '', '', 0, '', 0)",
                (f"filler-{n}",),
            )


def rows(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT call_id, number FROM callbacks ORDER BY id").fetchall()


def run_through_outage(
    tmp_path: Path, fault: Callable[[SQLiteCallbackStore, bool], None] | None
) -> tuple[Path, SpoolingStore, list[dict[str, Any]]]:
    db = tmp_path / "callbacks.db"
    inner = SQLiteCallbackStore(db, timeout=0.05)
    store = SpoolingStore(inner, tmp_path / "callbacks.db.spool")
    engine = Engine(records=MemorySink(), callbacks=store)
    if fault is None:
        with locked(db):
            records = [callback_call(engine, f"cb-{n}") for n in range(3)]
    else:
        fault(inner, True)
        records = [callback_call(engine, f"cb-{n}") for n in range(3)]
        fault(inner, False)
    return db, store, records


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(None, id="locked"),
        pytest.param(read_only, id="read-only"),
        pytest.param(disk_full, id="out-of-space"),
    ],
)
def test_callback_store_down_spools_requests_and_replays_them_exactly_once(
    tmp_path: Path, fault: Callable[[SQLiteCallbackStore, bool], None] | None
) -> None:
    db, store, records = run_through_outage(tmp_path, fault)
    # The callers were promised a callback: the records say so, with the spool reference.
    assert [r["outcome"]["kind"] for r in records] == ["callback_scheduled"] * 3
    assert [r["outcome"]["reference"] for r in records] == [f"spooled:cb-{n}" for n in range(3)]
    assert rows(db) == []
    assert [r.call_id for r in store.spooled()] == ["cb-0", "cb-1", "cb-2"]
    assert store.replay() == 3  # the store is back
    assert store.replay() == 0
    assert rows(db) == [(f"cb-{n}", "+5511987650000") for n in range(3)]
    assert not (tmp_path / "callbacks.db.spool").exists()


def test_crash_between_store_and_spool_truncation_stores_each_request_once(
    tmp_path: Path,
) -> None:
    db, store, _ = run_through_outage(tmp_path, None)
    spool = tmp_path / "callbacks.db.spool"
    saved = spool.read_bytes()
    assert store.replay() == 3
    spool.write_bytes(saved)  # the process died after the inserts, before the spool rewrite
    restarted = SpoolingStore(SQLiteCallbackStore(db), spool)
    assert restarted.replay() == 3  # replayed again: the call ids make it harmless
    assert [call_id for call_id, _ in rows(db)] == ["cb-0", "cb-1", "cb-2"]


def serve_options(tmp_path: Path, **kw: Any) -> hosting.ServeOptions:
    values: dict[str, Any] = dict(
        flows_dir=str(FLOWS), listen="127.0.0.1:0", records=str(tmp_path / "calls.jsonl"),
        callbacks=str(tmp_path / "callbacks.db"), mask_ani=False, journal=None,
    )  # fmt: skip
    values.update(kw)
    return hosting.ServeOptions(**values)


def test_serve_wires_the_spools_and_moves_them_home_when_the_store_is_back(
    tmp_path: Path,
) -> None:
    found = hosting.setup(serve_options(tmp_path), "agi", MemorySink())
    assert found is not None
    store = found.engine.callbacks
    assert isinstance(store, SpoolingStore)
    with locked(tmp_path / "callbacks.db"):
        inner = store.inner
        assert isinstance(inner, SQLiteCallbackStore) and inner._conn is not None
        inner._conn.execute("PRAGMA busy_timeout = 50")  # fail fast, not after 5 s
        record = callback_call(found.engine, "cb-serve")
        assert found.replay() == 0  # still locked: kept, and said so in the log
    assert record["outcome"]["reference"] == "spooled:cb-serve"
    assert found.replay() == 1  # what `keep_replaying` does every REPLAY_EVERY seconds
    assert rows(tmp_path / "callbacks.db") == [("cb-serve", "+5511987650000")]
    assert [r["call_id"] for r in read_records(tmp_path / "calls.jsonl")] == ["cb-serve"]
    found.close()


def test_spool_that_cannot_be_written_either_makes_the_flow_take_its_failed_branch(
    tmp_path: Path,
) -> None:
    db = tmp_path / "callbacks.db"
    (tmp_path / "blocked").write_text("")  # the spool's folder is a file: nowhere to spool
    store = SpoolingStore(SQLiteCallbackStore(db, timeout=0.05), tmp_path / "blocked" / "spool")
    engine = Engine(records=MemorySink(), callbacks=store)
    with locked(db):
        record = callback_call(engine, "cb-lost")
    # Not promised: billing's failed branch apologizes, and the record says error.
    assert record["outcome"] == {
        "kind": "error", "reason": "callback_failed", "state": "offer_callback"
    }  # fmt: skip
    assert rows(db) == []
