"""The webhook gateway on a real Redis: the store, and calls served by two worker processes.

Needs the `redis-server` binary (Debian package `redis-server`); without it the module is
skipped with that reason. Redis runs on a free port on 127.0.0.1 in a temp dir, without
persistence, and is stopped in teardown. The workers are real `ivrflow serve webhook`
processes sharing that Redis, as behind a load balancer.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")
redis = pytest.importorskip("redis")

from ivrflow.host.gateways.session_store import RedisSessionStore  # noqa: E402
from ivrflow.host.gateways.signatures import signature  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "flows"
REDIS_SERVER = shutil.which("redis-server")
TOKEN = "e2e-test-token-not-a-secret"
PUBLIC = "https://ivr.example.com"  # what Twilio would call: the load balancer

pytestmark = pytest.mark.skipif(
    REDIS_SERVER is None,
    reason="REDIS-SERVER NOT INSTALLED: apt-get install -y redis-server to run the webhook "
    "Redis end-to-end tests",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[Any], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stderr.read() if proc.stderr else ""
            raise RuntimeError(f"{what} exited with {proc.returncode}: {out}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout}s")


def stop(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    assert REDIS_SERVER is not None
    workdir = tmp_path_factory.mktemp("redis")
    port = free_port()
    proc = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_port(port, proc, "redis-server")
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.BusyLoadingError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        stop(proc)


@pytest.fixture
def prefix() -> str:
    return f"test:{time.monotonic_ns()}:"


def with_store(redis_url: str, prefix: str, test: Any) -> None:
    async def main() -> None:
        store = RedisSessionStore(redis_url, ttl=120, prefix=prefix)
        try:
            await test(store)
        finally:
            await store.close()

    asyncio.run(main())


# ---------------------------------------------------------------- the store
def test_store_round_trip_with_ttl(redis_url: str, prefix: str) -> None:
    async def test(store: RedisSessionStore) -> None:
        assert await store.get("c1") is None
        assert await store.put("c1", {"step": 1, "text": "olá"}, None)
        got = await store.get("c1")
        assert got == ({"step": 1, "text": "olá"}, 1)
        ttl = await store.client.ttl(store.prefix + "c1")
        assert 0 < ttl <= 120
        await store.delete("c1")
        assert await store.get("c1") is None
        assert await store.ping()

    with_store(redis_url, prefix, test)


def test_store_detects_an_optimistic_conflict(redis_url: str, prefix: str) -> None:
    async def test(store: RedisSessionStore) -> None:
        assert await store.put("c2", {"n": 0}, None)
        assert not await store.put("c2", {"n": 9}, None)  # exists already
        data, version = await store.get("c2")  # type: ignore[misc]
        assert await store.put("c2", {"n": 1}, version)  # the first writer wins
        assert not await store.put("c2", {"n": 2}, version)  # the same version read: refused
        assert await store.get("c2") == ({"n": 1}, version + 1)

    with_store(redis_url, prefix, test)


def test_store_under_concurrent_writers(redis_url: str, prefix: str) -> None:
    """Four clients increment one counter through compare-and-set, interleaved on one loop:
    no update is lost."""

    async def test(store: RedisSessionStore) -> None:
        assert await store.put("c3", {"n": 0}, None)
        lost: list[int] = []

        async def worker() -> None:
            mine = RedisSessionStore(redis_url, ttl=120, prefix=store.prefix)
            for _ in range(25):
                for _attempt in range(1000):
                    data, version = await mine.get("c3")  # type: ignore[misc]
                    await asyncio.sleep(0)  # let the others read the same version
                    if await mine.put("c3", {"n": data["n"] + 1}, version):
                        break
                else:
                    lost.append(1)
            await mine.close()

        await asyncio.gather(*(worker() for _ in range(4)))
        assert not lost
        assert await store.get("c3") == ({"n": 100}, 101)

    with_store(redis_url, prefix, test)


# ---------------------------------------------------------------- two workers
class Worker:
    def __init__(self, redis_url: str, records: Path, tmp: Path, host_args: list[str]) -> None:
        self.port = free_port()
        env = {
            k: v for k, v in os.environ.items() if k not in ("TWILIO_AUTH_TOKEN",)
        }  # the token comes only from below
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["TWILIO_AUTH_TOKEN"] = TOKEN
        env["IVRFLOW_SNAPSHOT_KEY"] = "e2e-snapshot-key"
        self.log = tmp / f"worker-{self.port}.log"
        self._log = open(self.log, "w", encoding="utf-8")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ivrflow",
                "serve",
                "webhook",
                str(FLOWS),
                "--listen",
                f"127.0.0.1:{self.port}",
                "--redis",
                redis_url,
                *host_args,
                "--records",
                str(records),
                "--public-url",
                PUBLIC,
                "--log-level",
                "debug",
            ],
            env=env,
            cwd=tmp,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
        )

    def ready(self) -> None:
        try:
            wait_port(self.port, self.proc, f"webhook worker :{self.port}")
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\n{self.log.read_text(encoding='utf-8')}") from None

    def post(self, path_qs: str, fields: dict[str, str]) -> tuple[int, str]:
        body = urllib.parse.urlencode(fields).encode()
        sig = signature(TOKEN, PUBLIC + path_qs, fields)
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path_qs}",
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": sig,
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=20) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    async def post_later(
        self, path_qs: str, fields: dict[str, str], delay: float = 0.1
    ) -> tuple[int, str]:
        await asyncio.sleep(delay)  # the other worker has read the call and is in its look-up
        return await asyncio.to_thread(self.post, path_qs, fields)

    def close(self) -> None:
        stop(self.proc)
        self._log.close()


FIXTURES = ["--fixtures", str(FLOWS / "fixtures" / "billing.yaml")]
# Look-ups slow enough that racing requests overlap: both read the call, both work, one wins.
SLOW_FUNCTIONS = """
import time

