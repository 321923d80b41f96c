"""Callbacks that call back, through the lab Asterisk (issue 14): a stored request → one
dispatcher pass → the AMI dialer's Originate → the customer's phone (a SIPp UAS) → the outbound
flow (flows/callback_invoice.ivr) over `ivrflow serve agi` → the queue → the agent's phone.
The attempt's outcome comes from the outbound call's end (answered) or from Asterisk's
OriginateResponse (busy, no answer), each asserted in the store and on Asterisk's log.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from asterisk_lab import (
    OK_TO_REQUEST,
    Call,
    Lab,
    agent_phone,
    answer,
    asterisk,
    free_port,
    pcap,
    phone,
    sipp_ok,
    sipp_report,
    talk_then_hang_up,
    uas_response,
)
from speech_audio import RATE, espeak_pcm, write_pcap
from test_asterisk_lab import (
    NOT_SERVING,
    ROOT,
    Server,
    office_always_open,
    serve_available,
    serving,
)

from ivrflow.host.callback_lifecycle import Entry, LifecycleStore
from ivrflow.host.callback_rules import RetryPolicy
from ivrflow.host.callbacks import CallbackRequest, SQLiteCallbackStore
from ivrflow.host.dispatcher import Dispatcher
from ivrflow.host.gateways.ami_dialer import AmiDialer
from ivrflow.host.gateways.prompt_audio import sound_key

pytestmark = pytest.mark.asterisk
__all__ = ["asterisk"]  # the fixture, used by name

AMI_PORT = int(os.environ.get("IVRFLOW_ASTERISK_AMI_PORT", "5038"))
AMI_SECRET = os.environ.get("IVRFLOW_ASTERISK_AMI_SECRET", "ivrflow-lab")
RING_TIMEOUT = 5  # seconds the dialer lets the customer's phone ring
SOUNDS = "/var/lib/asterisk/sounds/ivrflow-callbacks"  # as Asterisk sees it, in the chroot

# The inbound call: all agents busy, the caller takes the callback with 1 (number: the ANI).
INBOUND = """\
flow callback_lab "Callback lab: the inbound offer"
  language en-US
queue billing "Lab billing"
start:
  -> offer
callback offer:
  queue billing
  accept 1
  decline 2
  say "All agents are busy. To be called back, press 1."
  scheduled:
    say "Thank you. We will call you back."
    hangup "callback_scheduled"
  declined -> bye
  noinput 1: say "Please press 1."
  exhausted -> bye
step bye:
  say "Goodbye."
  hangup "no callback"
"""
GREETING = (
    "Hello, this is ACME returning your call about your invoice. To speak to an agent now, "
    "press 1. To be called later, press 2."
)


def played(text: str, log: str) -> bool:
    """Whether Asterisk's log shows the rendered sound of `text` (en-US) being played."""
    return sound_key(text, "en-US", None) in log


def answering(key: str, talk_ms: int) -> str:
    """Rings 1 s, answers, presses `key` (RFC 2833) 3 s into the greeting, talks, hangs up."""
    return (
        answer(1000, hangs_up=True)
        + '  <pause milliseconds="3000"/>\n'
        + f'  <nop><action><exec play_pcap_audio="{pcap(key)}"/></action></nop>\n'
        + talk_then_hang_up(talk_ms)
    )


RINGING = '  <recv request="INVITE" crlf="true"/>\n'  # a phone that never answers keeps nothing
BUSY = RINGING + uas_response("486 Busy Here") + '  <recv request="ACK"/>\n'
# Rings until Asterisk gives up: CANCEL, then the INVITE ends 487 (the CANCEL's Via, From and
# To are the INVITE's; its CSeq method is not).
NO_ANSWER = (
    '  <recv request="INVITE" crlf="true">\n'
    '    <action><ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" assign_to="cseq"/></action>\n'
    "  </recv>\n"
    + uas_response("180 Ringing")
    + '  <recv request="CANCEL"/>\n'
    + OK_TO_REQUEST
    + uas_response("487 Request Terminated").replace("[last_CSeq:]", "CSeq: [$cseq] INVITE")
    + '  <recv request="ACK"/>\n'
)


