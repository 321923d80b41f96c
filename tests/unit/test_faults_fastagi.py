"""Fault injection at the FastAGI gateway: the connection reset mid-command, Asterisk sending
garbage. Each call still gets exactly one record, and the server goes on serving."""

from __future__ import annotations

import asyncio
import socket
import struct
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ivrflow.host.engine import Engine
from ivrflow.host.gateways.fastagi import FastAGIServer, ServerConfig
from ivrflow.host.sinks import MemorySink

pytestmark = pytest.mark.fault

LIMIT = 10.0
DESK = """\
flow desk "Fault desk"
  language en-US

start:
  -> main

menu main:
  say "Press 1 to finish."
  1 -> bye
  noinput: say "Sorry?"
  nomatch: say "Sorry?"
  exhausted -> bye

step bye:
  say "Goodbye."
  hangup "done"
"""


def env_block(uniqueid: str) -> bytes:
    env = {
        "agi_network": "yes",
        "agi_network_script": "desk",
        "agi_uniqueid": uniqueid,
        "agi_callerid": "+5511912345678",
        "agi_dnid": "+551130030001",
    }
    return "".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n"


async def call(port: int, uniqueid: str, fault: str | None = None) -> list[str]:
    """A fake Asterisk call; `fault` says what goes wrong at the first WAIT FOR DIGIT:
    'reset' (TCP RST), 'garbage' (a line that is no reply), 'overlong' (a reply line longer
    than the cap). Without a fault the caller presses 1. Returns the commands received."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(env_block(uniqueid))
    await writer.drain()
    commands: list[str] = []
    try:
        while True:
            line = (await reader.readline()).decode()
            if not line:
                return commands
            commands.append(line.rstrip("\n"))
            if line.startswith("WAIT FOR DIGIT") and fault == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()  # RST, mid-command: no reply ever comes
                return commands
            if line.startswith("WAIT FOR DIGIT") and fault == "garbage":
                reply = "\x00\xffthis is not AGI at all"
            elif line.startswith("WAIT FOR DIGIT") and fault == "overlong":
                reply = "200 result=49 " + "x" * 20000
            elif line.startswith("WAIT FOR DIGIT"):
                reply = f"200 result={ord('1')}"
            elif line.startswith("STREAM FILE"):
                reply = "200 result=0 endpos=8000"
            else:
                reply = "200 result=1"
            writer.write(reply.encode("utf-8", "surrogateescape") + b"\n")
            await writer.drain()
    except ConnectionError:
        return commands
    finally:
        writer.close()


def serve(tmp_path: Path, *calls: tuple[str, str | None]) -> list[dict[str, Any]]:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "desk.ivr").write_text(textwrap.dedent(DESK))
    engine = Engine(records=MemorySink())
    server = FastAGIServer(engine, ServerConfig(flows_dir=flows, render=False))

    async def main() -> None:
        await server.start("127.0.0.1", 0)
        try:
            for uniqueid, fault in calls:
                await call(server.port, uniqueid, fault)
        finally:
            await server.close(deadline=2.0)

    asyncio.run(asyncio.wait_for(main(), LIMIT))
    sink = engine.records
    assert isinstance(sink, MemorySink)
    return sink.records


def test_connection_reset_mid_command_is_an_abandoned_record_and_serving_goes_on(
    tmp_path: Path,
) -> None:
    records = serve(tmp_path, ("reset", "reset"), ("after", None))
    assert [r["call_id"] for r in records] == ["reset", "after"]
    assert records[0]["outcome"]["kind"] == "abandoned"
    assert records[0]["outcome"]["state"] == "main"
    assert records[1]["outcome"] == {"kind": "self_served", "reason": "done"}


@pytest.mark.parametrize("fault", ["garbage", "overlong"])
def test_asterisk_sending_garbage_is_an_error_record_and_serving_goes_on(
    tmp_path: Path, fault: str
) -> None:
    records = serve(tmp_path, ("bad", fault), ("after", None))
    assert [r["call_id"] for r in records] == ["bad", "after"]
    assert records[0]["outcome"]["kind"] == "error"
    assert records[0]["outcome"]["reason"].startswith("gateway:")
    assert records[1]["outcome"]["kind"] == "self_served"
