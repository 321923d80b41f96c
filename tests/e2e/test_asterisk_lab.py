"""Real calls through a real Asterisk (issue 5): SIPp → Asterisk (PJSIP) → FastAGI → ivrflow.

The lab is scripts/asterisk-lab.sh: Debian sid's Asterisk in a chroot cached outside the repo.
If the chroot cannot be built here (no root, no mirror, package gone) the module is skipped
with the script's one-line reason; any failure once Asterisk is up fails the run.

Calls come from SIPp on 127.0.0.1 with a distinct caller number per test, which is how a
test finds its own call record. DTMF goes both as SIP INFO and as RFC 2833 events (the pcaps
sip-tester ships). Every subprocess is bounded by a timeout.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.asterisk

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "scripts" / "asterisk-lab.sh"
SIP_PORT = int(os.environ.get("IVRFLOW_ASTERISK_SIP_PORT", "5060"))
PCAPS = Path("/usr/share/sip-tester")
NOT_SERVING = "ivrflow serve agi not implemented yet"

# ---------------------------------------------------------------- the lab


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def lab(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(LAB), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def reason(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("asterisk-lab: ")]
    return lines[-1] if lines else (proc.stderr.strip().splitlines() or ["(no output)"])[-1]


@dataclass
class Lab:
    root: Path
    agi_port: int
    tmp: Path

    def cli(self, command: str) -> str:
        proc = subprocess.run(
            ["chroot", str(self.root), "/usr/sbin/asterisk", "-rx", command],
            capture_output=True,
            text=True,
            timeout=15,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    @property
    def log(self) -> Path:
        return self.root / "var" / "log" / "asterisk" / "messages.log"

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, offset: int) -> str:
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")


@pytest.fixture(scope="module")
def asterisk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not LAB.exists() or shutil.which("bash") is None:
        pytest.skip("scripts/asterisk-lab.sh or bash missing")
    build = lab("build", timeout=900)
    if build.returncode == 3:
        pytest.skip(reason(build))
    assert build.returncode == 0, f"asterisk-lab build failed: {reason(build)}\n{build.stderr}"
    root = Path(lab("root").stdout.strip())
    with exclusive(root.with_name(root.name + ".lock")):
        port = free_port()
        lab("stop", timeout=60)  # a lab left running by an interrupted run
        configure = lab("configure", str(port))
        assert configure.returncode == 0, configure.stderr
        start = lab("start", timeout=120)
        try:
            assert start.returncode == 0, f"Asterisk did not start: {reason(start)}\n{start.stderr}"
            yield Lab(root, port, tmp_path_factory.mktemp("asterisk"))
        finally:
            stop = lab("stop", timeout=60)
            assert stop.returncode == 0, stop.stderr


@contextmanager
def exclusive(path: Path, timeout: float = 600) -> Iterator[None]:
    """One test session at a time owns the lab (port 5060, one Asterisk in the chroot)."""
    with path.open("w") as f:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"the Asterisk lab stayed busy (another test run?) for {timeout} s")
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# ---------------------------------------------------------------- SIPp

CALLER = '"ivrflow lab" <sip:{ani}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]'
HEADERS = """\
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: {caller}
      To: <sip:{exten}@[remote_ip]:[remote_port]>{peer_tag}
      Call-ID: [call_id]
      CSeq: {cseq} {method}
      Contact: <sip:{ani}@[local_ip]:[local_port]>
      Max-Forwards: 70"""

SDP = """\
      v=0
      o=sipp 1 1 IN IP[local_ip_type] [local_ip]
      s=ivrflow
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=sendrecv"""


def pcap(key: str) -> Path:
    name = {"#": "pound", "*": "star"}.get(key, key)
    return PCAPS / f"dtmf_2833_{name}.pcap"


@dataclass
class Call:
    """A SIPp UAC scenario: steps after the answer, then wait for Asterisk's BYE or hang up."""

    exten: str
    ani: str
    steps: list[tuple[str, Any]] = field(default_factory=list)
    hold_ms: int = 3000  # after the last step: Asterisk may hang up first; else we do

    def wait(self, ms: int) -> Call:
        self.steps.append(("wait", ms))
        return self

    def info(self, keys: str, gap_ms: int = 250) -> Call:
        """DTMF as SIP INFO (application/dtmf-relay), one request per key."""
        for i, key in enumerate(keys):
            if i:
                self.steps.append(("wait", gap_ms))
            self.steps.append(("info", key))
        return self

    def rfc2833(self, keys: str, gap_ms: int = 400) -> Call:
        """DTMF as RFC 2833 events in the RTP stream (sip-tester's pcaps)."""
        for i, key in enumerate(keys):
            if i:
                self.steps.append(("wait", gap_ms))
            self.steps.append(("rfc2833", key))
        return self

    def request(self, method: str, cseq: int, body: str = "", ctype: str = "") -> str:
        head = HEADERS.format(
            caller=CALLER.format(ani=self.ani),
            exten=self.exten,
            peer_tag="" if method == "INVITE" else "[peer_tag_param]",
            cseq=cseq,
            method=method,
            ani=self.ani,
        )
        extra = f"\n      Content-Type: {ctype}" if ctype else ""
        length = "[len]" if body else "0"
        text = (
            f"      {method} sip:{self.exten}@[remote_ip]:[remote_port] SIP/2.0\n{head}{extra}\n"
            f"      Content-Length: {length}\n\n{body}"
        )
        return f"<![CDATA[\n{text}\n    ]]>"

    def xml(self) -> str:
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<scenario name="ivrflow lab call">',
            f'  <send retrans="500">{self.request("INVITE", 1, SDP, "application/sdp")}</send>',
            '  <recv response="100" optional="true"/>',
            '  <recv response="180" optional="true"/>',
            '  <recv response="183" optional="true"/>',
            # Asterisk's BYE is answered at any point of the call (found by a backward search).
            '  <recv request="BYE" optional="global" next="remote_bye"/>',
            '  <recv response="200" rtd="true"/>',
            f"  <send>{self.request('ACK', 1)}</send>",
        ]
        cseq = 1
        for kind, arg in self.steps:
            if kind == "wait":
                out.append(f'  <pause milliseconds="{arg}"/>')
            elif kind == "info":
                cseq += 1
                body = f"      Signal={arg}\n      Duration=160"
                out.append(
                    f"  <send>{self.request('INFO', cseq, body, 'application/dtmf-relay')}</send>"
                )
                out.append('  <recv response="200"/>')
            elif kind == "rfc2833":
                out.append(f'  <nop><action><exec play_pcap_audio="{pcap(arg)}"/></action></nop>')
            else:  # pragma: no cover
                raise ValueError(kind)
        ok = (
            "<![CDATA[\n      SIP/2.0 200 OK\n      [last_Via:]\n      [last_From:]\n"
            "      [last_To:]\n      [last_Call-ID:]\n      [last_CSeq:]\n"
            "      Content-Length: 0\n\n    ]]>"
        )
        out += [
            f'  <recv request="BYE" timeout="{self.hold_ms}" ontimeout="caller_bye"/>',
            '  <label id="remote_bye"/>',
            f'  <send next="done">{ok}</send>',
            '  <label id="caller_bye"/>',
            f'  <send retrans="500">{self.request("BYE", cseq + 1)}</send>',
            '  <recv response="200"/>',
            '  <label id="done"/>',
            "</scenario>",
        ]
        return "\n".join(out) + "\n"

    def place(self, workdir: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
        workdir.mkdir(parents=True, exist_ok=True)
        scenario = workdir / f"call-{self.ani.lstrip('+')}.xml"
        scenario.write_text(self.xml(), encoding="utf-8")
        return subprocess.run(
            [
                "sipp",
                f"127.0.0.1:{SIP_PORT}",
                "-sf",
                str(scenario),
                "-s",
                self.exten,
                "-i",
                "127.0.0.1",
                "-p",
                str(free_port()),
                "-mi",
                "127.0.0.1",
                "-m",
                "1",
                "-l",
                "1",
                "-timeout",
                f"{int(timeout) - 5}s",
                "-timeout_error",
                "-aa",
                "-nostdin",
            ],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )


def sipp_ok(proc: subprocess.CompletedProcess[str]) -> bool:
    return proc.returncode == 0 and bool(
        re.search(r"Successful call\s+\|\s+\d+\s+\|\s+1\b", proc.stdout)
    )


def sipp_report(proc: subprocess.CompletedProcess[str]) -> str:
    interesting = [
        ln
        for ln in (proc.stdout + proc.stderr).splitlines()
        if re.search(r"call|error|unexpected|abort", ln, re.I)
    ]
    return f"sipp exited {proc.returncode}:\n" + "\n".join(interesting[-15:])


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


class Probe(threading.Thread):
    """A bare FastAGI listener: records the environment and the replies to a script."""

    def __init__(self, commands: list[str]) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(30)
        self.port = int(self.sock.getsockname()[1])
        self.commands = commands
        self.env: dict[str, str] = {}
        self.replies: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn, _ = self.sock.accept()
            with conn, conn.makefile("rwb", buffering=0) as f:
                conn.settimeout(30)
                while line := f.readline().decode().rstrip("\n"):
                    key, _, value = line.partition(": ")
                    self.env[key] = value
                for command in self.commands:
                    f.write(command.encode() + b"\n")
                    reply = f.readline().decode().rstrip("\n")
                    self.replies.append(reply)
                    if not reply.startswith("200"):
                        break
        except BaseException as exc:  # noqa: BLE001 — reported by the test
            self.error = exc
        finally:
            self.sock.close()


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


def office_always_open(flows: Path) -> None:
    """The copy's desks are open around the clock, so a transfer reaches the queue at any hour."""
    hours = flows / "common" / "hours.ivr"
    text = hours.read_text(encoding="utf-8")
    for name in ("office", "office_us"):
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