def fetch_account(contract):
    time.sleep(0.5)
    return {"balance": 152.30, "due": "2026-12-10", "status": "ok", "barcode": "8362"}

FUNCTIONS = {"fetch_account": fetch_account}
"""


def start_workers(redis_url: str, tmp_path: Path, host_args: list[str]) -> list[Worker]:
    records = tmp_path / "records.jsonl"
    pair = [Worker(redis_url, records, tmp_path, host_args) for _ in range(2)]
    try:
        for w in pair:
            w.ready()
    except BaseException:
        for w in pair:
            w.close()
        raise
    return pair


@pytest.fixture
def workers(redis_url: str, tmp_path: Path) -> Iterator[tuple[Worker, Worker, Path]]:
    records = tmp_path / "records.jsonl"
    pair = start_workers(redis_url, tmp_path, FIXTURES)
    try:
        yield pair[0], pair[1], records
    finally:
        for w in pair:
            w.close()


def action_of(xml: str) -> str:
    root = ET.fromstring(xml)
    for tag in ("Gather", "Enqueue", "Dial"):
        el = root.find(tag)
        if el is not None:
            return el.get("action") or ""
    raise AssertionError(f"no callback in {xml}")


def said(xml: str) -> str:
    return " ".join(el.text or "" for el in ET.fromstring(xml).iter("Say"))


def read_records(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_a_call_alternating_between_two_workers(workers: tuple[Worker, Worker, Path]) -> None:
    a, b, records = workers
    sid = f"CA-e2e-{time.monotonic_ns()}"
    first = {"CallSid": sid, "From": "+5511912345678", "To": "+551130030001"}
    status, xml = a.post("/voice/billing", {**first, "CallStatus": "ringing"})
    assert status == 200, xml
    assert "faturamento" in said(xml)
    steps = [
        (b, "2", "contrato"),  # balance → the contract number
        (a, "79927398713", "7 9 9 2 7"),  # read-back
        (b, "1", "152,30"),  # confirmed: the look-up ran on worker b
        (a, "2", "segunda via"),  # SMS copy: a look-up on worker a
        (b, "2", ""),  # nothing else: goodbye
    ]
    for worker, digits, expect in steps:
        url = action_of(xml)
        status, xml = worker.post(
            url, {"CallSid": sid, "Digits": digits, "CallStatus": "in-progress"}
        )
        assert status == 200, xml
        assert expect in said(xml), xml
    assert ET.fromstring(xml).find("Hangup") is not None
    # The status callback arrives at the other worker: nothing more is written.
    status, xml = a.post("/voice/billing", {"CallSid": sid, "CallStatus": "completed"})
    assert status == 200
    mine = [r for r in read_records(records) if r["call_id"] == sid]
    assert len(mine) == 1, mine
    assert mine[0]["outcome"]["kind"] == "self_served"
    assert [i["state"] for i in mine[0]["inputs"]] == [
        "main_menu",
        "account",
        "confirm_account",
        "balance_menu",
        "anything_else",
    ]


def test_unsigned_requests_are_refused_by_workers(workers: tuple[Worker, Worker, Path]) -> None:
    a, _, _ = workers
    req = urllib.request.Request(
        f"http://127.0.0.1:{a.port}/voice/billing",
        data=b"CallSid=CAx&CallStatus=ringing",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 403
    for w in (a,):
        assert TOKEN not in w.log.read_text(encoding="utf-8")


def test_concurrent_requests_for_one_call_race_without_corruption(
    workers: tuple[Worker, Worker, Path], redis_url: str
) -> None:
    a, b, records = workers
    sid = f"CA-race-{time.monotonic_ns()}"
    first = {"CallSid": sid, "From": "+5511912345678", "To": "+551130030001"}
    status, xml = a.post("/voice/billing", {**first, "CallStatus": "ringing"})
    assert status == 200
    url = action_of(xml)
    fields = {"CallSid": sid, "Digits": "2", "CallStatus": "in-progress"}

    async def race() -> list[tuple[int, str]]:
        calls = [asyncio.to_thread(w.post, url, fields) for w in (a, b, a, b, a, b)]
        return list(await asyncio.gather(*calls))

    answers = asyncio.run(race())
    assert all(status == 200 for status, _ in answers), answers
    # Every racer got the same answer: the input was applied once, the others replayed it.
    assert len({xml for _, xml in answers}) == 1, answers
    assert "contrato" in said(answers[0][1])
    # The stored call is whole and one step on.
    client = redis.Redis.from_url(redis_url)
    version, text = client.hmget(f"ivrflow:call:{sid}", ["v", "d"])
    client.close()
    data = json.loads(text)
    assert int(version) == 2
    assert data["step"] == 2 and data["waiting"] == "collect"
    # The call goes on and ends with exactly one record.
    status, _ = b.post("/voice/billing", {"CallSid": sid, "CallStatus": "completed"})
    assert status == 200
    mine = [r for r in read_records(records) if r["call_id"] == sid]
    assert len(mine) == 1
    assert mine[0]["outcome"]["kind"] == "abandoned"
    assert [i["value"] for i in mine[0]["inputs"]] == ["2"]


def test_racing_lookups_on_two_workers_apply_once(redis_url: str, tmp_path: Path) -> None:
    """Both workers read the call and run the (slow) look-up; the second write loses, the
    loser starts over, sees the call moved on, and answers with the winner's TwiML."""
    (tmp_path / "slowfns.py").write_text(SLOW_FUNCTIONS, encoding="utf-8")
    a, b = start_workers(redis_url, tmp_path, ["--functions", "slowfns:FUNCTIONS"])
    try:
        sid = f"CA-slow-{time.monotonic_ns()}"
        first = {"CallSid": sid, "From": "+5511912345678", "To": "+551130030001"}
        status, xml = a.post("/voice/billing", {**first, "CallStatus": "ringing"})
        for worker, digits in ((b, "2"), (a, "79927398713")):
            status, xml = worker.post(
                action_of(xml), {"CallSid": sid, "Digits": digits, "CallStatus": "in-progress"}
            )
            assert status == 200, xml
        url = action_of(xml)
        fields = {"CallSid": sid, "Digits": "1", "CallStatus": "in-progress"}

        async def race() -> list[tuple[int, str]]:
            return list(
                await asyncio.gather(
                    asyncio.to_thread(a.post, url, fields), b.post_later(url, fields)
                )
            )

        answers = asyncio.run(race())
        assert [s for s, _ in answers] == [200, 200], answers
        assert answers[0][1] == answers[1][1]
        assert "152,30" in said(answers[0][1])
        logs = a.log.read_text(encoding="utf-8") + b.log.read_text(encoding="utf-8")
        assert "lost a race" in logs
        status, _ = b.post("/voice/billing", {"CallSid": sid, "CallStatus": "completed"})
        mine = [r for r in read_records(tmp_path / "records.jsonl") if r["call_id"] == sid]
        assert len(mine) == 1
        assert [i["state"] for i in mine[0]["inputs"]] == [
            "main_menu",
            "account",
            "confirm_account",
        ]
        assert len(mine[0]["lookups"]) == 1
    finally:
        for w in (a, b):
            w.close()