@dataclass
class Callbacks:
    store: LifecycleStore
    server: Server
    lab: Lab
    db: Path

    def request(self, number: str) -> str:
        """A new request, the only open one: what earlier tests left for a retry is cancelled,
        so each dispatcher pass claims this test's request alone."""
        self.cancel_open()
        call_id = f"inbound-{uuid.uuid4().hex[:12]}"
        self.store.store(
            CallbackRequest(call_id, number, "billing", number, None, time.time(), "billing")
        )
        return call_id

    def cancel_open(self) -> None:
        for entry in self.store.entries(state="pending"):
            self.store.cancel(entry.request.call_id)

    def record(self, call_id: str | None, timeout: float = 10) -> dict[str, Any]:
        """The one record of the outbound call (its call id is the originated channel's)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in self.server.all_records() if r.get("call_id") == call_id]
            if found:
                assert len(found) == 1, found
                return found[0]
            if time.monotonic() > deadline:
                pytest.fail(f"no record of call {call_id}\n{self.server.tail()}")
            time.sleep(0.2)

    def ring(
        self,
        call_id: str,
        name: str,
        body: str,
        *,
        agent: bool = True,
        port: int | None = None,
        **options: Any,
    ) -> Entry:
        """The customer's phone (a SIPp UAS playing `body`, on `port` or a free one) and, when
        `agent`, the agent's; one dispatcher pass; both phones ended well."""
        port = port or free_port()
        agents = agent_phone(self.lab.tmp) if agent else None
        customer = phone(self.lab.tmp, name, body, port)
        try:
            entry = self.dial_once(call_id, port, **options)
        finally:
            out, _ = customer.communicate(timeout=60)
            if agents is not None:
                agents.wait(60)
        assert customer.returncode == 0, out[-3000:]
        return entry

    def dial_once(
        self,
        call_id: str,
        customer_port: int,
        timeout: float = 60,
        store: LifecycleStore | None = None,
        **options: Any,
    ) -> Entry:
        """One dispatcher pass through the AMI dialer; the request once its attempt ended.
        `store`: the one whose retry policy records a failed ring (default: the module's)."""
        store = store or self.store
        options.setdefault("machine_detection", False)  # AMD's own tests turn it on
        dialer = AmiDialer(
            host="127.0.0.1",
            port=AMI_PORT,
            username="ivrflow",
            secret=AMI_SECRET,
            channel=f"PJSIP/customer/sip:{{number}}@127.0.0.1:{customer_port}",
            flow="callback_invoice",
            store=store,
            caller_id="+551140040000",
            ring_timeout=RING_TIMEOUT,
            **options,
        )

        async def run() -> Entry:
            dispatcher = Dispatcher(store, dialer, owner="lab")
            try:
                assert await dispatcher.run_once() == 1
                await dispatcher.drain()
                assert dispatcher.stats.placed == 1, dispatcher.stats
                deadline = time.monotonic() + timeout
                while True:
                    entry = store.entry(call_id)
                    assert entry is not None
                    if entry.history and entry.history[-1].outcome:
                        return entry
                    if time.monotonic() > deadline:
                        pytest.fail(f"attempt never ended: {entry}\n{self.server.tail()}")
                    await asyncio.sleep(0.3)
            finally:
                await dialer.close()

        return asyncio.run(run())


