"""Fault injection on look-up functions: raising, timing out (even hanging for good), returning
malformed data. The caller hears the flow's error branch or an apology; every call keeps
exactly one record that says what happened."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ivrflow.host.callbacks import MemoryCallbackStore
from ivrflow.host.engine import LOOKUP_THREADS, Engine
from ivrflow.host.sinks import MemorySink
from ivrflow.tools.scripted_caller import ScriptedChannel

pytestmark = pytest.mark.fault

FLOWS = Path(__file__).resolve().parents[2] / "flows"
ACCOUNT = """\
flow acct "Account look-up"
  language en-US

function fetch_account(contract) timeout 200ms

start:
  -> find

lookup find fetch_account("79927398713") as acct:
  ok -> balance
  error -> sorry

step balance:
  say "Your balance is {{ acct.balance }}, due {{ acct.due }}."
  hangup "told balance"

step sorry:
  say "Sorry, we cannot reach your account now."
  hangup "lookup failed"
"""
NIGHT = 1795525200.0 + 13 * 3600  # 23:00 in São Paulo: billing offers a callback


@pytest.fixture
def flow_path(tmp_path: Path) -> Path:
    path = tmp_path / "acct.ivr"
    path.write_text(ACCOUNT)
    return path


def call(flow_path: Path, fn: Any, engine: Engine | None = None) -> tuple[dict[str, Any], Any]:
    e = engine or Engine(records=MemorySink())
    e.functions["fetch_account"] = fn
    session = e.session(e.load(flow_path), ani=None, dnis=None, at=0.0, call_id="c1")
    channel = ScriptedChannel([], 0.0)
    record = asyncio.run(asyncio.wait_for(e.run(session, channel), 30))
    assert isinstance(e.records, MemorySink) and e.records.records == [record]  # exactly one
    return record, channel


def test_lookup_raising_takes_the_error_branch(flow_path: Path) -> None:
    def fn(contract: str) -> Any:
        raise ConnectionResetError("CRM reset the connection")

    record, channel = call(flow_path, fn)
    assert record["outcome"] == {"kind": "self_served", "reason": "lookup failed"}
    assert record["lookups"][0]["status"] == "error"
    assert "ConnectionResetError: CRM reset the connection" in record["lookups"][0]["reason"]
    assert any("cannot reach your account" in line for line in channel.transcript)


def test_async_lookup_timing_out_takes_the_error_branch(flow_path: Path) -> None:
    async def fn(contract: str) -> Any:
        await asyncio.sleep(60)

    record, _ = call(flow_path, fn)
    assert record["outcome"]["reason"] == "lookup failed"
    assert record["lookups"][0]["status"] == "timeout"


def test_sync_lookup_hanging_for_good_times_out_and_does_not_starve_callbacks() -> None:
    # More hung look-ups than look-up threads, while another caller accepts a callback: the
    # callback store runs on other threads, so it is stored; each hung call times out.
    release = threading.Event()

    def hung(contract: str) -> Any:
        release.wait(60)
        return {"balance": 1, "due": "never"}

    store = MemoryCallbackStore()
    e = Engine(records=MemorySink(), callbacks=store)
    billing = e.load(FLOWS / "billing.ivr")
    e.functions["fetch_account"] = hung
    e.queue_status = lambda queue: (600.0, 9)

    async def scenario() -> list[dict[str, Any]]:
        hung_calls = []
        for n in range(LOOKUP_THREADS + 8):
            s = e.session(billing, ani="+5511912345678", dnis="+551130030001",
                          at=1795525200.0, call_id=f"hung-{n}")  # fmt: skip
            # contract, confirm: then the look-up hangs
            hung_calls.append(asyncio.ensure_future(
                e.run(s, ScriptedChannel(["2", "79927398713#", "1"], 1795525200.0))))  # fmt: skip
        await asyncio.sleep(0.1)  # every look-up thread is taken
        cb = e.session(billing, ani="+5511987650000", dnis="+551140040000", at=NIGHT,
                       call_id="callback")  # fmt: skip
        # Stored while the look-ups still hang (they are released only after this).
        first = await asyncio.wait_for(e.run(cb, ScriptedChannel(["0", "1"], NIGHT)), 15)
        rest = await asyncio.gather(*hung_calls)  # each times out: no thread needed for that
        release.set()
        return [first, *rest]

    try:
        records = asyncio.run(asyncio.wait_for(scenario(), 30))
    finally:
        release.set()
    assert records[0]["outcome"]["kind"] == "callback_scheduled"
    assert store.get("callback") is not None
    for record in records[1:]:
        assert record["lookups"][0]["status"] == "timeout", record["lookups"]
    assert isinstance(e.records, MemorySink) and len(e.records.records) == len(records)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("garbage", id="a-string"),
        pytest.param(None, id="none"),
        pytest.param([1, 2], id="a-list"),
        pytest.param({"balance": 1}, id="a-field-missing"),
    ],
)
def test_malformed_lookup_data_ends_the_call_as_an_error_with_an_apology(
    flow_path: Path, value: Any
) -> None:
    record, channel = call(flow_path, lambda contract: value)
    assert record["outcome"]["kind"] == "error"
    assert "prompt template failed" in record["outcome"]["reason"]
    assert record["outcome"]["state"] == "balance"
    assert channel.hung_up == "error"
    assert any("something went wrong" in line for line in channel.transcript)


def test_lookup_answering_after_its_timeout_is_ignored(flow_path: Path) -> None:
    def slow(contract: str) -> Any:
        time.sleep(0.5)  # past the 200ms timeout: the answer comes too late
        return {"balance": 1, "due": "today"}

    record, _ = call(flow_path, slow)
    assert record["outcome"]["reason"] == "lookup failed"
    assert [lk["status"] for lk in record["lookups"]] == ["timeout"]
