"""The Engine: look-ups (sync, async, slow, failing), hot reload, one record per call."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ivrflow.host.engine import Engine
from ivrflow.host.sinks import MemorySink
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.tools.scripted_caller import ScriptedChannel

T0 = 1795525200.0  # 2026-11-24 10:00 in São Paulo

FLOW = """
flow lookups "Look-up test"
  language en-US
function fetch(contract) timeout 1s
start:
  set contract = "42"
  -> find
lookup find fetch(contract) as acct:
  say "One moment."
  ok:
    say "Balance {{ acct.balance }}."
    hangup "done"
  error:
    say "Sorry: {{ error }}"
    hangup "lookup failed"
"""


def run(
    engine: Engine, flow_path: Path, inputs: list[str]
) -> tuple[dict[str, Any], ScriptedChannel]:
    flow = engine.load(flow_path)
    channel = ScriptedChannel.from_lines(inputs, at=T0)
    session = engine.session(flow, ani="+5511912345678", dnis="+551130030001", at=T0)
    return asyncio.run(engine.run(session, channel)), channel


@pytest.fixture
def flow_path(tmp_path: Path) -> Path:
    p = tmp_path / "lookups.ivr"
    p.write_text(FLOW)
    return p


def test_sync_lookup_result_reaches_the_prompt(flow_path: Path) -> None:
    engine = Engine()
    engine.register("fetch")(lambda contract: {"balance": int(contract) * 2})
    record, channel = run(engine, flow_path, [])
    assert "ivr: Balance 84." in channel.transcript
    assert record["outcome"] == {"kind": "self_served", "reason": "done"}
    assert record["lookups"][0]["function"] == "fetch"
    assert record["lookups"][0]["status"] == "ok"


def test_async_lookup(flow_path: Path) -> None:
    engine = Engine()

    @engine.register("fetch")
    async def fetch(contract: str) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"balance": 7}

    _, channel = run(engine, flow_path, [])
    assert "ivr: Balance 7." in channel.transcript


@pytest.mark.parametrize(
    ("fn", "status", "said"),
    [
        (lambda contract: 1 / 0, "error", "ZeroDivisionError"),
        (lambda contract: time.sleep(3), "timeout", "timed out"),
    ],
)
def test_failing_and_slow_lookups_take_the_error_branch(
    flow_path: Path, fn: Any, status: str, said: str
) -> None:
    engine = Engine()
    engine.register("fetch")(fn)
    record, channel = run(engine, flow_path, [])
    assert record["lookups"][0]["status"] == status
    assert any(said in line for line in channel.transcript)
    assert record["outcome"]["reason"] == "lookup failed"


def test_unregistered_function_is_a_failure_not_a_crash(flow_path: Path) -> None:
    record, _ = run(Engine(), flow_path, [])
    assert record["outcome"]["reason"] == "lookup failed"


def test_one_record_per_call_even_when_the_channel_breaks(flow_path: Path) -> None:
    class Broken(ScriptedChannel):
        async def play(self, action: act.Say | act.Play) -> ev.Event | None:
            raise ConnectionResetError("gateway went away")

    sink = MemorySink()
    engine = Engine(records=sink)
    engine.register("fetch")(lambda contract: {"balance": 1})
    session = engine.session(engine.load(flow_path), ani=None, dnis=None, at=T0)
    with pytest.raises(ConnectionResetError):
        asyncio.run(engine.run(session, Broken([], T0)))
    assert len(sink.records) == 1
    assert sink.records[0]["outcome"]["kind"] == "abandoned"


def test_hot_reload_keeps_calls_on_their_version(flow_path: Path) -> None:
    engine = Engine()
    first = engine.load(flow_path)
    assert engine.load(flow_path) is first  # cached while unchanged
    old = engine.session(first, ani=None, dnis=None, at=T0)
    old.start()
    flow_path.write_text(FLOW.replace("One moment.", "Just a second."))
    second = engine.load(flow_path)
    assert second is not first and second.content_hash != first.content_hash
    assert old.flow is first  # the call in flight finishes on the version it started with
    assert engine.flow_by_hash(first.content_hash) is first
    restored = engine.restore(old.to_dict())
    assert restored.flow is first


def test_emergency_switch_reaches_sessions(tmp_path: Path) -> None:
    p = tmp_path / "hours.ivr"
    p.write_text(
        'flow h\n  timezone "America/Sao_Paulo"\nhours office:\n  mon-sun 00:00-24:00\n'
        'start:\n  if open(office): hangup "open"\n  hangup "closed"\n'
    )
    engine = Engine()
    record, _ = run(engine, p, [])
    assert record["outcome"]["reason"] == "open"
    engine.set_emergency("office")
    record, _ = run(engine, p, [])
    assert record["outcome"]["reason"] == "closed"
    engine.set_emergency("office", on=False)
    record, _ = run(engine, p, [])
    assert record["outcome"]["reason"] == "open"


def test_billing_menu_to_agent_with_queue_status() -> None:
    flows = Path(__file__).resolve().parents[2] / "flows"
    engine = Engine(queue_status=lambda queue: (60.0, 2))
    record, channel = run(engine, flows / "billing.ivr", ["0"])
    assert record["outcome"]["kind"] == "transferred"
    assert record["outcome"]["queue"] in ("billing", "billing_intl")
    assert any("[transfers to" in line for line in channel.transcript)


def test_a_garbled_gateway_ends_the_call_as_an_error(flow_path: Path) -> None:
    class Garbled(ScriptedChannel):
        async def play(self, action: act.Say | act.Play) -> ev.Event | None:
            raise ValueError("unexpected reply '999 what'")

    sink = MemorySink()
    engine = Engine(records=sink)
    session = engine.session(engine.load(flow_path), ani=None, dnis=None, at=T0)
    with pytest.raises(ValueError):
        asyncio.run(engine.run(session, Garbled([], T0)))
    (record,) = sink.records
    assert record["outcome"]["kind"] == "error"
    assert "unexpected reply" in record["outcome"]["reason"]


def test_barging_into_a_prompt_with_the_first_keys_of_an_entry(tmp_path: Path) -> None:
    """The caller keys the start of an account number over the prompt: the rest is collected."""
    p = tmp_path / "entry.ivr"
    p.write_text(
        "flow entry\n  language en-US\nstart:\n  -> account\ncapture account:\n"
        '  say "Enter your account number, then hash."\n  digits 4\n  end "#"\n'
        '  ok: hangup "got {{ account }}"\n  noinput: say "?"\n  nomatch: say "?"\n'
        '  exhausted: hangup "none"\n'
    )

    class Barging(ScriptedChannel):
        async def play(self, action: act.Say | act.Play) -> ev.Event | None:
            await super().play(action)
            return ev.Digits(self.at, "12")  # two keys over the prompt

    sink = MemorySink()
    engine = Engine(records=sink)
    session = engine.session(engine.load(p), ani=None, dnis=None, at=T0)
    channel = Barging(["34"], T0)
    record = asyncio.run(engine.run(session, channel))
    assert record["outcome"]["kind"] == "self_served"
    assert session.vars["account"] == "1234"  # "12" over the prompt, "34" when asked for the rest


def test_call_ids_the_engine_makes_up_differ_across_engines(flow_path: Path) -> None:
    # A gateway with no call id of its own (no agi_uniqueid): after a restart the new engine
    # must not hand out the ids of calls already recorded, or crash recovery skips a cut call.
    first, second = Engine(), Engine()
    flow = first.load(flow_path)
    ids = [first.session(flow, ani=None, dnis=None, at=0.0).call_id for _ in range(3)]
    ids += [second.session(flow, ani=None, dnis=None, at=0.0).call_id for _ in range(3)]
    assert len(set(ids)) == 6


def test_records_and_journal_that_touch_the_disk_are_written_off_the_event_loop(
    flow_path: Path, tmp_path: Path
) -> None:
    # An fsync per record and two per journaled call, done on the loop, would hold every other
    # call's next prompt behind this call's disk. They run on one writer thread, in order.
    from ivrflow.host.journal import CallJournal

    seen: list[tuple[str, bool]] = []

    class DiskSink:  # no `blocking` attribute: a custom sink is assumed to block
        def write(self, record: dict[str, Any]) -> None:
            seen.append(("record", threading.current_thread() is threading.main_thread()))

    class Journal(CallJournal):
        def started(self, session: Any) -> None:
            seen.append(("started", threading.current_thread() is threading.main_thread()))
            super().started(session)

        def ended(self, call_id: str) -> None:
            seen.append(("ended", threading.current_thread() is threading.main_thread()))
            super().ended(call_id)

    engine = Engine(records=DiskSink(), journal=Journal(tmp_path / "journal"))
    record, _ = run(engine, flow_path, ["hangup"])
    assert record["outcome"]["kind"] in ("abandoned", "error", "self_served")
    assert seen == [("started", False), ("record", False), ("ended", False)]
    assert Journal(tmp_path / "journal").open_calls() == []

    class LoopSink(MemorySink):  # blocking = False: written at once, on the loop's thread
        def write(self, record: dict[str, Any]) -> None:
            seen.append(("memory", threading.current_thread() is threading.main_thread()))
            super().write(record)

    seen.clear()
    run(Engine(records=LoopSink()), flow_path, ["hangup"])
    assert seen == [("memory", True)]
