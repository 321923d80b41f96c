"""FastAGI gateway: the sans-IO protocol, and whole calls against a scripted fake Asterisk.

The fake Asterisk is an asyncio client on 127.0.0.1 that connects to the server (bound on
port 0), sends an AGI environment and answers each command from a script. No other network.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ivrflow.host import fixtures as fixtures_mod
from ivrflow.host.engine import Engine
from ivrflow.host.gateways import agi_protocol as agi
from ivrflow.host.gateways.dialstrings import DialTemplateError, DialTemplates
from ivrflow.host.gateways.fastagi import FastAGIServer, ServerConfig, call_parameters
from ivrflow.host.sinks import MemorySink

FLOWS = Path(__file__).resolve().parents[2] / "flows"
# Tuesday 2026-11-24 11:00 in São Paulo: the billing office is open.
OPEN = dt.datetime(2026, 11, 24, 14, 0, tzinfo=dt.UTC).timestamp()
LIMIT = 10.0  # seconds: no test waits longer than this for anything


# ------------------------------------------------------------------ protocol


def test_environment_block_ends_with_blank_line() -> None:
    p = agi.AGIParser()
    assert p.feed(b"agi_network: yes\nagi_network_script: billing?lang=pt-BR\r\n") == []
    events = p.feed(b"agi_callerid: +5511912345678\nagi_arg_1: a: b\n\n200 result=0\n")
    assert events[0] == agi.Environment(
        {
            "agi_network": "yes",
            "agi_network_script": "billing?lang=pt-BR",
            "agi_callerid": "+5511912345678",
            "agi_arg_1": "a: b",
        }
    )
    assert isinstance(events[1], agi.Reply) and events[1].result == "0"


def test_environment_malformed_or_too_large() -> None:
    with pytest.raises(agi.AGIProtocolError):
        agi.AGIParser().feed(b"no colon here\n")
    p = agi.AGIParser(max_env_lines=3)
    with pytest.raises(agi.AGIProtocolError):
        p.feed(b"".join(b"agi_x%d: 1\n" % i for i in range(5)))


@pytest.mark.parametrize(
    ("line", "code", "result", "data", "endpos"),
    [
        ("200 result=0 endpos=1000", 200, "0", None, 1000),
        ("200 result=50 endpos=480", 200, "50", None, 480),
        ("200 result=-1 endpos=0", 200, "-1", None, 0),
        ("200 result=79927398713", 200, "79927398713", None, None),
        ("200 result= (timeout)", 200, "", "timeout", None),
        ("200 result=12 (timeout)", 200, "12", "timeout", None),
        ("200 result=1 (TIMEOUT)", 200, "1", "TIMEOUT", None),
        ("200 result=1 (two words (nested))", 200, "1", "two words (nested)", None),
        ("510 Invalid or unknown command", 510, None, None, None),
        ("511 Command Not Permitted on a dead channel", 511, None, None, None),
    ],
)
def test_reply_parsing(
    line: str, code: int, result: str | None, data: str | None, endpos: int | None
) -> None:
    r = agi.parse_reply(line)
    assert (r.code, r.result, r.data, r.endpos) == (code, result, data, endpos)


def test_result_minus_one_and_511_mean_hangup() -> None:
    assert agi.parse_reply("200 result=-1").hangup
    assert agi.parse_reply("511 Command Not Permitted on a dead channel").hangup
    assert not agi.parse_reply("200 result=0").hangup


@pytest.mark.parametrize("line", ["garbage", "200result=0", "200 foo=1", "99 x", "200 result=1 x"])
def test_malformed_replies(line: str) -> None:
    with pytest.raises(agi.AGIProtocolError):
        agi.parse_reply(line)


def test_multiline_520() -> None:
    p = agi.AGIParser()
    p.feed(b"\n")
    assert p.feed(b"520-Invalid command syntax.  Proper usage follows:\n") == []
    assert p.feed(b" Usage: STREAM FILE <filename> <escape_digits>\n") == []
    (reply,) = p.feed(b"520 End of proper usage.\n")
    assert isinstance(reply, agi.Reply) and reply.code == 520 and len(reply.lines) == 3
    assert not reply.ok


def test_hangup_line_is_a_notice_not_the_reply() -> None:
    p = agi.AGIParser()
    p.feed(b"agi_request: x\n\n")
    # STREAM FILE pending: Asterisk sends HANGUP, then the command's own reply.
    events = p.feed(b"HANGUP\n200 result=-1 endpos=2400\n")
    assert events == [agi.HangupNotice(), agi.Reply(200, "-1", None, 2400, events[1].text,
                                                    events[1].lines)]  # fmt: skip
    assert isinstance(events[1], agi.Reply) and events[1].hangup


def test_overlong_line_rejected() -> None:
    p = agi.AGIParser(max_line=100)
    with pytest.raises(agi.AGIProtocolError):
        p.feed(b"agi_x: " + b"a" * 200)  # no newline yet: still too long
    p = agi.AGIParser(max_line=100)
    with pytest.raises(agi.AGIProtocolError):
        p.feed(b"agi_x: " + b"a" * 200 + b"\n")


def test_command_formatting_quotes_and_blocks_injection() -> None:
    assert agi.stream_file("beep", "0123456789*#") == b'STREAM FILE "beep" "0123456789*#"\n'
    assert agi.get_data("", 4000, 11) == b'GET DATA "" 4000 11\n'
    assert agi.wait_for_digit(5000) == b"WAIT FOR DIGIT 5000\n"
    assert agi.say_digits("123") == b'SAY DIGITS "123" ""\n'
    assert agi.set_variable("NAME", 'a "b"\\') == b'SET VARIABLE "NAME" "a \\"b\\"\\\\"\n'
    assert agi.exec_app("Queue", "billing") == b'EXEC Queue "billing"\n'
    assert agi.get_variable("QUEUESTATUS") == b'GET VARIABLE "QUEUESTATUS"\n'
    assert agi.hangup() == b"HANGUP\n"
    assert agi.verbose("hi\nHANGUP") == b'VERBOSE "hi HANGUP" 1\n'
    assert agi.digit_from_result(50) == "2" and agi.digit_from_result(0) is None


def test_call_parameters() -> None:
    p = call_parameters(
        {
            "agi_network_script": "billing?lang=en-US&campaign=x",
            "agi_callerid": "unknown",
            "agi_dnid": "unknown",
            "agi_extension": "+551130030001",
            "agi_uniqueid": "1700000000.42",
        }
    )
    assert p == {
        "flow": "billing",
        "variables": {"language": "en-US", "campaign": "x"},
        "ani": "anonymous",
        "dnis": "+551130030001",
        "call_id": "1700000000.42",
    }
    p = call_parameters({"agi_request": "agi://127.0.0.1:4573/flows/billing.ivr"})
    assert p["flow"] == "billing" and p["ani"] == "anonymous"  # no caller id: withheld


# ------------------------------------------------------------------ the fake Asterisk

Answer = Callable[[str], "list[str] | None"]


def env_block(uniqueid: str, script: str = "billing", ani: str = "+5511912345678") -> bytes:
    env = {
        "agi_network": "yes",
        "agi_network_script": script,
        "agi_request": f"agi://127.0.0.1:4573/{script}",
        "agi_channel": "PJSIP/caller-00000001",
        "agi_language": "en",
        "agi_uniqueid": uniqueid,
        "agi_callerid": ani,
        "agi_calleridname": "Caller",
        "agi_dnid": "+551130030001",
        "agi_extension": "s",
        "agi_context": "ivr",
    }
    return "".join(f"{k}: {v}\n" for k, v in env.items()).encode() + b"\n"


class FakeAsterisk:
    """Answers commands: keys from `inputs` for WAIT FOR DIGIT / GET DATA, sane defaults else.

    `special(command) -> lines | None` overrides the answer for one command; returning
    ["<close>"] drops the connection, [] sends nothing.
    """

    def __init__(
        self,
        inputs: list[str],
        queuestatus: str | None = None,
        special: Answer | None = None,
    ) -> None:
        self.inputs = list(inputs)
        self.queuestatus = queuestatus
        self.special = special
        self.commands: list[str] = []
        self.closed_by_server = False
        self._rest: str | None = None

    def answer(self, cmd: str) -> list[str]:
        if self.special is not None:
            lines = self.special(cmd)
            if lines is not None:
                return lines
        if cmd.startswith("WAIT FOR DIGIT"):
            if not self.inputs:
                return ["HANGUP", "200 result=-1"]
            entry = self.inputs.pop(0)
            if entry == "timeout":
                return ["200 result=0"]
            self._rest = entry[1:]
            return [f"200 result={ord(entry[0])}"]
        if cmd.startswith("GET DATA"):
            rest, self._rest = self._rest or "", None
            return [f"200 result={rest}" if rest else "200 result= (timeout)"]
        if cmd.startswith("STREAM FILE"):
            return ["200 result=0 endpos=8000"]
        if cmd.startswith("GET VARIABLE"):
            if "QUEUESTATUS" in cmd and self.queuestatus:
                return [f"200 result=1 ({self.queuestatus})"]
            return ["200 result=0"]
        if cmd.startswith("EXEC"):
            return ["200 result=0"]
        return ["200 result=1"]  # SET VARIABLE, VERBOSE, HANGUP

    async def call(self, port: int, uniqueid: str, **env: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(env_block(uniqueid, **env))
        await writer.drain()
        try:
            while True:
                line = await reader.readline()
                if not line:
                    self.closed_by_server = True
                    return
                cmd = line.decode().rstrip("\n")
                self.commands.append(cmd)
                lines = self.answer(cmd)
                if lines == ["<close>"]:
                    return
                for reply in lines:
                    writer.write(reply.encode() + b"\n")
                await writer.drain()
        finally:
            writer.close()


class Lab:
    def __init__(self, flows_dir: Path = FLOWS, **config: Any) -> None:
        self.engine = Engine(records=MemorySink())
        self.engine.queue_status = lambda queue: (30.0, 1)
        fx = fixtures_mod.load(FLOWS / "fixtures" / "billing.yaml")
        self.server = FastAGIServer(
            self.engine, ServerConfig(flows_dir=flows_dir, **config), clock=lambda: OPEN
        )

        def on_flow(engine: Any, flow: Any) -> None:
            fixtures_mod.install(engine, flow, fx)
            engine.queue_status = lambda queue: (30.0, 1)

        self.server.on_flow = on_flow

    @property
    def records(self) -> list[dict[str, Any]]:
        sink = self.engine.records
        assert isinstance(sink, MemorySink)
        return sink.records

    async def __aenter__(self) -> Lab:
        await self.server.start("127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.close(deadline=2.0)


def run(coro: Any) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, LIMIT)

    return asyncio.run(bounded())


def sent(fake: FakeAsterisk, prefix: str) -> list[str]:
    return [c for c in fake.commands if c.startswith(prefix)]


# ------------------------------------------------------------------ whole calls


def test_menu_choice_and_digit_capture_self_served() -> None:
    # balance (2) → contract 79927398713 → confirm (1) → SMS (2) → nothing else (2)
    fake = FakeAsterisk(["2", "79927398713", "1", "2", "2"])

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-1.1")
        return lab

    lab = run(scenario())
    (record,) = lab.records
    assert record["call_id"] == "call-1.1"
    assert record["outcome"]["kind"] == "self_served", record["outcome"]
    values = [i["value"] for i in record["inputs"]]
    assert values[:3] == ["2", "79927398713", "1"]
    assert "WAIT FOR DIGIT 5000" in fake.commands  # the menu: timeout 5s
    assert 'GET DATA "" 4000 11' in fake.commands  # the capture: interdigit 4s, 12 digits
    assert sent(fake, 'STREAM FILE "beep" "0123456789*#"')  # no audio: fallback sound
    assert any("Olá! Você ligou" in c for c in sent(fake, "VERBOSE"))
    assert 'SET VARIABLE "IVRFLOW_OUTCOME" "self_served"' in fake.commands
    assert fake.commands[-1] == "HANGUP"
    assert fake.closed_by_server


def test_barge_in_key_during_prompt_is_the_choice() -> None:
    def special(cmd: str) -> list[str] | None:
        if cmd.startswith("STREAM FILE") and not any(
            c.startswith("WAIT FOR DIGIT") for c in fake.commands
        ):
            streams = [c for c in fake.commands if c.startswith("STREAM FILE")]
            if len(streams) == 2:  # the main menu prompt: caller presses 0 over it
                return [f"200 result={ord('0')} endpos=1200"]
        return None

    fake = FakeAsterisk([], queuestatus=None, special=special)

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-barge")
        return lab

    lab = run(scenario())
    (record,) = lab.records
    assert record["inputs"][0]["value"] == "0"
    assert record["outcome"]["kind"] == "transferred"


def test_queue_transfer() -> None:
    fake = FakeAsterisk(["0"])

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-q")
        return lab

    lab = run(scenario())
    (record,) = lab.records
    assert record["outcome"] == {"kind": "transferred", "queue": "billing"}
    i = fake.commands.index('EXEC Queue "billing"')
    assert 'SET VARIABLE "QUEUE_PRIO" "5"' in fake.commands[:i]
    assert 'SET VARIABLE "IVRFLOW_SKILLS" "billing,portuguese"' in fake.commands[:i]
    assert fake.commands[i + 1] == 'GET VARIABLE "QUEUESTATUS"'
    assert 'SET VARIABLE "IVRFLOW_QUEUE" "billing"' in fake.commands
    assert fake.closed_by_server


def test_queue_timeout_is_noanswer_and_the_flow_goes_on() -> None:
    fake = FakeAsterisk(["0"], queuestatus="TIMEOUT")

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-qt")
        return lab

    lab = run(scenario())
    (record,) = lab.records
    states = [p["state"] for p in record["path"]]
    assert "agents_unavailable" in states


@pytest.mark.parametrize("reply_after", [True, False])
def test_caller_hangs_up_mid_prompt(reply_after: bool) -> None:
    def special(cmd: str) -> list[str] | None:
        if cmd.startswith("STREAM FILE"):
            return ["HANGUP", "200 result=-1 endpos=1200"] if reply_after else ["HANGUP"]
        if cmd.startswith(("STREAM", "WAIT", "GET DATA", "EXEC")):
            return ["511 Command Not Permitted on a dead channel"]
        return None

    fake = FakeAsterisk(["1"], special=special)

    async def scenario() -> Lab:
        async with Lab(hangup_grace=0.3) as lab:
            await fake.call(lab.server.port, "call-hup")
        return lab

    lab = run(scenario())
    (record,) = lab.records
    assert record["outcome"]["kind"] == "abandoned"
    assert fake.closed_by_server
    assert len(sent(fake, "STREAM FILE")) == 1  # nothing more is played to a dead channel
    assert "HANGUP" not in fake.commands


def test_hangup_reply_511_while_collecting() -> None:
    fake = FakeAsterisk(
        [], special=lambda c: ["511 Command Not Permitted"] if c.startswith("WAIT") else None
    )

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-511")
        return lab

    (record,) = run(scenario()).records
    assert record["outcome"]["kind"] == "abandoned"


def test_garbage_reply_is_an_error_record_and_the_server_goes_on() -> None:
    bad = FakeAsterisk(
        [], special=lambda c: ["this is not AGI"] if c.startswith("STREAM FILE") else None
    )
    good = FakeAsterisk(["0"])

    async def scenario() -> Lab:
        async with Lab() as lab:
            await bad.call(lab.server.port, "call-bad")
            await good.call(lab.server.port, "call-good")
        return lab

    lab = run(scenario())
    by_id = {r["call_id"]: r for r in lab.records}
    assert by_id["call-bad"]["outcome"]["kind"] == "error"
    assert "gateway" in by_id["call-bad"]["outcome"]["reason"]
    assert bad.closed_by_server
    assert by_id["call-good"]["outcome"]["kind"] == "transferred"


def test_unknown_command_510_is_an_error_record() -> None:
    fake = FakeAsterisk(
        [], special=lambda c: ["510 Invalid or unknown command"] if c.startswith("WAIT") else None
    )

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-510")
        return lab

    (record,) = run(scenario()).records
    assert record["outcome"]["kind"] == "error"


def test_query_arguments_and_withheld_caller() -> None:
    fake = FakeAsterisk([])

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-en", script="billing?lang=en-US", ani="unknown")
        return lab

    (record,) = run(scenario()).records
    assert record["language"] == "en-US"
    assert record["ani"] is None
    assert any("Hello! You've reached" in c for c in sent(fake, "VERBOSE"))


def test_unknown_flow_sets_outcome_and_closes() -> None:
    fake = FakeAsterisk([])

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-x", script="nosuchflow")
        return lab

    lab = run(scenario())
    assert lab.records == []
    assert fake.commands == [
        'SET VARIABLE "IVRFLOW_OUTCOME" "error"',
        'SET VARIABLE "IVRFLOW_REASON" "no flow"',
    ]
    assert fake.closed_by_server


def test_concurrent_calls() -> None:
    fakes = [FakeAsterisk(["2", "79927398713", "1", "2", "2"]) for _ in range(8)]

    async def scenario() -> Lab:
        async with Lab() as lab:
            await asyncio.gather(
                *(f.call(lab.server.port, f"call-c{n}") for n, f in enumerate(fakes))
            )
        return lab

    lab = run(scenario())
    assert sorted(r["call_id"] for r in lab.records) == sorted(f"call-c{n}" for n in range(8))
    assert {r["outcome"]["kind"] for r in lab.records} == {"self_served"}


def test_close_cuts_calls_in_flight_after_the_deadline() -> None:
    async def scenario() -> Lab:
        lab = Lab()
        await lab.server.start("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", lab.server.port)
        writer.write(env_block("call-slow"))
        await writer.drain()
        await reader.readline()  # the first command: never answered
        await lab.server.close(deadline=0.2)
        assert await reader.read() == b""  # the server closed the socket
        writer.close()
        return lab

    (record,) = run(scenario()).records
    assert record["call_id"] == "call-slow"
    assert record["outcome"]["kind"] == "abandoned"


def test_recorded_prompt_is_streamed_from_the_sounds_dir(tmp_path: Path) -> None:
    from ivrflow.model.inventory import recorded_name

    name = recorded_name("Olá! Você ligou para o faturamento da ACME Energia.")
    (tmp_path / "recorded" / "pt-BR").mkdir(parents=True)
    (tmp_path / "recorded" / "pt-BR" / f"{name}.wav").write_bytes(b"RIFF")
    fake = FakeAsterisk([])

    async def scenario() -> Lab:
        async with Lab(sounds_dir=tmp_path, asterisk_sounds_dir="/ast/sounds", render=False) as lab:
            await fake.call(lab.server.port, "call-snd")
        return lab

    run(scenario())
    streams = sent(fake, "STREAM FILE")
    assert streams[0] == f'STREAM FILE "/ast/sounds/recorded/pt-BR/{name}" "0123456789*#"'
    assert streams[1] == 'STREAM FILE "beep" "0123456789*#"'  # not rendered: the fallback


def test_cli_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    import os
    import re
    import signal
    import subprocess
    import sys

    records = tmp_path / "records.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivrflow", "serve", "agi", "--listen", "127.0.0.1:0",
         "--records", str(records), "--fixtures", str(FLOWS / "fixtures" / "billing.yaml"),
         "--shutdown-deadline", "2", str(FLOWS)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        m = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert m, line
        fake = FakeAsterisk(
            [], special=lambda c: ["HANGUP", "200 result=-1"] if c.startswith("STREAM") else None
        )
        run(fake.call(int(m.group(1)), "call-cli"))
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=LIMIT) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=LIMIT)
    from ivrflow.host.sinks import read_records

    (record,) = read_records(records)
    assert record["call_id"] == "call-cli" and record["outcome"]["kind"] == "abandoned"


DIALER = """\
flow dialer "Dial test"
  language en-US

