"""Real calls through a real Asterisk (issue 5): SIPp → Asterisk (PJSIP) → FastAGI → ivrflow.

The lab is scripts/asterisk-lab.sh: Debian sid's Asterisk in a chroot cached outside the repo.
If the chroot cannot be built here (no root, no mirror, package gone) the module is skipped
with the script's one-line reason; any failure once Asterisk is up fails the run.

Calls come from SIPp on 127.0.0.1 with a distinct caller number per test, which is how a
test finds its own call record. DTMF goes both as SIP INFO and as RFC 2833 events (the pcaps
sip-tester ships). Every subprocess is bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asterisk_lab import (
    ROOT,
    SIP_PORT,
    Call,
    Lab,
    Probe,
    pcap,
    sipp_ok,
    sipp_report,
)

pytestmark = pytest.mark.asterisk


NOT_SERVING = "ivrflow serve agi not implemented yet"

# ---------------------------------------------------------------- the lab itself (no ivrflow)


def test_endpoint_is_configured(asterisk: Lab) -> None:
    out = asterisk.cli("pjsip show endpoints")
    assert re.search(r"Endpoint:\s+sipp\b", out), out
    assert "127.0.0.1:5060" in out or f"127.0.0.1:{SIP_PORT}" in out
    assert "Invalid" not in out, out
    assert "agi" in asterisk.cli("module show like res_agi").lower()


def test_echo_call(asterisk: Lab) -> None:
    proc = Call("echo", "+5511900000001").wait(1000).info("5").place(asterisk.tmp, timeout=30)
    assert sipp_ok(proc), sipp_report(proc)


def test_agi_environment_and_dtmf(asterisk: Lab) -> None:
    """The AGI request Asterisk sends, and digits (SIP INFO + RFC 2833) reaching GET DATA."""
    probe = Probe(["STREAM FILE beep 0123456789*#", "GET DATA beep 6000 2", "HANGUP"])
    probe.start()
    ani = "+5511900000002"
    call = Call(f"probe-{probe.port}", ani).wait(2000).info("4")
    if pcap("7").exists():
        call.wait(600).rfc2833("7")
    else:
        call.wait(600).info("7")
    proc = call.place(asterisk.tmp, timeout=40)
    probe.join(10)
    assert probe.error is None, probe.error
    assert probe.env["agi_network_script"] == "probe"
    assert probe.env["agi_callerid"] == ani
    assert probe.env["agi_extension"] == f"probe-{probe.port}"
    assert probe.env["agi_dnid"] == f"probe-{probe.port}"
    assert re.fullmatch(r"\d+\.\d+", probe.env["agi_uniqueid"])
    assert probe.replies[0].startswith("200 result=0 endpos="), probe.replies
    assert probe.replies[1] == "200 result=47", probe.replies
    assert sipp_ok(proc), sipp_report(proc)


# ---------------------------------------------------------------- ivrflow serve agi


def serve_available() -> bool:
    proc = subprocess.run(
        [sys.executable, "-m", "ivrflow", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    return proc.returncode == 0


def office_always_open(flows: Path, names: tuple[str, ...] = ("office", "office_us")) -> None:
    """The copy's desks are open around the clock, so a transfer reaches the queue at any hour."""
    hours = flows / "common" / "hours.ivr"
    text = hours.read_text(encoding="utf-8")
    for name in names:
        m = re.search(rf"^hours {name}:\n((?:  .*\n)+)", text, re.M)
        assert m, f"hours {name} not found in {hours}"
        tz = re.search(r"^  timezone .*\n", m.group(1), re.M)
        assert tz
        text = text[: m.start(1)] + tz.group(0) + "  mon-sun 00:00-24:00\n" + text[m.end(1) :]
    hours.write_text(text, encoding="utf-8")


