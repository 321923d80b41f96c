"""Hostile or broken input at the gateways: refused or bounded, never a crash, never a session
for a peer that should not have one, never a secret in the logs."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from ivrflow.host.engine import Engine  # noqa: E402
from ivrflow.host.fixtures import for_flow, install  # noqa: E402
from ivrflow.host.gateways import hosting  # noqa: E402
from ivrflow.host.gateways.signatures import signature  # noqa: E402
from ivrflow.host.gateways.webhook import MAX_BODY, WebhookConfig, create_app  # noqa: E402
from ivrflow.host.sinks import MemorySink  # noqa: E402

pytestmark = pytest.mark.abuse

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "flows"
T0 = dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC).timestamp()
CALLER = {"From": "+5511912345678", "To": "+551130030001"}
TOKEN = "tok-abuse-4f1c9e"  # a made-up token: the tests look for it in the logs
LIMIT = 20.0


class Clock:
    def __init__(self) -> None:
        self.t = T0

    def __call__(self) -> float:
        return self.t


def on_flow(engine: Engine, flow: Any) -> None:
    install(engine, flow, for_flow(flow))


def webhook(
    test: Callable[[TestClient, Engine, WebhookConfig], Awaitable[None]], **options: Any
) -> Engine:
    engine = Engine(records=MemorySink())
    config = WebhookConfig(flows_dir=FLOWS, clock=Clock(), on_flow=on_flow, **options)

    async def main() -> None:
        async with TestClient(TestServer(create_app(engine, config))) as client:
            await test(client, engine, config)

    asyncio.run(asyncio.wait_for(main(), LIMIT))
    return engine


def records(engine: Engine) -> list[dict[str, Any]]:
    sink = engine.records
    assert isinstance(sink, MemorySink)
    return sink.records


# ------------------------------------------------------------------ webhook bodies
def test_huge_webhook_body_is_refused_with_413_before_it_is_read() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        big = {"CallSid": "CA1", "CallStatus": "ringing", **CALLER, "Pad": "x" * (4 * MAX_BODY)}
        resp = await client.post("/voice/billing", data=big)
        assert resp.status == 413

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: read until too much
            yield b"CallSid=CA2&CallStatus=ringing&Pad="
            for _ in range(2 * MAX_BODY // 1024):
                yield b"y" * 1024

        resp = await client.post(
            "/voice/billing",
            data=chunks(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert resp.status == 413
        # The gateway is still there for a normal call.
        resp = await client.post(
            "/voice/billing", data={"CallSid": "CA3", "CallStatus": "ringing", **CALLER}
        )
        assert resp.status == 200

    engine = webhook(test)
    assert records(engine) == []


def test_garbage_webhook_bodies_get_4xx_not_500() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        for body, ctype in [
            (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
            (b'{"CallSid": "CA1"}', "application/json"),
            (b"CallSid=" + b"A" * 500, "application/x-www-form-urlencoded"),
        ]:
            resp = await client.post("/voice/billing", data=body, headers={"Content-Type": ctype})
            assert 400 <= resp.status < 500, (body[:20], resp.status)
        resp = await client.post("/voice/..%2F..%2Fetc%2Fpasswd", data={"CallSid": "CA1"})
        assert resp.status in (404, 400)

    webhook(test)


# ------------------------------------------------------------------ signatures and replays
def signed(client: TestClient, path: str, fields: dict[str, str]) -> dict[str, str]:
    return {"X-Twilio-Signature": signature(TOKEN, str(client.make_url(path)), fields)}


def test_stale_signed_callback_is_refused_as_a_replay() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        first = {"CallSid": "CA9", "CallStatus": "ringing", **CALLER}
        resp = await client.post("/voice/billing", data=first,
                                 headers=signed(client, "/voice/billing", first))  # fmt: skip
        root = ET.fromstring(await resp.text())
        action = root.find("Gather").get("action")  # type: ignore[union-attr]
        assert action is not None and "t=" in action
        press = {"CallSid": "CA9", "Digits": "2", "CallStatus": "in-progress"}
        headers = signed(client, action, press)
        config.clock.t += config.replay_window + 1  # type: ignore[attr-defined]
        resp = await client.post(action, data=press, headers=headers)
        assert resp.status == 403  # a genuine signature, but too old
        # A forged fresh timestamp breaks the signature, which covers the URL.
        fresh = re.sub(r"t=\d+", f"t={int(config.clock())}", action)
        resp = await client.post(fresh, data=press, headers=headers)
        assert resp.status == 403

    webhook(test, auth_token=TOKEN)


def test_replayed_fresh_request_is_answered_again_not_applied_twice() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        first = {"CallSid": "CA8", "CallStatus": "ringing", **CALLER}
        resp = await client.post("/voice/billing", data=first,
                                 headers=signed(client, "/voice/billing", first))  # fmt: skip
        root = ET.fromstring(await resp.text())
        action = root.find("Gather").get("action")  # type: ignore[union-attr]
        assert action is not None
        press = {"CallSid": "CA8", "Digits": "0", "CallStatus": "in-progress"}
        answers = []
        for _ in range(3):  # the same signed request, three times
            resp = await client.post(action, data=press, headers=signed(client, action, press))
            assert resp.status == 200
            answers.append(await resp.text())
        assert answers[0] == answers[1] == answers[2]
        end = {"CallSid": "CA8", "CallStatus": "completed"}
        for _ in range(2):
            resp = await client.post("/voice/billing", data=end,
                                     headers=signed(client, "/voice/billing", end))  # fmt: skip
            assert resp.status == 200
        # The first request replayed after the end does not start the call again.
        resp = await client.post("/voice/billing", data=first,
                                 headers=signed(client, "/voice/billing", first))  # fmt: skip
        assert ET.fromstring(await resp.text()).find("Gather") is None

    engine = webhook(test, auth_token=TOKEN)
    (record,) = records(engine)
    assert record["call_id"] == "CA8"


# ------------------------------------------------------------------ secrets
def test_redact_filter_cleans_messages_and_tracebacks() -> None:
    redact = hosting.Redact([TOKEN, "pa55word"])
    logger = logging.getLogger("ivrflow.test-redact")
    records_seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records_seen.append(self.format(record))

    handler = Keep()
    handler.addFilter(redact)
    logger.addHandler(handler)
    try:
        try:
            raise ConnectionError("cannot reach redis://:pa55word@10.0.0.9:6379/0")
        except ConnectionError:
            logger.exception("token %s and a failure", TOKEN)
    finally:
        logger.removeHandler(handler)
    (text,) = records_seen
    assert "ConnectionError" in text and "[redacted]" in text
    assert TOKEN not in text and "pa55word" not in text
    assert hosting.url_password("redis://:p%40ss@h:6379/0") == ["p%40ss", "p@ss"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_secret_reaches_the_logs_of_a_webhook_run(tmp_path: Path) -> None:
    password = "redis-pass-7d2e91"
    dead = free_port()  # nothing listens there: every store call fails and is logged
    port = free_port()
    env = {**os.environ, "TWILIO_AUTH_TOKEN": TOKEN, "IVRFLOW_SNAPSHOT_KEY": "snapkey-55aa",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivrflow", "serve", "webhook", "--listen", f"127.0.0.1:{port}",
         "--redis", f"redis://:{password}@127.0.0.1:{dead}/0", "--log-level", "debug",
         "--records", str(tmp_path / "calls.jsonl"), str(FLOWS)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + LIMIT
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/voice/billing"
        fields = {"CallSid": "CA-S", "CallStatus": "ringing", **CALLER}
        for headers in ({}, {"X-Twilio-Signature": signature(TOKEN, url, fields)}):
            body = "&".join(f"{k}={urllib.request.quote(v)}" for k, v in fields.items())
            req = urllib.request.Request(url, data=body.encode(), headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=LIMIT) as resp:
                    assert "<Hangup" in resp.read().decode()  # Redis is down: an apology
            except urllib.error.HTTPError as exc:
                assert exc.code == 403  # the unsigned one
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=LIMIT)
    assert "session store unavailable" in out and "refused request" in out  # it did log
    for secret in (TOKEN, password, "snapkey-55aa"):
        assert secret not in out


# ------------------------------------------------------------------ FastAGI
DESK = """\
flow desk "Abuse desk"
  language en-US

