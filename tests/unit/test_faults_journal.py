"""The call journal: a crash with calls in flight leaves each of them one `error` record after
recovery, never none and never two; the journal stays as small as the calls in flight."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

import ivrflow
from ivrflow.cli import recover as recover_cmd
from ivrflow.host.engine import Engine
from ivrflow.host.journal import RECOVERED_REASON, CallJournal, recover_calls
from ivrflow.host.sinks import JsonLinesSink, read_records
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev

pytestmark = pytest.mark.fault

FLOWS = Path(__file__).resolve().parents[2] / "flows"
T0 = 1795525200.0  # 2026-11-24 10:00 in São Paulo (a Tuesday)


class Channel:
    """A caller who listens to the first prompts and hangs up."""

    def __init__(self) -> None:
        self.at = T0

    def now(self) -> float:
        return self.at

    async def play(self, action: act.Say | act.Play) -> ev.Event | None:
        self.at += 1
        return None

    async def collect(self, action: act.Collect) -> ev.Event:
        return ev.Hangup(self.at)

    async def transfer(self, action: act.TransferToQueue | act.TransferToDestination) -> ev.Event:
        return ev.TransferResult(self.at, "answered")

    async def hangup(self, reason: str) -> None:
        pass


def engine(tmp_path: Path, **kw: Any) -> Engine:
    return Engine(
        records=JsonLinesSink(tmp_path / "calls.jsonl"),
        journal=CallJournal(tmp_path / "journal", **kw),
        mask_ani=True,
    )


def outcomes(path: Path) -> dict[str, str]:
    return {r["call_id"]: r["outcome"].get("reason") or r["outcome"]["kind"]
            for r in read_records(path)}  # fmt: skip


def crash_with_calls_in_flight(tmp_path: Path, finished: int, in_flight: int) -> None:
    """Finish some calls on one Engine, start others and stop there: what kill -9 leaves
    behind (calls journaled as started, no hang-up, no record, no end). The real kill -9 of
    `ivrflow serve` is in tests/e2e/test_crash_recovery.py."""
    e = engine(tmp_path)
    flow = e.load(FLOWS / "billing.ivr")

    async def scenario() -> None:
        for n in range(finished):
            s = e.session(flow, ani="+5511912345678", dnis="+551130030001", at=T0,
                          call_id=f"done-{n}")  # fmt: skip
            await e.run(s, Channel())

    asyncio.run(scenario())
    for n in range(in_flight):
        s = e.session(flow, ani="+5511912345678", dnis="+551130030001", at=T0,
                      call_id=f"cut-{n}")  # fmt: skip
        e.call_started(s)  # what Engine.run does first
        s.start()
    assert e.journal is not None
    e.journal.close()


def test_calls_cut_by_a_crash_get_one_error_record_each_after_recovery(tmp_path: Path) -> None:
    crash_with_calls_in_flight(tmp_path, finished=3, in_flight=4)
    records = tmp_path / "calls.jsonl"
    assert sorted(outcomes(records)) == ["done-0", "done-1", "done-2"]
    journal = CallJournal(tmp_path / "journal")
    assert [c["call_id"] for c in journal.open_calls()] == [f"cut-{n}" for n in range(4)]
    done = recover_calls(journal, JsonLinesSink(records))
    assert done == [f"cut-{n}" for n in range(4)]
    got = outcomes(records)
    assert len(read_records(records)) == 7
    assert {got[f"cut-{n}"] for n in range(4)} == {RECOVERED_REASON}
    assert {got[f"done-{n}"] for n in range(3)} == {"abandoned"}
    cut = next(r for r in read_records(records) if r["call_id"] == "cut-0")
    assert cut["outcome"]["kind"] == "error" and cut["recovered"] is True
    assert cut["flow"] == "billing" and cut["ani"] == "**********5678"  # masked as asked
    assert cut["started_at"] <= cut["ended_at"]
    done_0 = next(r for r in read_records(records) if r["call_id"] == "done-0")
    assert set(cut) == set(done_0) | {"recovered"}  # the shape report and fit tools read
    # A second recovery (a second restart) finds nothing open and writes nothing.
    assert recover_calls(CallJournal(tmp_path / "journal"), JsonLinesSink(records)) == []
    assert len(read_records(records)) == 7


def test_crash_during_recovery_writes_no_duplicate(tmp_path: Path) -> None:
    crash_with_calls_in_flight(tmp_path, finished=0, in_flight=2)
    records = tmp_path / "calls.jsonl"
    saved = (tmp_path / "journal").read_bytes()
    recover_calls(CallJournal(tmp_path / "journal"), JsonLinesSink(records))
    (tmp_path / "journal").write_bytes(saved)  # died after the records, before the journal
    recover_calls(CallJournal(tmp_path / "journal"), JsonLinesSink(records))
    assert sorted(r["call_id"] for r in read_records(records)) == ["cut-0", "cut-1"]


def test_a_record_that_cannot_be_written_leaves_the_call_open_for_recovery(
    tmp_path: Path,
) -> None:
    class BrokenSink:
        def write(self, record: dict[str, Any]) -> None:
            raise OSError(5, "Input/output error")

    e = Engine(records=BrokenSink(), journal=CallJournal(tmp_path / "journal"))
    flow = e.load(FLOWS / "billing.ivr")
    s = e.session(flow, ani=None, dnis=None, at=T0, call_id="lost-sink")
    with pytest.raises(OSError):
        asyncio.run(e.run(s, Channel()))
    journal = CallJournal(tmp_path / "journal")
    assert [c["call_id"] for c in journal.open_calls()] == ["lost-sink"]
    recover_calls(journal, JsonLinesSink(tmp_path / "calls.jsonl"))
    assert outcomes(tmp_path / "calls.jsonl") == {"lost-sink": RECOVERED_REASON}


def test_torn_journal_line_is_ignored_and_not_glued_to_the_next(tmp_path: Path) -> None:
    path = tmp_path / "journal"
    path.write_text('{"op":"start","call_id":"a","at":1}\n{"op":"start","call_id":"b","a')
    journal = CallJournal(path)
    assert [c["call_id"] for c in journal.open_calls()] == ["a"]
    journal.ended("a")
    journal.close()
    assert CallJournal(path).open_calls() == []
    assert json.loads(path.read_text().splitlines()[-1]) == {"op": "end", "call_id": "a"}


def test_journal_is_compacted_to_the_calls_in_flight(tmp_path: Path) -> None:
    e = engine(tmp_path, compact_after=50)
    flow = ivrflow.load(FLOWS / "billing.ivr")

    async def many() -> None:
        for n in range(200):
            s = e.session(flow, ani=None, dnis=None, at=T0, call_id=f"c{n}")
            await e.run(s, Channel())

    asyncio.run(many())
    lines = (tmp_path / "journal").read_text().splitlines()
    assert len(lines) < 50  # 400 starts and ends, compacted as they went
    assert CallJournal(tmp_path / "journal").open_calls() == []
    assert len(read_records(tmp_path / "calls.jsonl")) == 200


def test_recover_command_is_idempotent(tmp_path: Path) -> None:
    crash_with_calls_in_flight(tmp_path, finished=1, in_flight=2)
    records = tmp_path / "calls.jsonl"
    with records.open("ab") as f:
        f.write(b'{"call_id":"torn","outc')  # and the crash tore the records file too
    args = argparse.Namespace(journal=str(tmp_path / "journal"), records=str(records))
    out = io.StringIO()
    assert recover_cmd.run(argparse.Namespace(**vars(args), dry_run=True), out) == 0
    assert "2 unfinished calls (dry run" in out.getvalue()
    assert len(read_records_lenient(records)) == 1  # the dry run wrote nothing
    out = io.StringIO()
    assert recover_cmd.run(argparse.Namespace(**vars(args), dry_run=False), out) == 0
    assert "cut a torn last line" in out.getvalue()
    assert "2 unfinished calls recovered" in out.getvalue()
    out = io.StringIO()
    assert recover_cmd.run(argparse.Namespace(**vars(args), dry_run=False), out) == 0
    assert "0 unfinished calls recovered" in out.getvalue()
    assert sorted(outcomes(records)) == ["cut-0", "cut-1", "done-0"]


def read_records_lenient(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text().splitlines():
        with contextlib.suppress(ValueError):
            out.append(json.loads(line))
    return out


def test_webhook_worker_killed_mid_call_gets_its_record_on_restart(tmp_path: Path) -> None:
    pytest.importorskip("aiohttp")
    from aiohttp.test_utils import TestClient, TestServer

    from ivrflow.host.fixtures import for_flow, install
    from ivrflow.host.gateways.webhook import WebhookConfig, WebhookGateway

    e = engine(tmp_path)
    config = WebhookConfig(
        flows_dir=FLOWS, clock=lambda: T0, on_flow=lambda en, fl: install(en, fl, for_flow(fl))
    )

    async def calls() -> None:
        async with TestClient(TestServer(WebhookGateway(e, config).app())) as client:
            for sid in ("CA-done", "CA-cut"):
                resp = await client.post("/voice/billing", data={
                    "CallSid": sid, "CallStatus": "ringing", "From": "+5511912345678",
                    "To": "+551130030001"})  # fmt: skip
                assert resp.status == 200
            resp = await client.post("/voice/billing",
                                     data={"CallSid": "CA-done", "CallStatus": "completed"})  # fmt: skip
            assert resp.status == 200

    asyncio.run(calls())  # then the worker dies: its memory store, and CA-cut, are gone
    assert e.journal is not None
    e.journal.close()
    records = tmp_path / "calls.jsonl"
    assert outcomes(records) == {"CA-done": "abandoned"}
    assert recover_calls(CallJournal(tmp_path / "journal"), JsonLinesSink(records)) == ["CA-cut"]
    assert outcomes(records) == {"CA-done": "abandoned", "CA-cut": RECOVERED_REASON}


def test_webhook_refuses_a_journal_with_redis(tmp_path: Path, capsys: Any) -> None:
    pytest.importorskip("aiohttp")
    from ivrflow.cli import main

    code = main(["serve", "webhook", "--redis", "redis://127.0.0.1:1/0", "--records",
                 str(tmp_path / "r.jsonl"), "--journal", str(tmp_path / "j"), str(FLOWS)])  # fmt: skip
    assert code == 2
    assert "--journal is for one worker" in capsys.readouterr().err
