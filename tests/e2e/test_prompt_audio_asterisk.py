"""Prompt audio behind a real Asterisk (issue 16 item 5): SIPp calls a flow that reads the
caller's account number back. The welcome prompt has a recorded file, and Asterisk's log of
the files it played shows that file played, not text-to-speech; the read-back is played
from a file of that call, gone once the call ended; the cache holds only constant prompts."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from asterisk_lab import Call, Lab, sipp_ok, sipp_report
from test_asterisk_lab import serving

from ivrflow.compiler import compile_file
from ivrflow.host.gateways.prompt_audio import sound_key
from ivrflow.model.inventory import inventory, recorded_name

pytestmark = pytest.mark.asterisk

ROOT = Path(__file__).resolve().parents[2]
READBACK = ROOT / "tests" / "data" / "prompts" / "readback.ivr"
ACCOUNT = "481516"
WELCOME = "Welcome to the account line."


def test_recorded_prompt_played_and_caller_data_not_kept(asterisk: Lab) -> None:
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        pytest.skip("espeak-ng and sox (make system-deps)")
    work = asterisk.tmp / "prompt-audio"
    flows = work / "flows"
    flows.mkdir(parents=True)
    shutil.copy(READBACK, flows)
    seen = f"/var/lib/ivrflow-sounds-{uuid.uuid4().hex[:8]}"  # as Asterisk sees it
    sounds = asterisk.root / seen.lstrip("/")
    recorded = sounds / "recorded" / "en-US" / f"{recorded_name(WELCOME)}.wav"
    recorded.parent.mkdir(parents=True)
    # The "voice talent": one second of tone, telephone format, nothing espeak would make.
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", str(recorded), "synth", "1", "sine",
         "440"],
        check=True,
    )  # fmt: skip
    options = ("--sounds-dir", str(sounds), "--asterisk-sounds-dir", seen, "--fallback-sound", "")
    offset = asterisk.log_size()
    with serving(asterisk, work, flows, *options) as server:
        # The welcome (1 s) and the account prompt have played by 9 s; SIP INFO keys, as the
        # lab's digit-capture test sends a multi-digit entry.
        caller = Call("flow-readback", "+15550002001", hold_ms=15000).wait(9000).info(ACCOUNT)
        proc = caller.place(work / "sipp-readback")
        assert sipp_ok(proc), sipp_report(proc)
        record = server.record("+15550002001")
        deadline = time.monotonic() + 10
        while any((sounds / "calls").glob("*/*")) and time.monotonic() < deadline:
            time.sleep(0.2)  # the call's files go as its handler ends, after the record
        log = asterisk.log_since(offset)
    assert record["outcome"] == {"kind": "self_served", "reason": "read_back"}, server.tail()
    # res_agi logs `Playing 'NAME.FORMAT'` (the format Asterisk chose, e.g. slin for a .wav).
    played = [ln.split("Playing '", 1)[1].split("'", 1)[0].rsplit(".", 1)[0]
              for ln in log.splitlines() if "Playing '" in ln]  # fmt: skip
    assert played, log[-2000:]
    assert played[0] == f"{seen}/recorded/en-US/{recorded.stem}", played
    assert any(p.startswith(f"{seen}/cache/ivrflow-") for p in played), played
    per_call = [p for p in played if p.startswith(f"{seen}/calls/")]
    assert len(per_call) == 1, played  # the read-back, from this call's own file
    assert not (sounds / "calls").exists() or not any((sounds / "calls").rglob("*.wav"))
    flow = compile_file(str(READBACK)).flow
    assert flow is not None
    constant = {sound_key(p.text, p.language, p.voice) for p in inventory(flow) if not p.templated}
    cached = {p.stem for p in (sounds / "cache").glob("*.wav")}
    assert cached and cached <= constant  # nothing rendered from the caller's digits is kept
    for f in sounds.rglob("*"):
        assert ACCOUNT not in f.name
        if f.is_file():
            assert ACCOUNT.encode() not in f.read_bytes()