start:
  -> bye

step bye:
  say "Goodbye."
  hangup "done"
"""


def agi_server(tmp_path: Path, **config: Any) -> tuple[Engine, Any]:
    from ivrflow.host.gateways.fastagi import FastAGIServer, ServerConfig

    flows = tmp_path / "flows"
    flows.mkdir(exist_ok=True)
    (flows / "desk.ivr").write_text(DESK)
    engine = Engine(records=MemorySink())
    return engine, FastAGIServer(engine, ServerConfig(flows_dir=flows, render=False, **config))


async def send_raw(port: int, data: bytes) -> bytes:
    """Send `data`, then read whatever comes until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), LIMIT)
    except ConnectionError:
        return b""
    finally:
        writer.close()


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            b"agi_network_script: desk\nagi_x: " + b"a" * 100_000 + b"\n\n", id="overlong"
        ),
        pytest.param(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\n\n", id="tls-hello"),
        pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", id="http"),
        pytest.param(b"".join(b"agi_v%d: 1\n" % i for i in range(1000)) + b"\n", id="huge-env"),
    ],
)
def test_agi_garbage_before_a_call_closes_the_connection_without_a_session(
    tmp_path: Path, data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    engine, server = agi_server(tmp_path)

    async def main() -> bytes:
        await server.start("127.0.0.1", 0)
        try:
            return await send_raw(server.port, data)
        finally:
            await server.close(deadline=2.0)

    with caplog.at_level(logging.WARNING, logger="ivrflow.fastagi"):
        answer = asyncio.run(asyncio.wait_for(main(), LIMIT))
    assert answer == b""  # not a single command was sent: no flow ran
    assert server.served == 0 and records(engine) == []
    assert "bad connection" in caplog.text


def test_peer_allowed_by_cidr() -> None:
    import ipaddress

    from ivrflow.host.gateways.fastagi import peer_allowed

    lan = (ipaddress.ip_network("10.0.0.0/24"), ipaddress.ip_network("fd00::/8"))
    assert peer_allowed(("10.0.0.7", 50000), lan)
    assert peer_allowed(("::ffff:10.0.0.7", 50000, 0, 0), lan)  # dual-stack socket
    assert peer_allowed(("fd00::5", 50000, 0, 0), lan)
    assert not peer_allowed(("10.0.1.7", 50000), lan)
    assert not peer_allowed(("127.0.0.1", 50000), lan)
    assert not peer_allowed(None, lan) and not peer_allowed("/run/agi.sock", lan)
    assert peer_allowed(("192.0.2.1", 1), ())  # no --allow: anyone who can connect


def test_agi_peer_outside_allow_is_closed_logged_and_gets_no_session(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import ipaddress

    engine, server = agi_server(tmp_path, allow=(ipaddress.ip_network("10.0.0.0/8"),))
    call = b"agi_network_script: desk\nagi_uniqueid: intruder\n\n"

    async def main() -> bytes:
        await server.start("127.0.0.1", 0)
        try:
            return await send_raw(server.port, call)
        finally:
            await server.close(deadline=2.0)

    with caplog.at_level(logging.WARNING, logger="ivrflow.fastagi"):
        answer = asyncio.run(asyncio.wait_for(main(), LIMIT))
    assert answer == b"" and server.served == 0 and records(engine) == []
    assert "refused a connection from ('127.0.0.1'" in caplog.text

    # The same call from an allowed network is served.
    engine, server = agi_server(tmp_path, allow=(ipaddress.ip_network("127.0.0.0/8"),))

    async def allowed() -> bytes:
        await server.start("127.0.0.1", 0)
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(call)
            first = await asyncio.wait_for(reader.readline(), LIMIT)
            writer.close()
            return first
        finally:
            await server.close(deadline=2.0)

    assert asyncio.run(asyncio.wait_for(allowed(), LIMIT)) != b""
    assert server.served == 1


def test_serve_agi_listens_on_localhost_and_refuses_a_bad_allow(tmp_path: Path) -> None:
    from ivrflow.cli import main

    flows = tmp_path / "flows"
    flows.mkdir()
    assert main(["serve", "agi", "--allow", "10.0.0.0/33", str(flows)]) == 2
    import argparse

    from ivrflow.cli import serve

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    for gateway in ("agi", "webhook"):
        args = parser.parse_args([gateway, str(flows)])
        assert args.listen.startswith("127.0.0.1:")