start:
  -> out

transfer out:
  number "+15551234567"
  busy:
    hangup "busy"
  noanswer:
    hangup "noanswer"
  failed:
    hangup "failed"
"""


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        ("ANSWER", {"kind": "transferred", "number": "+15551234567"}),
        ("BUSY", {"kind": "self_served", "reason": "busy"}),
        ("NOANSWER", {"kind": "self_served", "reason": "noanswer"}),
        ("CHANUNAVAIL", {"kind": "self_served", "reason": "failed"}),
    ],
)
def test_number_transfer_dialstatus(tmp_path: Path, status: str, outcome: dict[str, str]) -> None:
    (tmp_path / "dialer.ivr").write_text(DIALER, encoding="utf-8")

    def special(cmd: str) -> list[str] | None:
        if cmd == 'GET VARIABLE "DIALSTATUS"':
            return [f"200 result=1 ({status})"]
        return None

    fake = FakeAsterisk([], special=special)

    async def scenario() -> Lab:
        dial = DialTemplates.parse(["PJSIP/{number}@trunk"])
        async with Lab(flows_dir=tmp_path, dial=dial) as lab:
            await fake.call(lab.server.port, "call-dial", script="dialer")
        return lab

    (record,) = run(scenario()).records
    assert 'EXEC Dial "PJSIP/+15551234567@trunk"' in fake.commands
    assert record["outcome"] == outcome


TYPED_DIALER = """\
flow typed "Typed destinations"
  language en-US

