"""A `record` state behind a real Asterisk (issue 12, item 8): SIPp calls the lab, speaks a
message (an espeak-ng pcap), ends it with #; `RECORD FILE` writes the audio into the recording
store's directory inside the chroot, and the call record holds its reference, length and how it
ended. A second caller says nothing and presses # at once: no message."""

from __future__ import annotations

import uuid
import wave
from pathlib import Path

import pytest
from asterisk_lab import Call, Lab, sipp_ok, sipp_report
from speech_audio import speech_pcap
from test_asterisk_lab import serving

pytestmark = pytest.mark.asterisk

VOICEMAIL = """\
flow voicemail "Lab voicemail"
  language en-US

start:
  -> message

record message:
  consent "Recorded."
  max 20s
  silence 5s
  finish "#"
  beep off
  ok: hangup "message left"
  silent: hangup "no message"
  error: hangup "recorder failed" as error
"""


def test_a_message_is_recorded_to_a_file_and_referenced_by_the_record(asterisk: Lab) -> None:
    work = asterisk.tmp / "record"
    flows = work / "flows"
    flows.mkdir(parents=True)
    (flows / "voicemail.ivr").write_text(VOICEMAIL, encoding="utf-8")
    seen = f"/var/spool/asterisk/ivrflow-rec-{uuid.uuid4().hex[:8]}"  # as Asterisk sees it
    ours = asterisk.root / seen.lstrip("/")
    ours.mkdir(parents=True)
    ours.chmod(0o777)  # Asterisk writes the audio as its own user
    options = ("--recordings", str(ours), "--asterisk-recordings", seen, "--fallback-sound", "")
    with serving(asterisk, work, flows, *options) as server:
        spoken = speech_pcap("Maria Souza, about the November invoice.", work / "msg.pcap")
        talker = (
            Call("flow-voicemail", "+15550001001", hold_ms=8000)
            .wait(1500)
            .play(spoken)
            .wait(4500)
            .rfc2833("#")
        )
        proc = talker.place(work / "sipp-talker")
        assert sipp_ok(proc), sipp_report(proc)
        quiet = Call("flow-voicemail", "+15550001002", hold_ms=6000).wait(1500).rfc2833("#")
        proc = quiet.place(work / "sipp-quiet")
        assert sipp_ok(proc), sipp_report(proc)
        left = server.record("+15550001001")
        none = server.record("+15550001002")
    assert left["outcome"] == {"kind": "self_served", "reason": "message left"}, server.tail()
    (row,) = left["recordings"]
    assert row["outcome"] == "key" and row["state"] == "message"
    reference = Path(row["reference"])
    assert reference.parent.parent == ours and reference.suffix == ".wav"
    with wave.open(str(reference)) as audio:
        seconds = audio.getnframes() / audio.getframerate()
    assert 1.5 < seconds < 12, seconds  # the spoken message, not silence to the cap
    assert abs(row["duration"] - seconds) < 1.0, (row, seconds)
    assert (reference.parent / f"{reference.stem}.json").exists()  # the store's note
    assert none["outcome"]["reason"] == "no message", none
    assert none["recordings"][0]["outcome"] == "silent"
