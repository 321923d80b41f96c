"""Fault injection on the webhook gateway's session store (Redis going away, in miniature: a
store that raises while `down`), and requests for calls the gateway does not know. The caller
always gets TwiML that ends the call politely, never a bare 500; every call keeps exactly one
record. The same faults against a real redis-server: tests/e2e/test_redis_faults.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import twiml_action, twiml_apology

pytest.importorskip("aiohttp")
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from ivrflow.host.engine import Engine  # noqa: E402
from ivrflow.host.fixtures import for_flow, install  # noqa: E402
from ivrflow.host.gateways.session_store import MemorySessionStore  # noqa: E402
from ivrflow.host.gateways.webhook import STORE_DOWN_REASON, WebhookConfig, WebhookGateway
from ivrflow.host.sinks import MemorySink  # noqa: E402

pytestmark = pytest.mark.fault

FLOWS = Path(__file__).resolve().parents[2] / "flows"
T0 = dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC).timestamp()  # billing is open
CALLER = {"From": "+5511912345678", "To": "+551130030001"}


class FlakyStore(MemorySessionStore):
    """The memory store, failing like a Redis that went away while `down` (or only on put)."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.puts_fail = False

    async def get(self, call_id: str) -> tuple[dict[str, Any], int] | None:
        if self.down:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        return await super().get(call_id)

    async def put(self, call_id: str, data: dict[str, Any], expected_version: int | None) -> bool:
        if self.down or self.puts_fail:
            raise ConnectionError("Connection reset by peer")
        return await super().put(call_id, data, expected_version)


def on_flow(engine: Engine, flow: Any) -> None:
    install(engine, flow, for_flow(flow))


class Worker:
    """One gateway process: its own Engine and records, the shared store."""

    def __init__(self, store: FlakyStore) -> None:
        self.engine = Engine(records=MemorySink())
        config = WebhookConfig(flows_dir=FLOWS, store=store, clock=lambda: T0, on_flow=on_flow)
        self.gateway = WebhookGateway(self.engine, config)
        self.client: TestClient | None = None

    @property
    def records(self) -> list[dict[str, Any]]:
        sink = self.engine.records
        assert isinstance(sink, MemorySink)
        return sink.records

    async def post(self, url: str, **fields: str) -> ET.Element:
        assert self.client is not None
        resp = await self.client.post(url, data={"CallSid": "CA1", **fields})
        text = await resp.text()
        assert resp.status == 200, text  # never a 500: Twilio would play its own error
        assert resp.content_type == "text/xml"
        return ET.fromstring(text)


def run(
    test: Callable[[Worker, Worker, FlakyStore], Awaitable[None]],
) -> tuple[Worker, Worker]:
    store = FlakyStore()
    a, b = Worker(store), Worker(store)

    async def main() -> None:
        async with (
            TestClient(TestServer(a.gateway.app())) as ca,
            TestClient(TestServer(b.gateway.app())) as cb,
        ):
            a.client, b.client = ca, cb
            await test(a, b, store)

    asyncio.run(asyncio.wait_for(main(), 30))
    return a, b


def test_store_gone_mid_call_apology_and_error_record_at_once_from_the_last_snapshot() -> None:
    async def test(a: Worker, b: Worker, store: FlakyStore) -> None:
        root = await a.post("/voice/billing", CallStatus="ringing", **CALLER)
        root = await a.post(twiml_action(root), Digits="2", CallStatus="in-progress")
        store.down = True
        root = await a.post(twiml_action(root), Digits="79927398713", CallStatus="in-progress")
        assert twiml_apology(root)
        assert [r["outcome"]["kind"] for r in a.records] == ["error"]  # written at once
        # The status callback while the store is still down: no second record.
        await a.post("/voice/billing", CallStatus="completed")
        store.down = False
        assert await a.gateway.settle()
        await a.post("/voice/billing", CallStatus="completed")  # after: the tombstone
        await b.post("/voice/billing", CallStatus="completed")

    a, b = run(test)
    (record,) = a.records
    assert b.records == []
    assert record["outcome"]["reason"].startswith(STORE_DOWN_REASON)
    assert record["outcome"]["state"] == "account"  # where the call was
    assert [p["state"] for p in record["path"]][:2] == ["start", "main_menu"]


def test_store_gone_on_a_worker_without_the_call_records_it_once_the_store_is_back() -> None:
    async def test(a: Worker, b: Worker, store: FlakyStore) -> None:
        root = await a.post("/voice/billing", CallStatus="ringing", **CALLER)
        store.down = True
        root = await b.post(twiml_action(root), Digits="2", CallStatus="in-progress")
        assert twiml_apology(root)
        assert b.records == [] and not await b.gateway.settle()  # still down: kept for later
        store.down = False
        assert await b.gateway.settle()
        await a.post("/voice/billing", CallStatus="completed")  # A finds the tombstone

    a, b = run(test)
    assert a.records == []
    (record,) = b.records
    assert record["outcome"]["kind"] == "error"
    assert record["outcome"]["reason"].startswith(STORE_DOWN_REASON)
    assert record["path"][0]["state"] == "start"  # from the snapshot the store kept


def test_store_gone_before_the_first_request_still_leaves_one_record() -> None:
    async def test(a: Worker, b: Worker, store: FlakyStore) -> None:
        store.down = True
        root = await a.post("/voice/billing", CallStatus="ringing", **CALLER)
        assert twiml_apology(root)
        store.down = False
        assert await a.gateway.settle()
        root = await a.post("/voice/billing", CallStatus="completed")
        assert list(root) == []

    a, _ = run(test)
    (record,) = a.records
    assert record["call_id"] == "CA1" and record["flow"] == "billing"
    assert record["outcome"]["reason"] == STORE_DOWN_REASON


def test_store_failing_on_write_records_the_step_this_request_made() -> None:
    async def test(a: Worker, b: Worker, store: FlakyStore) -> None:
        root = await a.post("/voice/billing", CallStatus="ringing", **CALLER)
        root = await a.post(twiml_action(root), Digits="2", CallStatus="in-progress")
        root = await a.post(twiml_action(root), Digits="79927398713", CallStatus="in-progress")
        store.puts_fail = True  # reads work, writes do not: the look-up runs, then the put fails
        root = await a.post(twiml_action(root), Digits="1", CallStatus="in-progress")
        assert twiml_apology(root)
        store.puts_fail = False
        assert await a.gateway.settle()

    a, _ = run(test)
    (record,) = a.records
    assert record["outcome"]["kind"] == "error"
    assert [lk["function"] for lk in record["lookups"]] == ["fetch_account"]


def test_webhook_for_an_unknown_or_expired_call_is_a_polite_goodbye_without_a_record() -> None:
    async def test(a: Worker, b: Worker, store: FlakyStore) -> None:
        root = await a.post("/voice/billing?s=4&t=1", Digits="1", CallStatus="in-progress")
        says = " ".join(el.text or "" for el in root.iter("Say"))
        assert "não está mais ativa" in says and root.find("Hangup") is not None
        root = await a.post("/voice/billing", CallStatus="completed")
        assert list(root) == []

    a, _ = run(test)
    assert a.records == []
