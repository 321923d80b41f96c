"""`ivrflow prompts list|render` and `serve agi`'s start-up check as users run them: child
processes, their output and exit codes (issue 16 item 5)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Run, cli_env

from ivrflow.compiler import compile_file
from ivrflow.model.inventory import inventory

ROOT = Path(__file__).resolve().parents[2]
READBACK = ROOT / "tests" / "data" / "prompts" / "readback.ivr"
BILLING = ROOT / "flows" / "billing.ivr"
HAVE_TTS = bool(shutil.which("espeak-ng") and shutil.which("sox"))


def no_tools_env(tmp_path: Path) -> dict[str, str]:
    """PATH stripped to an empty folder: no espeak-ng, no sox (python is run by its path)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    return cli_env(PATH=str(empty))


def test_list_csv_has_every_prompt_of_the_flow(run: Run) -> None:
    r = run("prompts", "list", str(BILLING), "--format", "csv")
    assert r.returncode == 0, r.stderr
    table = list(csv.DictReader(io.StringIO(r.stdout)))
    flow = compile_file(str(BILLING)).flow
    assert flow is not None
    expected = inventory(flow)
    assert len(table) == len(expected)
    assert list(table[0]) == [
        "flow", "state", "prompt", "language", "templated", "file", "text", "where"
    ]  # fmt: skip
    assert {row["language"] for row in table} >= {"pt-BR", "en-US"}
    for row, p in zip(table, expected, strict=True):
        assert (row["state"], row["text"]) == (p.state, p.text)
        assert row["templated"] == ("yes" if p.templated else "no")
        if p.templated:  # new words on every call: nothing to record
            assert row["file"] == ""
        else:
            assert row["file"] == p.file == f"{row['language']}/{Path(p.file).name}"
            assert row["file"].endswith(".wav")
    templated = [row for row in table if row["templated"] == "yes"]
    assert templated and all("{" in row["text"] for row in templated)


def test_list_json_and_text_show_the_templated_read_back(run: Run, tmp_path: Path) -> None:
    r = run("prompts", "list", str(READBACK), "--format", "json", "--sounds-dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    by_text = {row["text"]: row for row in rows}
    account = by_text["Your account number is {{ account | digits }}."]
    assert account["templated"] is True and account["state"] == "account"
    assert account["where"].endswith("readback.ivr:13")
    assert by_text["Welcome to the account line."]["templated"] is False
    assert not any(row["recorded"] for row in rows)
    text = run("prompts", "list", str(READBACK))
    assert text.returncode == 0
    assert f"{len(rows)} prompts, " in text.stdout.splitlines()[-1]


def test_list_of_a_broken_flow_says_why(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ivr"
    bad.write_text('flow bad\n\nstart:\n  say "Hi"\n  -> nowhere\n', encoding="utf-8")
    r = run("prompts", "list", str(bad))
    assert r.returncode == 1
    assert "nowhere" in r.stderr and "Traceback" not in r.stderr
    assert run("prompts", "list", str(tmp_path / "none")).returncode == 1  # as check says
    (tmp_path / "empty").mkdir()
    assert run("prompts", "list", str(tmp_path / "empty")).returncode == 2  # no flows: usage


@pytest.mark.skipif(not HAVE_TTS, reason="espeak-ng and sox (make system-deps)")
def test_render_fills_the_cache_with_telephone_audio(run: Run, tmp_path: Path) -> None:
    sounds = tmp_path / "sounds"
    r = run("prompts", "render", str(READBACK), "--sounds-dir", str(sounds), timeout=120)
    assert r.returncode == 0, r.stderr
    flow = compile_file(str(READBACK)).flow
    assert flow is not None
    constant = {(p.language, p.text) for p in inventory(flow) if not p.templated}
    assert f"prompts: {len(constant)} constant prompts ready" in r.stdout
    wavs = sorted((sounds / "cache").glob("*.wav"))
    assert len(wavs) == len(constant)
    for wav in wavs:
        head = wav.read_bytes()[:44]
        channels, rate = struct.unpack("<HI", head[22:28])
        assert head[:4] == b"RIFF" and (channels, rate) == (1, 8000)
    assert not (sounds / "calls").exists()
    again = run("prompts", "render", str(READBACK), "--sounds-dir", str(sounds))
    assert f"({0} recorded, {len(constant)} cached, 0 rendered)" in again.stdout


def test_render_without_espeak_names_the_tools_and_the_packages(run: Run, tmp_path: Path) -> None:
    r = run("prompts", "render", str(READBACK), "--sounds-dir", str(tmp_path / "s"),
            env=no_tools_env(tmp_path))  # fmt: skip
    assert r.returncode == 1
    (line,) = r.stderr.strip().splitlines()
    assert "espeak-ng and sox" in line and "apt-get install espeak-ng sox" in line


def serve(tmp_path: Path, flows: Path, sounds: Path) -> subprocess.Popen[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return subprocess.Popen(
        [sys.executable, "-m", "ivrflow", "serve", "agi", str(flows), "--sounds-dir",
         str(sounds), "--listen", f"127.0.0.1:{port}"],
        env=no_tools_env(tmp_path),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_serve_agi_refuses_to_start_mute(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    shutil.copy(READBACK, flows)
    proc = serve(tmp_path, flows, tmp_path / "sounds")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("ivrflow serve agi: --sounds-dir needs espeak-ng and sox")
    assert "apt-get install espeak-ng sox" in line


def test_serve_agi_with_every_constant_prompt_recorded_only_warns(run: Run, tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    shutil.copy(READBACK, flows)
    sounds = tmp_path / "sounds"
    listed = run("prompts", "list", str(READBACK), "--format", "json")
    rows = json.loads(listed.stdout)
    for row in rows:
        if not row["templated"]:
            target = sounds / "recorded" / row["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(b"RIFF")
    proc = serve(tmp_path, flows, sounds)
    try:
        deadline = time.monotonic() + 30
        assert proc.stderr is not None
        lines: list[str] = []
        while not any("FastAGI on" in ln for ln in lines):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(lines)
            lines.append(proc.stderr.readline())
        warning = next(ln for ln in lines if "warning" in ln)
        templated = len({(r["language"], r["text"]) for r in rows if r["templated"]})
        assert f"{templated} templated prompts will play the fallback sound" in warning
        while not any("constant prompts ready" in ln for ln in lines):
            assert time.monotonic() < deadline, "".join(lines)
            lines.append(proc.stderr.readline())
        constant = len({(r["language"], r["text"]) for r in rows if not r["templated"]})
        assert f"prompts: {constant} constant prompts ready" in lines[-1]
        assert f"({constant} recorded, 0 cached, 0 rendered)" in lines[-1]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