@pytest.fixture(scope="module")
def callbacks(asterisk: Lab) -> Iterator[Callbacks]:
    if not serve_available():
        pytest.skip(NOT_SERVING)
    work = asterisk.tmp / "callback-serve"
    flows = work / "flows"
    shutil.copytree(ROOT / "flows", flows)
    office_always_open(flows, ("callback_window",))  # the dispatcher may ring at any hour
    outbound = flows / "callback_invoice.ivr"  # its queue: the lab's, whose agent answers
    outbound.write_text(
        outbound.read_text(encoding="utf-8").replace("queue billing", "queue lab_answered"),
        encoding="utf-8",
    )
    (flows / "callback_lab.ivr").write_text(INBOUND, encoding="utf-8")
    db = work / "callbacks.db"
    store = SQLiteCallbackStore(str(db), policy=RetryPolicy(retry_delay=60, max_attempts=3))
    # Prompts rendered to sound files inside the chroot, so Asterisk's log names each one played.
    sounds = asterisk.root / SOUNDS.lstrip("/")
    sounds.mkdir(parents=True, exist_ok=True)
    with serving(asterisk, work, flows, "--callbacks", str(db), "--retry-delay", "60",
                 "--queue-options", ",,,20", "--sounds-dir", str(sounds),
                 "--asterisk-sounds-dir", SOUNDS) as srv:  # fmt: skip
        yield Callbacks(store, srv, asterisk, db)


def test_answered_the_outbound_flow_reaches_the_agent(callbacks: Callbacks) -> None:
    call_id = callbacks.request("+5511944440001")
    offset = callbacks.lab.log_size()
    entry = callbacks.ring(call_id, "answers", answering("1", talk_ms=8000))
    attempt = entry.history[-1]
    assert (entry.state, attempt.outcome) == ("completed", "answered"), entry
    assert attempt.reference == f"ivrflow-cb-{call_id}_1", attempt
    # The outbound call's record: the flow ran on the channel Asterisk originated.
    record = callbacks.record(attempt.reference)
    assert record["flow"] == "callback_invoice", record
    assert record["outcome"] == {"kind": "transferred", "queue": "lab_answered"}, record
    assert record["queue"]["outcome"] == "answered", record
    log = callbacks.lab.log_since(offset)
    assert f"ivrflow callback: {call_id}~1 answered" in log, log[-3000:]
    assert "PJSIP/agent" in log, log[-3000:]


def test_busy_leaves_the_request_for_a_retry(callbacks: Callbacks) -> None:
    call_id = callbacks.request("+5511944440002")
    entry = callbacks.ring(call_id, "busy", BUSY, agent=False)
    assert (entry.state, entry.history[-1].outcome) == ("pending", "busy"), entry
    assert "cause 17" in (entry.history[-1].detail or ""), entry  # Q.850 user busy
    assert entry.due_at is not None and entry.due_at > time.time() + 30, entry


def test_no_answer_rings_out(callbacks: Callbacks) -> None:
    call_id = callbacks.request("+5511944440003")
    started = time.monotonic()
    entry = callbacks.ring(call_id, "rings", NO_ANSWER, agent=False)
    assert (entry.state, entry.history[-1].outcome) == ("pending", "no_answer"), entry
    assert "reason 3" in (entry.history[-1].detail or ""), entry  # it was ringing
    assert time.monotonic() - started >= RING_TIMEOUT - 1  # it rang out, not refused