start:
  -> out

transfer out:
  {setting}
  failed:
    hangup "failed"
"""


@pytest.mark.parametrize(
    ("setting", "templates", "dial", "outcome"),
    [
        (
            'sip "sip:888@conference.example.org"\n  postdial "ww4321#"',
            ["sip=PJSIP/trunk/{uri}"],
            "PJSIP/trunk/sip:888@conference.example.org,,D(ww4321#)",
            {"sip": "sip:888@conference.example.org"},
        ),
        ('extension "1234@sales"', [], "Local/1234@sales", {"extension": "1234@sales"}),
        ('extension "1234"', [], "Local/1234@ivr", {"extension": "1234"}),  # the call's context
        (
            'number "+15551234567"\n  postdial "w1"',
            ["number=PJSIP/{number}@trunk,30,tT"],
            "PJSIP/+15551234567@trunk,30,tTD(w1)",
            {"number": "+15551234567"},
        ),
    ],
)
def test_each_destination_kind_dials_through_its_template(
    tmp_path: Path, setting: str, templates: list[str], dial: str, outcome: dict[str, str]
) -> None:
    (tmp_path / "typed.ivr").write_text(TYPED_DIALER.format(setting=setting), encoding="utf-8")

    def special(cmd: str) -> list[str] | None:
        if cmd == 'GET VARIABLE "DIALSTATUS"':
            return ["200 result=1 (ANSWER)"]
        return None

    fake = FakeAsterisk([], special=special)

    async def scenario() -> Lab:
        async with Lab(flows_dir=tmp_path, dial=DialTemplates.parse(templates)) as lab:
            await fake.call(lab.server.port, "call-typed", script="typed")
        return lab

    (record,) = run(scenario()).records
    assert f'EXEC Dial "{dial}"' in fake.commands
    assert record["outcome"] == {"kind": "transferred", **outcome}
    (kind,) = outcome
    assert f'SET VARIABLE "IVRFLOW_{kind.upper()}" "{outcome[kind]}"' in fake.commands


def test_a_sip_transfer_without_a_template_takes_the_failed_branch(tmp_path: Path) -> None:
    (tmp_path / "typed.ivr").write_text(
        TYPED_DIALER.format(setting='sip "sip:alice@example.com"'), encoding="utf-8"
    )
    fake = FakeAsterisk([])

    async def scenario() -> Lab:
        async with Lab(flows_dir=tmp_path) as lab:
            await fake.call(lab.server.port, "call-nosip", script="typed")
        return lab

    (record,) = run(scenario()).records
    assert not any(c.startswith("EXEC Dial") for c in fake.commands)
    assert record["outcome"] == {"kind": "self_served", "reason": "failed"}
    assert record["errors"] == [
        "transfer failed: no dial template for sip destinations (serve agi --dial sip=…)"
    ]


@pytest.mark.parametrize(
    "value", ["sip=PJSIP/{number}", "number=PJSIP/{uri}", "extension=", "sip=PJSIP/{uri"]
)
def test_a_bad_dial_template_is_refused(value: str) -> None:
    with pytest.raises(DialTemplateError):
        DialTemplates.parse([value])


@pytest.mark.parametrize(
    ("member", "hold", "leg"),
    [
        ("", None, "abandoned"),  # issue 13: abandoned in the queue, not in the IVR
        ("PJSIP/agent1", "12", "answered"),
        ("PJSIP/agent1", None, "failed"),  # an answer without its hold time: the leg says so
    ],
)
def test_caller_hangs_up_in_the_queue(member: str, hold: str | None, leg: str) -> None:
    def special(cmd: str) -> list[str] | None:
        if cmd.startswith("EXEC Queue"):
            return ["HANGUP", "200 result=-1"]
        if cmd == 'GET VARIABLE "MEMBERINTERFACE"':
            return [f"200 result=1 ({member})"] if member else ["200 result=0"]
        if cmd == 'GET VARIABLE "QEHOLDTIME"':
            return [f"200 result=1 ({hold})"] if hold else ["200 result=0"]
        return None

    fake = FakeAsterisk(["0"], special=special)

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-qh")
        return lab

    (record,) = run(scenario()).records
    assert record["outcome"] == {"kind": "transferred", "queue": "billing"}
    assert record["queue"]["outcome"] == leg
    if hold:
        assert record["queue"]["wait"] == 12.0
    assert not any(c.startswith(("SET VARIABLE", "HANGUP")) for c in fake.commands[-3:])


@pytest.mark.parametrize(
    ("status", "leg", "wait"),
    [("TIMEOUT", "timeout", 0.0), ("FULL", "full", 0.0), ("JOINEMPTY", "full", 0.0)],
)
def test_queuestatus_becomes_the_leg(status: str, leg: str, wait: float) -> None:
    fake = FakeAsterisk(["0"], queuestatus=status)

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-qs")
        return lab

    record = run(scenario()).records[0]
    assert (record["queue"]["outcome"], record["queue"]["wait"]) == (leg, wait)
    assert record["queue"]["detail"] == status


def test_a_key_to_the_exit_context_leaves_for_a_callback() -> None:
    def special(cmd: str) -> list[str] | None:
        if cmd == 'GET VARIABLE "CONTEXT"':
            return ["200 result=1 (ivrflow-queue-exit)"]
        if cmd == 'GET VARIABLE "EXTEN"':
            return ["200 result=1 (1)"]
        return None

    fake = FakeAsterisk(["0"], special=special)

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-qk")
        return lab

    record = run(scenario()).records[0]
    assert record["queue"]["outcome"] == "left_for_callback"
    assert record["queue"]["detail"] == "key 1"


def test_barge_in_starts_a_multi_digit_entry() -> None:
    # The caller types the contract over its prompt: the first key interrupts STREAM FILE,
    # GET DATA collects the rest; the call goes on (and is not cut as a partial entry).
    def special(cmd: str) -> list[str] | None:
        last = fake.commands[-2] if len(fake.commands) > 1 else ""
        if cmd.startswith("STREAM FILE") and "Digite o número do contrato" in last:
            return [f"200 result={ord('7')} endpos=800"]
        if cmd.startswith("GET DATA"):
            assert cmd == 'GET DATA "" 4000 11'
            return ["200 result=9927398713"]
        return None

    fake = FakeAsterisk(["2", "1", "2", "2"], special=special)

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-bi")
        return lab

    (record,) = run(scenario()).records
    assert [i["value"] for i in record["inputs"]][:3] == ["2", "79927398713", "1"]
    assert record["outcome"]["kind"] == "self_served"
    i = next(n for n, c in enumerate(fake.commands) if "Digite o número" in c)
    assert fake.commands[i + 2].startswith("GET DATA")  # no WAIT FOR DIGIT in between


def test_barge_in_on_a_prompt_before_a_lookup_is_type_ahead() -> None:
    def special(cmd: str) -> list[str] | None:
        last = fake.commands[-2] if len(fake.commands) > 1 else ""
        if cmd.startswith("STREAM FILE") and "Um momento" in last:
            return [f"200 result={ord('2')} endpos=100"]  # presses 2 (sms) ahead of the menu
        return None

    fake = FakeAsterisk(["2", "79927398713", "1", "2"], special=special)

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-ta")
        return lab

    (record,) = run(scenario()).records
    assert record["outcome"]["kind"] == "self_served"
    assert [i["value"] for i in record["inputs"]] == ["2", "79927398713", "1", "2", "2"]


def test_text_prompts_rendered_once_with_espeak_and_sox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.log"
    # Stand-ins: espeak-ng writes its -w file, sox copies its input to its last argument.
    (bin_dir / "espeak-ng").write_text(
        f'#!/bin/sh\necho "espeak $2" >> {log}\nprintf RIFF > "$4"\n', encoding="utf-8"
    )
    (bin_dir / "sox").write_text(
        f'#!/bin/sh\necho sox >> {log}\nfor a; do last="$a"; done\ncp "$1" "$last"\n',
        encoding="utf-8",
    )
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    sounds = tmp_path / "sounds"
    fakes = [FakeAsterisk([]), FakeAsterisk([])]

    async def scenario() -> Lab:
        async with Lab(sounds_dir=sounds) as lab:
            for n, fake in enumerate(fakes):
                await fake.call(lab.server.port, f"call-r{n}")
        return lab

    run(scenario())
    first = sent(fakes[0], "STREAM FILE")[0]
    assert first.startswith(f'STREAM FILE "{sounds.resolve()}/cache/ivrflow-')
    assert sent(fakes[1], "STREAM FILE")[0] == first  # the same file, from the cache
    wavs = sorted(p.name for p in (sounds / "cache").iterdir())
    assert all(w.endswith(".wav") and w.startswith("ivrflow-") for w in wavs)
    assert log.read_text().count("espeak pt-br") == len(wavs)  # rendered once each


def test_malformed_reply_in_a_secure_entry_does_not_leak_the_digits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def special(cmd: str) -> list[str] | None:
        if cmd == 'GET DATA "" 5000 15':  # the card number: 16 digits, interdigit 5s
            return ["200 result=411111111111111 garbage"]
        return None

    fake = FakeAsterisk(["3", "79927398713", "1", "4"], special=special)

    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, "call-sec")
        return lab

    (record,) = run(scenario()).records
    assert record["outcome"]["kind"] == "error"
    assert "secure" in record["outcome"]["reason"]
    assert "41111" not in repr(record) and "41111" not in caplog.text


def test_hangup_notice_between_commands() -> None:
    def special(cmd: str) -> list[str] | None:
        if cmd.startswith("STREAM FILE"):
            return ["200 result=0 endpos=8000", "HANGUP"]  # the reply, then the caller leaves
        if not cmd.startswith("VERBOSE"):
            return ["511 Command Not Permitted on a dead channel"]
        return None

    fake = FakeAsterisk(["1"], special=special)

    async def scenario() -> Lab:
        async with Lab(hangup_grace=0.3) as lab:
            await fake.call(lab.server.port, "call-hb")
        return lab

    (record,) = run(scenario()).records
    assert record["outcome"]["kind"] == "abandoned"
    assert len(sent(fake, "STREAM FILE")) == 1


def test_a_command_never_answered_ends_the_call_as_error_after_the_reply_timeout() -> None:
    # The second command is never answered: the timer armed for the first reply (and moved
    # for the next wait) must still fire, end the call with a record and close the socket.
    fake = FakeAsterisk([], special=lambda c: [] if c.startswith("STREAM") else None)

    async def scenario() -> Lab:
        async with Lab(reply_timeout=0.3) as lab:
            await fake.call(lab.server.port, "call-mute")
        return lab

    (record,) = run(scenario()).records
    assert record["outcome"]["kind"] == "error"
    assert fake.closed_by_server


def test_a_shorter_wait_after_a_longer_one_still_times_out_on_time() -> None:
    # reply_timeout is long, hangup_grace short: after a HANGUP notice the pending reply never
    # comes; the armed (long) timer must be moved earlier, or the call would hang for minutes.
    fake = FakeAsterisk([], special=lambda c: ["HANGUP"] if c.startswith("STREAM") else None)

    async def scenario() -> Lab:
        async with Lab(reply_timeout=60.0, hangup_grace=0.3) as lab:
            await asyncio.wait_for(fake.call(lab.server.port, "call-grace"), 5.0)
        return lab

    (record,) = run(scenario()).records
    assert record["outcome"]["kind"] == "abandoned"


def test_a_peer_that_never_sends_the_environment_is_dropped() -> None:
    async def scenario() -> Lab:
        async with Lab(env_timeout=0.3) as lab:
            reader, writer = await asyncio.open_connection("127.0.0.1", lab.server.port)
            assert await asyncio.wait_for(reader.read(), 5.0) == b""  # closed by the server
            writer.close()
        return lab

    assert run(scenario()).records == []  # no call started: no record


def test_serve_agi_refuses_a_bad_dial_template(capsys: pytest.CaptureFixture[str]) -> None:
    from ivrflow.cli import main

    code = main(["serve", "agi", "--dial", "sip=PJSIP/{number}", str(FLOWS)])
    assert code == 2
    assert "a sip template may use {host}, {uri}, {user}" in capsys.readouterr().err
