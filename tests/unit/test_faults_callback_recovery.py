"""A crash between storing a callback and writing the call's record (issue 14): recovery
asks the callback store, and a call whose request is stored is `callback_scheduled` — the
caller heard "we'll call you back" and the dispatcher keeps that promise."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivrflow.cli import main
from ivrflow.host.callbacks import CallbackRequest, SQLiteCallbackStore
from ivrflow.host.journal import CallJournal, recover_calls
from ivrflow.host.sinks import MemorySink, read_records

pytestmark = pytest.mark.fault


def journal_with_two_open_calls(path: Path) -> CallJournal:
    journal = CallJournal(path)
    for call_id in ("promised", "cut"):
        journal._append({"op": "start", "call_id": call_id, "flow": "billing", "at": 100.0})
        journal._open[call_id] = {"op": "start", "call_id": call_id, "flow": "billing", "at": 100.0}
    return journal


def test_a_stored_request_makes_the_recovered_call_callback_scheduled(tmp_path: Path) -> None:
    store = SQLiteCallbackStore(tmp_path / "cb.db")
    store.store(
        CallbackRequest("promised", "+5511987654321", "billing", None, None, 101.0, "billing")
    )
    sink = MemorySink()
    journal = journal_with_two_open_calls(tmp_path / "calls.journal")
    assert recover_calls(journal, sink, callbacks=store) == ["promised", "cut"]
    by_id = {r["call_id"]: r["outcome"] for r in sink.records}
    assert by_id["promised"] == {
        "kind": "callback_scheduled", "queue": "billing", "number": "**********4321",
        "reference": "recovered:promised",
    }  # fmt: skip
    assert by_id["cut"]["kind"] == "error" and by_id["cut"]["reason"] == "server_stopped"
    (entry,) = store.entries()
    assert entry.state == "pending"  # the dispatcher still dials it
    store.close()


def test_a_store_that_is_down_leaves_the_call_an_error_not_a_guess(tmp_path: Path) -> None:
    store = SQLiteCallbackStore(tmp_path / "cb.db")
    store.close()  # every read now raises
    sink = MemorySink()
    journal = journal_with_two_open_calls(tmp_path / "calls.journal")
    recover_calls(journal, sink, callbacks=store)
    assert {r["outcome"]["kind"] for r in sink.records} == {"error"}


def test_ivrflow_recover_reads_the_callback_store(tmp_path: Path) -> None:
    store = SQLiteCallbackStore(tmp_path / "cb.db")
    store.store(
        CallbackRequest("promised", "+5511987654321", "billing", None, None, 101.0, "billing")
    )
    store.close()
    journal_with_two_open_calls(tmp_path / "calls.journal").close()
    records = tmp_path / "calls.jsonl"
    assert main(["recover", "--journal", str(tmp_path / "calls.journal"), "--records",
                 str(records), "--callbacks", str(tmp_path / "cb.db")]) == 0  # fmt: skip
    kinds = {r["call_id"]: r["outcome"]["kind"] for r in read_records(records)}
    assert kinds == {"promised": "callback_scheduled", "cut": "error"}