def test_the_whole_chain_from_an_inbound_offer_to_the_agent(callbacks: Callbacks) -> None:
    """The issue's "done when": an inbound call accepts the callback (key 1) → the gateway
    stores the request → the dispatcher's Originate rings the customer → the outbound flow
    plays → the customer presses 1 → the agent's phone answers. One record per call."""
    ani = "+5511944440010"
    callbacks.cancel_open()
    offset = callbacks.lab.log_size()
    inbound = Call("flow-callback_lab", ani, hold_ms=15000).wait(1500).rfc2833("1")
    proc = inbound.place(callbacks.lab.tmp)
    assert sipp_ok(proc), sipp_report(proc)
    first = callbacks.server.record(ani)
    assert first["outcome"]["kind"] == "callback_scheduled", first
    entry = callbacks.store.entry(first["call_id"])
    assert entry is not None and entry.state == "pending", entry
    assert (entry.request.number, entry.request.queue) == (ani, "billing"), entry

    entry = callbacks.ring(first["call_id"], "chain", answering("1", talk_ms=8000))
    assert entry.state == "completed", entry
    assert [a.outcome for a in entry.history] == ["answered"], entry
    outbound = callbacks.record(entry.history[0].reference)
    assert outbound["flow"] == "callback_invoice", outbound
    assert (outbound["ani"], outbound["dnis"]) == ("+551140040000", ani), outbound
    assert outbound["outcome"] == {"kind": "transferred", "queue": "lab_answered"}, outbound
    assert outbound["queue"]["outcome"] == "answered", outbound
    # Every record once: the inbound call's and the outbound call's, nothing else from them.
    mine = [r for r in callbacks.server.all_records()
            if r["call_id"] in (first["call_id"], outbound["call_id"])]  # fmt: skip
    assert len(mine) == 2, mine
    log = callbacks.lab.log_since(offset)
    for text in ("All agents are busy. To be called back, press 1.",
                 "Thank you. We will call you back.", GREETING):  # fmt: skip
        assert played(text, log), (text, log[-4000:])
    assert "PJSIP/agent" in log, log[-3000:]


def test_a_busy_customer_is_called_again_after_the_retry_delay(callbacks: Callbacks) -> None:
    """First attempt 486 Busy, the retry after a short delay answered: completed, 2 attempts."""
    quick = SQLiteCallbackStore(
        str(callbacks.db), policy=RetryPolicy(retry_delay=2, max_attempts=3)
    )
    call_id = callbacks.request("+5511944440011")
    entry = callbacks.ring(call_id, "busy-first", BUSY, agent=False, store=quick)
    assert (entry.state, entry.history[-1].outcome) == ("pending", "busy"), entry
    assert entry.due_at is not None and entry.due_at <= time.time() + 2.5, entry
    time.sleep(max(0.0, entry.due_at - time.time()) + 0.2)
    entry = callbacks.ring(call_id, "answers-second", answering("1", talk_ms=8000), store=quick)
    assert entry.state == "completed", entry
    assert [a.outcome for a in entry.history] == ["busy", "answered"], entry
    assert entry.history[1].started_at - entry.history[0].started_at >= 2, entry
    callbacks.record(entry.history[1].reference)  # the answered attempt's one record
    quick.close()


# ---------------------------------------------------------------- answering-machine detection


