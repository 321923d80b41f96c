"""The shared Asterisk lab for end-to-end tests: the fixture, SIPp callers, a bare AGI probe.

The lab is scripts/asterisk-lab.sh: Debian sid's Asterisk in a chroot cached outside the repo.
If the chroot cannot be built here (no root, no mirror, package gone) the requesting module is
skipped with the script's one-line reason; any failure once Asterisk is up fails the run. One
test session holds the lab at a time (a file lock beside the chroot); the fixture is module
scoped, so each module configures, starts and stops Asterisk once.

Test modules in tests/e2e import it as `from asterisk_lab import asterisk, Lab, Call, ...`.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "scripts" / "asterisk-lab.sh"
SIP_PORT = int(os.environ.get("IVRFLOW_ASTERISK_SIP_PORT", "5060"))
PCAPS = Path("/usr/share/sip-tester")

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

    def play(self, recording: Path) -> Call:
        """Caller audio: the RTP packets of a pcap (SIPp plays it alongside the next steps)."""
        self.steps.append(("pcap", recording))
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
            elif kind in ("rfc2833", "pcap"):
                recording = pcap(arg) if kind == "rfc2833" else arg
                out.append(f'  <nop><action><exec play_pcap_audio="{recording}"/></action></nop>')
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


# ---------------------------------------------------------------- SIPp phones (UAS)
# A phone Asterisk calls: the agent's in the lab queue, a customer's for callbacks. Asterisk
# offers SDP in its INVITE; the phone answers with its own. The From/To/Contact of the INVITE
# are kept so the phone can hang up itself (a UAS's BYE).

AGENT_PORT = 5080  # the agent's phone (pjsip-lab-agent.conf)
RINGS_MS = 3000  # the agent's phone rings this long before it answers

UAS_HEAD = """\
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:phone@[local_ip]:[local_port]>"""
RECV_INVITE = """\
  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="them"/>
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="us"/>
      <ereg regexp="sip:[^>;]*" search_in="hdr" header="Contact:" assign_to="contact"/>
    </action>
  </recv>
"""
UAS_SDP = "      Content-Type: application/sdp\n      Content-Length: [len]\n\n" + SDP
NO_BODY = "      Content-Length: 0\n"
OK_TO_REQUEST = """\
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
  ]]></send>
"""
UAS_BYE = """\
  <send retrans="500"><![CDATA[
      BYE [$contact] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: [$us];tag=[pid]SIPpTag01[call_number]
      To: [$them]
      [last_Call-ID:]
      CSeq: 1 BYE
      Max-Forwards: 70
      Content-Length: 0
  ]]></send>
  <recv response="200"/>
"""


def uas_response(status: str, body: str = NO_BODY, retrans: bool = False) -> str:
    """One response to the INVITE (`body`: NO_BODY or UAS_SDP)."""
    again = ' retrans="500"' if retrans else ""
    return f"  <send{again}><![CDATA[\n      SIP/2.0 {status}\n{UAS_HEAD}\n{body}\n  ]]></send>\n"


def answer(rings_ms: int, *, hangs_up: bool = False) -> str:
    """Receive the INVITE, ring `rings_ms`, answer with SDP, take the ACK. A phone that
    `hangs_up` itself (talk_then_hang_up) keeps the dialog's addresses (SIPp refuses a
    scenario that keeps a variable it never uses)."""
    return (
        (RECV_INVITE if hangs_up else '  <recv request="INVITE" crlf="true"/>\n')
        + uas_response("180 Ringing")
        + f'  <pause milliseconds="{rings_ms}"/>\n'
        + uas_response("200 OK", UAS_SDP, retrans=True)
        + '  <recv request="ACK"/>\n'
    )


def talk_then_hang_up(talk_ms: int) -> str:
    """After the answer: Asterisk's BYE within `talk_ms` is answered, else the phone sends one."""
    return (
        f'  <recv request="BYE" timeout="{talk_ms}" ontimeout="hang_up" next="bye_ok"/>\n'
        '  <label id="hang_up"/>\n' + UAS_BYE + '  <nop next="done"/>\n'
        '  <label id="bye_ok"/>\n' + OK_TO_REQUEST + '  <label id="done"/>\n'
    )


def phone(workdir: Path, name: str, body: str, port: int) -> subprocess.Popen[str]:
    """A SIPp UAS on 127.0.0.1:`port` that takes one call as `body` says (its scenario steps)."""
    scenario = workdir / f"phone-{name}.xml"
    scenario.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<scenario name="{name}">\n{body}</scenario>\n',
        encoding="utf-8",
    )
    return subprocess.Popen(
        ["sipp", "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port),
         "-mi", "127.0.0.1", "-mp", str(free_port()), "-m", "1",
         "-timeout", "60s", "-timeout_error", "-nostdin"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def agent_phone(workdir: Path, rings_ms: int = RINGS_MS) -> subprocess.Popen[str]:
    """The agent's phone: answers one call after `rings_ms`, then waits for the BYE."""
    body = answer(rings_ms) + '  <recv request="BYE"/>\n' + OK_TO_REQUEST
    return phone(workdir, "agent", body, AGENT_PORT)
