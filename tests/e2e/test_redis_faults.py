"""Redis going away mid-call, for real: a redis-server stopped, paused and brought back under
webhook workers. The caller hears an apology and `<Hangup/>`; each call gets exactly one
`error` record (at once when the worker holds the call's state, else once Redis is back), and
a tombstone in Redis so no worker goes on with it.

Needs `redis-server` (Debian package `redis-server`), else skipped with that reason. Redis runs
on a free port on 127.0.0.1 with an fsync-always append-only file in a temp dir, so what it held
survives the restart, as a production Redis with persistence would.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import signal
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import twiml_action, twiml_apology

pytest.importorskip("aiohttp")
redis = pytest.importorskip("redis")

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from ivrflow.host.engine import Engine  # noqa: E402
from ivrflow.host.fixtures import for_flow, install  # noqa: E402
from ivrflow.host.gateways.session_store import RedisSessionStore  # noqa: E402
from ivrflow.host.gateways.webhook import STORE_DOWN_REASON, WebhookConfig, WebhookGateway  # noqa: E402
from ivrflow.host.sinks import MemorySink  # noqa: E402

REDIS_SERVER = shutil.which("redis-server")
FLOWS = Path(__file__).resolve().parents[2] / "flows"
T0 = dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC).timestamp()  # billing is open
CALLER = {"From": "+5511912345678", "To": "+551130030001"}

pytestmark = [
    pytest.mark.fault,
    pytest.mark.skipif(
        REDIS_SERVER is None,
        reason="REDIS-SERVER NOT INSTALLED: apt-get install -y redis-server to run the Redis "
        "fault tests",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.workdir)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except (redis.exceptions.ConnectionError, redis.exceptions.BusyLoadingError):
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def pause(self, on: bool) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP if on else signal.SIGCONT)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    s = RedisServer(tmp_path)
    s.start()
    yield s
    s.stop()


def on_flow(engine: Engine, flow: Any) -> None:
    install(engine, flow, for_flow(flow))


class Worker:
    def __init__(self, url: str, prefix: str, timeout: float = 0.5) -> None:
        self.engine = Engine(records=MemorySink())
        self.store = RedisSessionStore(url, ttl=600, prefix=prefix, timeout=timeout)
        config = WebhookConfig(flows_dir=FLOWS, store=self.store, clock=lambda: T0, on_flow=on_flow)
        self.gateway = WebhookGateway(self.engine, config)
        self.client: TestClient | None = None

    @property
    def records(self) -> list[dict[str, Any]]:
        sink = self.engine.records
        assert isinstance(sink, MemorySink)
        return sink.records

    async def post(self, url: str, sid: str, **fields: str) -> ET.Element:
        assert self.client is not None
        resp = await self.client.post(url, data={"CallSid": sid, **fields})
        text = await resp.text()
        assert resp.status == 200, text  # TwiML, never a bare 500
        return ET.fromstring(text)


def two_workers(server: RedisServer, test: Any, timeout: float = 0.5) -> tuple[Worker, Worker]:
    prefix = f"fault:{time.monotonic_ns()}:"
    a, b = Worker(server.url, prefix, timeout), Worker(server.url, prefix, timeout)

    async def main() -> None:
        async with (
            TestClient(TestServer(a.gateway.app())) as ca,
            TestClient(TestServer(b.gateway.app())) as cb,
        ):
            a.client, b.client = ca, cb
            await test(a, b)

    async def run() -> None:
        try:
            await asyncio.wait_for(main(), 60)
        finally:
            await a.store.close()
            await b.store.close()

    asyncio.run(run())
    return a, b


def tombstone(server: RedisServer, prefix: str, sid: str) -> dict[str, Any] | None:
    async def read() -> tuple[dict[str, Any], int] | None:
        store = RedisSessionStore(server.url, prefix=prefix)
        try:
            return await store.get(sid)
        finally:
            await store.close()

    got = asyncio.run(read())
    return got[0] if got else None


def test_redis_stopped_mid_call_and_restarted(server: RedisServer) -> None:
    async def test(a: Worker, b: Worker) -> None:
        # CA-A: worker A holds its state when Redis goes → its record is written at once.
        root_a = await a.post("/voice/billing", "CA-A", CallStatus="ringing", **CALLER)
        root_a = await a.post(twiml_action(root_a), "CA-A", Digits="2", CallStatus="in-progress")
        # CA-B: started on A; its next request lands on B, which has never seen it.
        root_b = await a.post("/voice/billing", "CA-B", CallStatus="ringing", **CALLER)
        server.stop()
        root = await a.post(twiml_action(root_a), "CA-A", Digits="79927398713",
                            CallStatus="in-progress")  # fmt: skip
        assert twiml_apology(root)
        assert [r["call_id"] for r in a.records] == ["CA-A"]
        root = await b.post(twiml_action(root_b), "CA-B", Digits="0", CallStatus="in-progress")
        assert twiml_apology(root)
        assert b.records == [] and not await b.gateway.settle()  # still down: kept
        server.start()  # back, with what it held (append-only file)
        assert await a.gateway.settle() and await b.gateway.settle()
        assert [r["call_id"] for r in b.records] == ["CA-B"]
        for sid in ("CA-A", "CA-B"):  # Twilio's status callbacks, on either worker
            await a.post("/voice/billing", sid, CallStatus="completed")
            await b.post("/voice/billing", sid, CallStatus="completed")

    a, b = two_workers(server, test)
    records = a.records + b.records
    assert sorted(r["call_id"] for r in records) == ["CA-A", "CA-B"]  # one each, no more
    for record in records:
        assert record["outcome"]["kind"] == "error"
        assert record["outcome"]["reason"].startswith(STORE_DOWN_REASON)
    prefix = a.store.prefix
    for sid in ("CA-A", "CA-B"):
        tomb = tombstone(server, prefix, sid)
        assert tomb is not None and tomb["ended"] is True


def test_redis_paused_answers_nothing_the_caller_still_hears_an_twiml_apology(
    server: RedisServer,
) -> None:
    async def test(a: Worker, b: Worker) -> None:
        root = await a.post("/voice/billing", "CA-P", CallStatus="ringing", **CALLER)
        server.pause(True)  # accepts nothing, answers nothing: only the socket timeout helps
        try:
            root = await a.post(twiml_action(root), "CA-P", Digits="2", CallStatus="in-progress")
        finally:
            server.pause(False)
        assert twiml_apology(root)
        assert await a.gateway.settle()
        await a.post("/voice/billing", "CA-P", CallStatus="completed")

    a, b = two_workers(server, test)
    (record,) = a.records
    assert record["outcome"]["kind"] == "error" and b.records == []


def test_redis_paused_20_new_calls_each_answered_within_the_store_timeout_not_one_by_one(
    server: RedisServer,
) -> None:
    """Issue 16: with the synchronous client one hung Redis held every caller of the worker in
    turn (5 calls answered after 2, 4, 8, 10, 12 s). On the asyncio client each request waits
    for Redis on its own: 20 new calls at once are each answered (an apology) about one store
    timeout (0.5 s) after they came, liveness answers meanwhile, readiness says 503 and names
    the session store, and every call still gets one record once Redis is back."""
    timeout = 0.5
    calls = 20

    async def test(a: Worker, b: Worker) -> None:
        assert a.client is not None
        ready = await a.client.get("/readyz")
        assert ready.status == 200
        assert (await ready.json())["checks"]["session_store"]["status"] == "ok"
        server.pause(True)
        try:
            began = time.monotonic()

            async def new_call(n: int) -> tuple[float, ET.Element]:
                root = await a.post("/voice/billing", f"CA-S{n}", CallStatus="ringing", **CALLER)
                return time.monotonic() - began, root

            pending = asyncio.gather(*(new_call(n) for n in range(calls)))
            await asyncio.sleep(0.05)  # all 20 are now waiting for Redis
            live = await a.client.get("/healthz")
            alive_after = time.monotonic() - began
            ready = await a.client.get("/readyz")
            body = await ready.json()
            answered = await pending
        finally:
            server.pause(False)
        assert live.status == 200 and alive_after < timeout  # not behind the waiting calls
        assert ready.status == 503
        assert body["status"] == "not ready"
        assert body["checks"]["session_store"]["status"] == "down"
        for after, root in answered:
            assert twiml_apology(root)
            # Serially the last would come after 20 × 0.5 s = 10 s; each within ~one timeout.
            assert after < timeout * 4, f"a call answered after {after:.2f} s"
        assert await a.gateway.settle()

    a, b = two_workers(server, test, timeout=timeout)
    assert sorted(r["call_id"] for r in a.records) == sorted(f"CA-S{n}" for n in range(calls))
    assert {r["outcome"]["kind"] for r in a.records} == {"error"}