def spoken(workdir: Path, name: str, text: str, lead_ms: int, then_ms: int) -> Path:
    """A pcap of `text` between silences: AMD hears the phone's RTP all along (no audio at
    all would be AMD's HANGUP, not silence)."""
    silence = bytes(RATE * 2 * lead_ms // 1000), bytes(RATE * 2 * then_ms // 1000)
    return write_pcap(silence[0] + espeak_pcm(text) + silence[1], workdir / f"{name}.pcap")


def test_a_machine_greeting_is_recorded_machine_and_gets_a_message(callbacks: Callbacks) -> None:
    """A recorded greeting (seconds of speech) → AMD MACHINE → the dialplan waits for its end,
    leaves the message, reports `machine`: no flow ran, the request is retried later."""
    tmp = callbacks.lab.tmp
    greeting = spoken(tmp, "voicemail", "Hello, you have reached the voicemail of Maria Silva. "
                      "I cannot take your call right now. Please leave a message after the tone.",
                      lead_ms=300, then_ms=6000)  # fmt: skip
    call_id = callbacks.request("+5511944440020")
    offset = callbacks.lab.log_size()
    body = (
        answer(500)
        + f'  <nop><action><exec play_pcap_audio="{greeting}"/></action></nop>\n'
        + '  <recv request="BYE" timeout="40000"/>\n'
        + OK_TO_REQUEST
    )
    entry = callbacks.ring(call_id, "voicemail", body, agent=False, machine_detection=True,
                           machine_message="vm-goodbye")  # fmt: skip
    attempt = entry.history[-1]
    assert (entry.state, attempt.outcome) == ("pending", "machine"), entry
    assert "AMD" in (attempt.detail or "") and "message left" in (attempt.detail or ""), entry
    assert entry.due_at is not None and entry.due_at > time.time() + 30, entry  # retried later
    log = callbacks.lab.log_since(offset)
    assert f"ivrflow callback: {call_id}~1 AMD MACHINE" in log, log[-3000:]
    assert f"ivrflow callback: {call_id}~1 left vm-goodbye" in log, log[-3000:]
    time.sleep(1)
    assert not [r for r in callbacks.server.all_records() if r["call_id"] == attempt.reference]


def test_a_person_saying_hello_is_human_and_the_flow_runs(callbacks: Callbacks) -> None:
    """A live "Hello?" then silence → AMD HUMAN → the outbound flow → key 1 → the agent."""
    tmp = callbacks.lab.tmp
    hello = spoken(tmp, "hello", "Hello?", lead_ms=300, then_ms=2500)
    call_id = callbacks.request("+5511944440021")
    offset = callbacks.lab.log_size()
    body = (
        answer(500, hangs_up=True)
        + f'  <nop><action><exec play_pcap_audio="{hello}"/></action></nop>\n'
        + '  <pause milliseconds="5000"/>\n'
        + f'  <nop><action><exec play_pcap_audio="{pcap("1")}"/></action></nop>\n'
        + talk_then_hang_up(8000)
    )
    entry = callbacks.ring(call_id, "hello", body, machine_detection=True)
    log = callbacks.lab.log_since(offset)
    assert f"ivrflow callback: {call_id}~1 AMD HUMAN" in log, log[-3000:]
    assert (entry.state, entry.history[-1].outcome) == ("completed", "answered"), entry
    record = callbacks.record(entry.history[-1].reference)
    assert record["outcome"] == {"kind": "transferred", "queue": "lab_answered"}, record


# ---------------------------------------------------------------- Asterisk's AMI down


def test_the_ami_down_places_nothing_and_the_request_is_dialled_once_it_is_back(
    callbacks: Callbacks,
) -> None:
    """AMI switched off (manager.conf `enabled = no`, `manager reload`): the dispatcher's
    pass places nothing, releases the claim (no attempt counted, as documented: an outage
    does not use up the customer's attempts) and notes why; AMI back, the next pass after the
    retry delay dials it once and it completes."""
    quick = SQLiteCallbackStore(
        str(callbacks.db), policy=RetryPolicy(retry_delay=2, max_attempts=3)
    )
    conf = callbacks.lab.root / "etc" / "asterisk" / "manager.conf"
    text = conf.read_text(encoding="utf-8")
    call_id = callbacks.request("+5511944440030")
    dialer = AmiDialer(host="127.0.0.1", port=AMI_PORT, username="ivrflow", secret=AMI_SECRET,
                       channel="PJSIP/customer/sip:{number}@127.0.0.1:9", flow="callback_invoice",
                       store=quick, request_timeout=3)  # fmt: skip

    async def one_pass() -> Dispatcher:
        dispatcher = Dispatcher(quick, dialer, owner="lab")
        try:
            assert await dispatcher.run_once() == 1
            await dispatcher.drain()
        finally:
            await dialer.close()
        return dispatcher

    conf.write_text(text.replace("enabled = yes", "enabled = no"), encoding="utf-8")
    try:
        callbacks.lab.cli("manager reload")
        deadline = time.monotonic() + 10
        while True:  # the listener is gone once the reload is through
            try:
                socket.create_connection(("127.0.0.1", AMI_PORT), timeout=1).close()
            except OSError:
                break
            assert time.monotonic() < deadline, "AMI still listening after enabled = no"
            time.sleep(0.2)
        down = asyncio.run(one_pass())
    finally:
        conf.write_text(text, encoding="utf-8")
        callbacks.lab.cli("manager reload")
    assert (down.stats.placed, down.stats.released) == (0, 1), down.stats
    entry = quick.entry(call_id)
    assert entry is not None and (entry.state, entry.attempts, entry.history) == (
        "pending", 0, (),
    ), entry  # fmt: skip
    assert "not placed" in (entry.last_outcome or ""), entry
    assert entry.due_at is not None
    time.sleep(max(0.0, entry.due_at - time.time()) + 0.2)
    entry = callbacks.ring(call_id, "after-ami", answering("1", talk_ms=8000), store=quick)
    assert entry.state == "completed", entry
    assert [a.outcome for a in entry.history] == ["answered"], entry  # dialled once, in all
    quick.close()


# ---------------------------------------------------------------- agent first


def test_agent_first_reaches_the_agent_then_rings_the_customer(callbacks: Callbacks) -> None:
    """Agent first: the attempt waits in the queue until the agent's phone answers, the agent
    hears the whisper, then the customer is rung and bridged straight to the agent."""
    call_id = callbacks.request("+5511944440040")
    offset = callbacks.lab.log_size()
    entry = callbacks.ring(
        call_id,
        "agent-first",
        answer(1000, hangs_up=True) + talk_then_hang_up(4000),
        agent_first="lab_answered",
        whisper="beep",
    )
    attempt = entry.history[-1]
    assert (entry.state, attempt.outcome) == ("completed", "answered"), entry
    assert attempt.detail == "agent first DIALSTATUS ANSWER", entry
    log = callbacks.lab.log_since(offset)
    waiting = log.index(f"ivrflow callback: {call_id}~1 waiting for an agent in lab_answered")
    ready = log.index(f"ivrflow callback: {call_id}~1 agent ready")
    rung = log.index("Called PJSIP/customer/sip:+5511944440040")
    assert waiting < ready < rung, log[-4000:]  # the agent first, then the customer
    assert "Playing 'beep" in log[ready:rung], log[ready:rung]  # the agent's whisper
    time.sleep(1)  # no flow ran: no call record for the attempt
    assert not [r for r in callbacks.server.all_records() if r["call_id"] == attempt.reference]


def test_agent_first_with_no_agent_never_rings_the_customer(callbacks: Callbacks) -> None:
    """Nobody answers in the queue within the wait: the customer is never rung, the claim is
    released (no attempt counted), due again after the retry delay."""
    call_id = callbacks.request("+5511944440041")
    quick = SQLiteCallbackStore(str(callbacks.db), policy=RetryPolicy(retry_delay=60))
    offset = callbacks.lab.log_size()
    dialer = AmiDialer(host="127.0.0.1", port=AMI_PORT, username="ivrflow", secret=AMI_SECRET,
                       channel="PJSIP/customer/sip:{number}@127.0.0.1:9", flow="callback_invoice",
                       store=quick, agent_first="lab_empty", agent_wait=3)  # fmt: skip

    async def run() -> None:
        dispatcher = Dispatcher(quick, dialer, owner="lab")
        try:
            assert await dispatcher.run_once() == 1
            await dispatcher.drain()
            deadline = time.monotonic() + 30
            while (e := quick.entry(call_id)) is not None and e.state == "dialing":
                assert time.monotonic() < deadline, e
                await asyncio.sleep(0.3)
        finally:
            await dialer.close()

    asyncio.run(run())
    entry = quick.entry(call_id)
    assert entry is not None and (entry.state, entry.attempts) == ("pending", 0), entry
    assert "no agent in lab_empty" in (entry.last_outcome or ""), entry
    log = callbacks.lab.log_since(offset)
    assert f"ivrflow callback: {call_id}~1 waiting for an agent in lab_empty" in log, log[-3000:]
    assert "Called PJSIP/customer" not in log, log[-3000:]
    quick.close()
