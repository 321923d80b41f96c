"""`kill -9` of a real `ivrflow serve agi` with calls in flight, then restarts.

An in-process fake Asterisk (asyncio, 127.0.0.1) places calls: some finish, some are held at
their first WAIT FOR DIGIT when the server is killed with SIGKILL. The records of finished
calls must be intact; on restart, the recovery pass must write exactly one `error` record
(reason server_stopped) for every call that was in flight, and a second restart none.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ivrflow.host.journal import RECOVERED_REASON, CallJournal
from ivrflow.host.sinks import read_records

pytestmark = pytest.mark.fault

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 20.0
DESK = """\
flow desk "Crash desk"
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


class Server:
    """`ivrflow serve agi --journal` as a child process."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        (tmp / "flows").mkdir(exist_ok=True)
        (tmp / "flows" / "desk.ivr").write_text(textwrap.dedent(DESK))
        self.records = tmp / "calls.jsonl"
        self.journal = tmp / "calls.journal"
        self.proc: subprocess.Popen[str] | None = None
        self.banner: list[str] = []

    def start(self) -> int:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ivrflow", "serve", "agi", "--listen", "127.0.0.1:0",
             "--records", str(self.records), "--journal", str(self.journal),
             "--shutdown-deadline", "1", str(self.tmp / "flows")],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stderr is not None
        self.banner = []
        while True:  # recovery says what it did before the server listens
            line = self.proc.stderr.readline()
            assert line, f"the server exited: {self.banner}"
            self.banner.append(line)
            m = re.search(r"FastAGI on 127\.0\.0\.1:(\d+)", line)
            if m:
                return int(m.group(1))

    def kill(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(timeout=LIMIT)
        assert self.proc.stderr is not None
        self.proc.stderr.close()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill(signal.SIGKILL)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    s = Server(tmp_path)
    yield s
    s.stop()


def env_block(uniqueid: str) -> bytes:
    env = {
        "agi_network": "yes",
        "agi_network_script": "desk",
        "agi_request": "agi://127.0.0.1/desk",
        "agi_channel": "PJSIP/caller-00000001",
        "agi_uniqueid": uniqueid,
        "agi_callerid": "+5511912345678",
        "agi_dnid": "+551130030001",
        "agi_extension": "s",
    }
    return "".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n"


async def fake_call(port: int, uniqueid: str, finish: bool, held: asyncio.Event | None) -> Any:
    """One call from the fake Asterisk. Finishing calls press 1; held calls stop answering
    at the first WAIT FOR DIGIT (set `held`) and keep the socket open."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(env_block(uniqueid))
    await writer.drain()
    try:
        while True:
            line = (await reader.readline()).decode()
            if not line:
                return writer if not finish else None
            if line.startswith("WAIT FOR DIGIT"):
                if not finish:
                    assert held is not None
                    held.set()
                    return writer  # the caller is listening, the server waits for a key
                reply = f"200 result={ord('1')}"
            elif line.startswith("STREAM FILE"):
                reply = "200 result=0 endpos=8000"
            else:
                reply = "200 result=1"
            writer.write(reply.encode() + b"\n")
            await writer.drain()
    finally:
        if finish:
            writer.close()


def by_id(path: Path) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for record in read_records(path):  # every line parses: nothing torn
        out.setdefault(record["call_id"], []).append(record)
    return out


def test_kill_9_with_calls_in_flight_then_restart_recovers_each_call_once(
    server: Server,
) -> None:
    port = server.start()

    async def traffic() -> list[Any]:
        for n in range(3):
            await fake_call(port, f"done-{n}", True, None)
        holds = [asyncio.Event() for _ in range(4)]
        tasks = [
            asyncio.create_task(fake_call(port, f"cut-{n}", False, held))
            for n, held in enumerate(holds)
        ]
        await asyncio.wait_for(asyncio.gather(*(h.wait() for h in holds)), LIMIT)
        return await asyncio.gather(*tasks)  # open sockets, calls in flight

    async def crash() -> None:
        writers = await traffic()
        server.kill(signal.SIGKILL)  # no SIGTERM drain, no finally: the process just dies
        for w in writers:
            w.close()

    asyncio.run(asyncio.wait_for(crash(), LIMIT * 2))

    finished = by_id(server.records)
    assert sorted(finished) == ["done-0", "done-1", "done-2"]
    assert all(r[0]["outcome"] == {"kind": "self_served", "reason": "done"}
               for r in finished.values())  # fmt: skip
    open_calls = CallJournal(server.journal).open_calls()
    assert sorted(c["call_id"] for c in open_calls) == [f"cut-{n}" for n in range(4)]

    server.start()  # the recovery pass runs before it listens
    assert any("4 calls left unfinished" in line for line in server.banner), server.banner
    server.kill(signal.SIGTERM)
    after = by_id(server.records)
    assert sorted(after) == sorted([*finished, *(f"cut-{n}" for n in range(4))])
    assert all(len(records) == 1 for records in after.values())  # one record per call
    for n in range(4):
        (record,) = after[f"cut-{n}"]
        assert record["outcome"]["kind"] == "error"
        assert record["outcome"]["reason"] == RECOVERED_REASON
        assert record["flow"] == "desk" and record["ani"] == "+5511912345678"

    server.start()  # and once more: nothing left to recover, nothing written twice
    assert not any("unfinished" in line for line in server.banner)
    server.kill(signal.SIGTERM)
    assert by_id(server.records) == after
    assert CallJournal(server.journal).open_calls() == []