@dataclass
class Server:
    proc: subprocess.Popen[str]
    records: Path
    log: Path

    def record(self, ani: str, timeout: float = 20) -> dict[str, Any]:
        """The one record of the call from `ani`, once written."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.all_records() if r.get("ani") == ani]
            if found:
                assert len(found) == 1, found
                return found[0]
            if time.monotonic() > deadline:
                pytest.fail(f"no call record for {ani} after {timeout} s\n{self.tail()}")
            time.sleep(0.2)

    def all_records(self) -> list[dict[str, Any]]:
        if not self.records.exists():
            return []
        lines = self.records.read_text(encoding="utf-8").splitlines()
        return [json.loads(ln) for ln in lines if ln.strip()]

    def tail(self) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "server log:\n" + "\n".join(text.splitlines()[-30:])


@pytest.fixture(scope="module")
def server(asterisk: Lab) -> Iterator[Server]:
    if not serve_available():
        pytest.skip(NOT_SERVING)
    work = asterisk.tmp / "serve"
    flows = work / "flows"
    shutil.copytree(ROOT / "flows", flows)
    office_always_open(flows)
    with serving(asterisk, work, flows) as srv:
        yield srv


@contextmanager
def serving(asterisk: Lab, work: Path, flows: Path, *options: str) -> Iterator[Server]:
    """`ivrflow serve agi` on the lab's AGI port for `flows`, records in `work`, stopped after."""
    records = work / "calls.jsonl"
    log = work / "serve.log"
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ivrflow",
                "serve",
                "agi",
                "--listen",
                f"127.0.0.1:{asterisk.agi_port}",
                str(flows),
                "--records",
                str(records),
                *options,
            ],
            cwd=work,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
    srv = Server(proc, records, log)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"ivrflow serve agi exited {proc.returncode}\n{srv.tail()}"
            try:
                socket.create_connection(("127.0.0.1", asterisk.agi_port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"ivrflow serve agi not listening after 30 s\n{srv.tail()}")
                time.sleep(0.2)
        yield srv
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def states(record: dict[str, Any]) -> list[str]:
    return [step["state"] for step in record["path"]]


def inputs(record: dict[str, Any], state: str) -> list[str]:
    return [i["value"] for i in record["inputs"] if i["state"] == state]


# The welcome prompt lasts a few seconds; 7 s after the answer the main menu is playing
# (barge-in is on in billing.ivr), so a key then is the menu's choice.
IN_MAIN_MENU_MS = 7000


def test_menu_choice(asterisk: Lab, server: Server) -> None:
    ani = "+5511911110001"
    call = Call("billing", ani, hold_ms=4000).wait(IN_MAIN_MENU_MS).rfc2833("1")
    proc = call.place(asterisk.tmp)
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani)
    assert record["flow"] == "billing"
    assert inputs(record, "main_menu") == ["1"], record
    assert "account" in states(record), record  # 1 → invoice → identify → the contract number
    assert record["outcome"]["kind"] == "abandoned", record


def test_digit_capture(asterisk: Lab, server: Server) -> None:
    ani = "+5511911110002"
    call = (
        Call("billing", ani, hold_ms=4000)
        .wait(IN_MAIN_MENU_MS)
        .info("2")
        .wait(6000)
        .info("79927398713#")  # a Luhn-valid contract number
    )
    proc = call.place(asterisk.tmp)
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani)
    assert inputs(record, "main_menu") == ["2"], record
    assert inputs(record, "account") == ["79927398713"], record
    assert "confirm_account" in states(record), record
    assert record["outcome"]["kind"] == "abandoned", record


def test_queue_transfer(asterisk: Lab, server: Server) -> None:
    """0 → agent → agent_pt: the caller is put in Asterisk's `billing` queue (no members; the
    lab's copy of the flow has the desk open around the clock), waits there, and hangs up."""
    ani = "+5511911110003"
    offset = asterisk.log_size()
    call = Call("billing", ani, hold_ms=15000).wait(IN_MAIN_MENU_MS).info("0")
    with ThreadPoolExecutor(1) as pool:
        placed = pool.submit(call.place, asterisk.tmp)
        waiting = ""
        deadline = time.monotonic() + 60
        while not placed.done() and time.monotonic() < deadline:
            out = asterisk.cli("queue show billing")
            if "PJSIP/sipp-" in out:
                waiting = out
                break
            time.sleep(0.5)
        proc = placed.result(timeout=120)
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani)
    log = asterisk.log_since(offset)
    assert inputs(record, "main_menu") == ["0"], record
    assert "agent_pt" in states(record), record
    assert re.search(r"Executing Application: \(Queue\) Options: \(billing", log), log[-3000:]
    assert waiting, f"the caller never showed in `queue show billing`\n{log[-3000:]}"
    assert record["outcome"]["kind"] in ("transferred", "abandoned"), record


def test_hangup_mid_prompt(asterisk: Lab, server: Server) -> None:
    ani = "+5511911110004"
    proc = Call("billing", ani, hold_ms=1500).place(asterisk.tmp)  # BYE during the welcome
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani)
    assert record["outcome"]["kind"] == "abandoned", record
    assert record["inputs"] == [], record
    assert record["duration"] < 10, record
    assert server.proc.poll() is None, server.tail()  # still serving
