"""The in-queue flow through a real Asterisk 22 (issue 13 item 2): `ivrflow asterisk queues`
writes the flow's `while waiting:` into queues.conf, Asterisk plays it to a SIPp caller
waiting in `lab_hold` (nobody answers there) — the position announcement and the flow's
message every 10 s, from Asterisk's log of played files — and the caller's key leaves the
queue for the flow's callback, whose stored request carries the time waited."""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from asterisk_lab import PCAPS, ROOT, Call, Lab, asterisk, sipp_ok, sipp_report
from test_asterisk_lab import NOT_SERVING, Server, serve_available, serving

from ivrflow.host.callbacks import SQLiteCallbackStore

pytestmark = pytest.mark.asterisk
__all__ = ["asterisk"]  # the fixture, used by name

EVERY = 10  # seconds between announcements (the smallest `every` the language allows)
MESSAGE = "Thank you for holding. Press 9 to be called back without losing your place."
FLOW = f"""
flow queue_hold "Queue lab: the in-queue flow"
  language en-US
queue lab_hold "Lab queue with an in-queue flow"
start:
  -> agent
transfer agent:
  queue lab_hold
  max_wait 60s
  while waiting:
    every {EVERY}s
    announce position
    say "{MESSAGE}"
    9 -> queue_callback
  noanswer: hangup "no agent"
  failed: hangup "no agent"
callback queue_callback:
  queue lab_hold
  say "Press 1 to confirm your callback."
  scheduled: hangup "callback"
  declined: hangup "declined"
"""
SOUNDS_SEEN_AS = "/var/lib/asterisk/sounds/ivrflow-hold"


def later_key(key: str, target: Path) -> Path:
    """sip-tester's RTP event for `key` with its RTP timestamps and sequence moved on: every
    one of its pcaps starts at the same ones, and Asterisk takes a second event with the
    timestamp of the last for a retransmission of it (the key is lost)."""
    data = bytearray((PCAPS / f"dtmf_2833_{key}.pcap").read_bytes())
    offset = 24  # the pcap header; then per packet 16 bytes and Ethernet/IPv4/UDP/RTP
    while offset < len(data):
        length = struct.unpack_from("<I", data, offset + 8)[0]
        udp, rtp = offset + 16 + 14 + 20, offset + 16 + 42
        struct.pack_into(">H", data, udp + 6, 0)  # no UDP checksum (IPv4 allows it)
        seq, stamp = struct.unpack_from(">HI", data, rtp + 2)
        struct.pack_into(">HI", data, rtp + 2, (seq + 1000) % 65536, (stamp + 800_000) % 2**32)
        offset += 16 + length
    target.write_bytes(bytes(data))
    return target


@pytest.fixture(scope="module")
def server(asterisk: Lab) -> Iterator[Server]:
    if not serve_available():
        pytest.skip(NOT_SERVING)
    work = asterisk.tmp / "hold-serve"
    flows = work / "flows"
    flows.mkdir(parents=True)
    (flows / "queue_hold.ivr").write_text(textwrap.dedent(FLOW).lstrip(), encoding="utf-8")
    sounds = asterisk.root / SOUNDS_SEEN_AS.lstrip("/")
    conf = asterisk.root / "etc" / "asterisk" / "queues-ivrflow.conf"
    proc = subprocess.run(
        [sys.executable, "-m", "ivrflow", "asterisk", "queues", str(flows),
         "--sounds-dir", str(sounds), "--asterisk-sounds-dir", SOUNDS_SEEN_AS, "-o", str(conf)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "[lab_hold](+)" in conf.read_text(encoding="utf-8")
    asterisk.cli("module reload app_queue.so")
    shown = asterisk.cli("queue show lab_hold")
    assert "lab_hold" in shown, shown
    try:
        with serving(asterisk, work, flows, "--callbacks", str(work / "callbacks.db")) as srv:
            yield srv
    finally:
        conf.unlink()
        asterisk.cli("module reload app_queue.so")


def test_the_caller_hears_the_in_queue_flow_and_leaves_by_key_for_a_callback(
    asterisk: Lab, server: Server
) -> None:
    ani = "+5511933330011"
    offset = asterisk.log_size()
    # Two announcement periods in the queue, then 9 (leave), then 1 (confirm the callback).
    call = Call("flow-queue_hold", ani, hold_ms=8000).wait(2 * EVERY * 1000 + 3000).rfc2833("9")
    second = later_key("1", asterisk.tmp / "dtmf-1-later.pcap")
    proc = call.wait(3000).play(second).place(asterisk.tmp, timeout=120)
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani, timeout=40)
    log = asterisk.log_since(offset)
    leg = record["queue"]
    assert (leg["outcome"], leg["key"], leg["detail"]) == ("left_for_callback", "9", "key 9"), leg
    assert 2 * EVERY <= leg["wait"] <= 2 * EVERY + 8, leg
    assert record["outcome"]["kind"] == "callback_scheduled", record
    # What the caller heard, from Asterisk's log: its position every EVERY seconds (at the
    # start and again), and the flow's message, the periodic announcement (a file rendered by
    # `ivrflow asterisk queues`).
    assert log.count("their queue position (which was 1)") >= 2, log[-4000:]
    assert "Playing 'queue-youarenext" in log, log[-4000:]
    assert "Playing periodic announcement" in log, log[-4000:]
    assert f"Playing '{SOUNDS_SEEN_AS}/queues/ivrflow-" in log, log[-4000:]
    # The callback keeps the caller's place: its request carries the time already waited.
    store = SQLiteCallbackStore(str(server.records.parent / "callbacks.db"))
    try:
        (request,) = [r for r in store.pending() if r.ani == ani]
    finally:
        store.close()
    assert request.extra["waited"] == leg["wait"], (request, leg)
    assert request.queue == "lab_hold"
