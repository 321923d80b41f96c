"""The `record` state (issue 12, item 8): session semantics, the store, the simulator's
stand-in text, and both gateways — the webhook following Twilio's documented `<Record>`
request sequence, FastAGI answering `RECORD FILE` as Asterisk does."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from ivrflow import compile_file, load
from ivrflow.host.recordings import DirectoryRecordingStore, MemoryRecordingStore
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.runtime.session import Session
from ivrflow.tools.testing import Call

VOICEMAIL = """\
flow vm "Voicemail"
  language en-US

start:
  -> voicemail

record voicemail:
  consent "This message is recorded for our billing team."
  say "Leave your name and the reason for your call after the beep, then press pound."
  max 2m
  silence 4s
  finish "#*"
  playback on
  ok:
    say "Thank you."
    hangup "message left"
  silent -> nothing
  error -> sorry

step nothing:
  say "We heard no message."
  hangup "no message"

step sorry:
  say "We cannot record now."
  hangup "recorder down"
"""


@pytest.fixture
def vm(tmp_path: Path) -> Path:
    path = tmp_path / "vm.ivr"
    path.write_text(VOICEMAIL, encoding="utf-8")
    return path


def started(path: Path) -> tuple[Session, list[act.Action]]:
    session = Session(load(path), call_id="c1", ani="+15551230000", dnis=None, at=1000.0)
    return session, session.start()


# ---------------------------------------------------------------- the session
def test_the_consent_notice_comes_first_then_the_record_action(vm: Path) -> None:
    _, actions = started(vm)
    assert [type(a).__name__ for a in actions] == ["Say", "Say", "Record"]
    assert isinstance(actions[0], act.Say) and actions[0].text.startswith("This message is")
    rec = actions[-1]
    assert isinstance(rec, act.Record)
    assert (rec.name, rec.max_length, rec.silence, rec.finish, rec.beep) == (
        "voicemail", 120.0, 4.0, "#*", True,
    )  # fmt: skip


def test_a_message_plays_back_then_ok_and_is_in_the_record(vm: Path) -> None:
    session, actions = started(vm)
    rec = actions[-1]
    assert isinstance(rec, act.Record)
    out = session.send(ev.Recorded(1030.0, rec.request, "rec/c1/voicemail-1.wav", 12.5, "key"))
    assert isinstance(out[0], act.Play) and out[0].path == "rec/c1/voicemail-1.wav"
    assert not out[0].barge_in
    assert session.vars["voicemail"] == {
        "file": "rec/c1/voicemail-1.wav", "duration": 12.5, "ended_by": "key", "text": None,
    }  # fmt: skip
    record = session.record
    assert record is not None and record["outcome"] == {
        "kind": "self_served",
        "reason": "message left",
    }
    assert record["recordings"] == [
        {"state": "voicemail", "reference": "rec/c1/voicemail-1.wav", "duration": 12.5,
         "outcome": "key", "t": 30.0},
    ]  # fmt: skip


def test_nothing_recorded_takes_silent(vm: Path) -> None:
    session, actions = started(vm)
    rec = actions[-1]
    assert isinstance(rec, act.Record)
    session.send(ev.Recorded(1010.0, rec.request, None, 0.0, "silence"))
    assert session.record is not None and session.record["outcome"]["reason"] == "no message"
    assert session.record["recordings"][0]["outcome"] == "silent"


def test_a_hang_up_while_recording_keeps_the_message(vm: Path) -> None:
    session, actions = started(vm)
    rec = actions[-1]
    assert isinstance(rec, act.Record)
    session.send(ev.Recorded(1020.0, rec.request, "x.wav", 8.0, "hangup"))
    assert session.ended
    assert session.record is not None
    assert session.record["outcome"] == {
        "kind": "self_served", "state": "voicemail", "reason": "message recorded",
    }  # fmt: skip
    session.send(ev.Hangup(1021.0))  # the gateway's hang-up after it: changes nothing
    assert session.record["outcome"]["kind"] == "self_served"


def test_a_failed_recorder_runs_error_and_garbage_never_crashes(vm: Path) -> None:
    session, actions = started(vm)
    rec = actions[-1]
    assert isinstance(rec, act.Record)
    session.send(ev.Recorded(1001.0, "other-request", "x.wav", 3.0))  # not ours: ignored
    assert not session.ended
    session.send(ev.RecordFailed(1002.0, rec.request, "disk full"))
    assert session.record is not None and session.record["outcome"]["reason"] == "recorder down"
    assert session.record["recordings"][0] == {
        "state": "voicemail", "reference": None, "duration": 0.0, "outcome": "failed",
        "t": 2.0, "reason": "disk full",
    }  # fmt: skip
    s2, a2 = started(vm)
    bad: Any = "twelve"
    s2.send(ev.Recorded(1003.0, a2[-1].request, "x.wav", bad, "nonsense"))  # type: ignore[attr-defined, arg-type]
    assert s2.record is not None and s2.record["outcome"]["reason"] == "no message"


def test_a_recording_call_survives_a_snapshot(vm: Path) -> None:
    session, actions = started(vm)
    rec = actions[-1]
    assert isinstance(rec, act.Record)
    again = Session.from_dict(session.flow, json.loads(json.dumps(session.to_dict())))
    again.send(ev.Recorded(1040.0, rec.request, "y.wav", 5.0, "max"))
    assert again.record is not None and again.record["recordings"][0]["outcome"] == "max"


def test_record_without_error_branch_apologises_and_ends_in_error(tmp_path: Path) -> None:
    (tmp_path / "r.ivr").write_text(
        'flow r\n\nstart:\n  -> m\n\nrecord m:\n  consent "Recorded."\n  ok -> hangup\n',
        encoding="utf-8",
    )
    session, actions = started(tmp_path / "r.ivr")
    session.send(ev.RecordFailed(1001.0, actions[-1].request, "no disk"))  # type: ignore[attr-defined]
    assert session.record is not None and session.record["outcome"]["kind"] == "error"


def test_the_compiler_checks_record_settings(tmp_path: Path) -> None:
    (tmp_path / "r.ivr").write_text(
        'flow r\n\nstart:\n  -> m\n\nrecord m:\n  max 2h\n  finish "x"\n  ok -> hangup\n',
        encoding="utf-8",
    )
    result = compile_file(tmp_path / "r.ivr")
    assert [(d.code, d.span.line if d.span else 0) for d in result.errors] == [
        ("E121", 7), ("E121", 8),
    ]  # fmt: skip
    assert "W222" in [d.code for d in result.warnings]


# ---------------------------------------------------------------- the simulator's stand-in
def test_a_typed_text_stands_for_the_audio(vm: Path) -> None:
    call = Call(vm)
    call.start()
    assert call.recording is not None
    call.step("record Maria Souza, about the November invoice")
    assert call.outcome == {"kind": "self_served", "reason": "message left"}
    assert call.variables()["voicemail"]["text"] == "Maria Souza, about the November invoice"
    kinds = [line.kind for line in call.transcript]
    assert kinds[kinds.index("record") :] == ["record", "message", "play", "say", "hangup"]
    (note,) = call.recordings.kept.values()
    assert note["text"] == "Maria Souza, about the November invoice"


def test_a_finish_key_at_once_is_no_message_and_wait_is_silence(vm: Path) -> None:
    for step in ("#", "wait"):
        call = Call(vm)
        call.start()
        call.step(step)
        assert call.outcome == {"kind": "self_served", "reason": "no message"}, step


# ---------------------------------------------------------------- the store
def test_the_directory_store_writes_the_audio_and_a_note(tmp_path: Path) -> None:
    store = DirectoryRecordingStore(tmp_path / "recordings")
    action = act.Record("call-7:3", "voice mail", 60.0, 5.0, "#", True)
    target = store.target("call/7", action)
    assert target == str(tmp_path / "recordings" / "call_7" / "voice_mail-3")
    store.keep(target, {"call_id": "call/7", "duration": 2.0}, audio=b"RIFF....")
    assert Path(target + ".wav").read_bytes() == b"RIFF...."
    note = json.loads(Path(target + ".json").read_text("utf-8"))
    assert note == {"call_id": "call/7", "duration": 2.0}
    assert MemoryRecordingStore().target("c", action) == "memory://c/voice mail-3"


# ---------------------------------------------------------------- FastAGI: RECORD FILE
def test_fastagi_sends_record_file_and_reads_asterisks_reply(tmp_path: Path) -> None:
    from ivrflow.host.gateways import agi_protocol as agi
    from ivrflow.host.gateways.fastagi import _recorded_seconds

    line = agi.record_file("/var/rec/c1/voicemail-1", "wav", "#", 120000, True, 4)
    assert line == b'RECORD FILE "/var/rec/c1/voicemail-1" wav "#" 120000 BEEP s=4\n'
    assert (
        agi.record_file("/r", "wav", "", 60000, False, None) == b'RECORD FILE "/r" wav "" 60000\n'
    )
    reply = agi.parse_reply("200 result=35 (dtmf) endpos=96000")
    assert (reply.data, _recorded_seconds(reply, "/nowhere.wav")) == ("dtmf", 12.0)
    wav = tmp_path / "m.wav"
    wav.write_bytes(b"\0" * (44 + 16000 * 3))
    assert _recorded_seconds(None, str(wav)) == 3.0  # hung up: no reply, the file's size


# ---------------------------------------------------------------- the webhook: <Record>
def test_webhook_follows_twilios_record_sequence(vm: Path, tmp_path: Path) -> None:
    """Twilio: TwiML with <Record action=… recordingStatusCallback=…>; when the caller presses
    the finish key, a POST to `action` with RecordingUrl, RecordingDuration, Digits; later the
    recordingStatusCallback POST with RecordingStatus=completed. An empty recording skips the
    action request and Twilio goes on to the next verb (our <Redirect>)."""
    pytest.importorskip("aiohttp")
    from aiohttp.test_utils import TestClient, TestServer

    from ivrflow.host.engine import Engine
    from ivrflow.host.gateways.webhook import WebhookConfig, create_app

    store = DirectoryRecordingStore(tmp_path / "recordings")
    engine = Engine(recordings=store)
    config = WebhookConfig(flows_dir=vm.parent, clock=lambda: 1_800_000_000.0)
    base = {"From": "+15551230000", "To": "+15559870000"}
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1"

    async def main() -> None:
        async with TestClient(TestServer(create_app(engine, config))) as client:

            async def post(path: str, **form: str) -> ET.Element:
                resp = await client.post(path, data=form)
                assert resp.status == 200, await resp.text()
                return ET.fromstring(await resp.text())

            root = await post("/voice/vm", CallSid="CA1", CallStatus="ringing", **base)
            record = root.find("Record")
            assert record is not None
            assert [el.tag for el in root] == ["Say", "Say", "Record", "Redirect"]
            assert record.get("maxLength") == "120" and record.get("timeout") == "4"
            assert record.get("finishOnKey") == "#*" and record.get("playBeep") == "true"
            assert record.get("recordingStatusCallback") == "/recording-status"
            action = record.get("action") or ""
            root = await post(action, CallSid="CA1", CallStatus="in-progress", **base,
                              RecordingUrl=url, RecordingSid="RE1", RecordingDuration="14",
                              Digits="#")  # fmt: skip
            assert [el.tag for el in root] == ["Play", "Say", "Hangup"]
            assert (root.find("Play").text or "").endswith("RE1")  # type: ignore[union-attr]
            resp = await client.post("/recording-status", data={
                "AccountSid": "AC1", "CallSid": "CA1", "RecordingSid": "RE1",
                "RecordingUrl": url, "RecordingStatus": "completed", "RecordingDuration": "14",
                "RecordingChannels": "1", "RecordingSource": "RecordVerb",
            })  # fmt: skip
            assert resp.status == 204
            # A second call stays silent: no action request, Twilio follows the <Redirect>.
            root = await post("/voice/vm", CallSid="CA2", CallStatus="ringing", **base)
            redirect = root.find("Redirect")
            assert redirect is not None
            root = await post(redirect.text or "", CallSid="CA2", CallStatus="in-progress", **base)
            assert "We heard no message." in " ".join(el.text or "" for el in root.iter("Say"))
            # A third hangs up while recording: Digits=hangup on the action request.
            root = await post("/voice/vm", CallSid="CA3", CallStatus="ringing", **base)
            action = root.find("Record").get("action") or ""  # type: ignore[union-attr]
            await post(action, CallSid="CA3", CallStatus="completed", **base,
                       RecordingUrl=url + "3", RecordingDuration="6", Digits="hangup")  # fmt: skip

    asyncio.run(main())
    by_call = {r["call_id"]: r for r in engine.records.records}  # type: ignore[attr-defined]
    assert by_call["CA1"]["outcome"]["reason"] == "message left"
    assert by_call["CA1"]["recordings"][0]["reference"] == url
    assert by_call["CA1"]["recordings"][0]["duration"] == 14.0
    assert by_call["CA2"]["recordings"][0]["outcome"] == "silent"
    assert by_call["CA3"]["outcome"] == {
        "kind": "self_served", "state": "voicemail", "reason": "message recorded",
    }  # fmt: skip
    note = json.loads((tmp_path / "recordings" / "CA1" / "RE1.json").read_text("utf-8"))
    assert note["status"] == "completed" and note["url"] == url
