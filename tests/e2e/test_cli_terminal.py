"""The long commands as a person runs them: a progress bar on a terminal (a real
pseudo-terminal, the child's standard output and error on it), nothing extra when piped or
with --quiet; and Ctrl-C (a real SIGINT to the child) that keeps what was done."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from conftest import ROOT, cli_env
from helpers import LEAKY

pytest.importorskip("tqdm", reason="the progress bars need the cli extra (tqdm)")


FLOW = str(ROOT / "flows/billing.ivr")
MODEL = str(ROOT / "flows/models/billing.yaml")
RECORDS = ROOT / "flows/records/billing.jsonl"


def on_terminal(*args: str, **env: str) -> tuple[int, str]:
    """Run `ivrflow ARGS` with its stdout and stderr on a pseudo-terminal of 120 columns;
    its exit code and everything it drew."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivrflow", *args],
        cwd=ROOT,
        env=cli_env(TERM="xterm", **env),
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(120), b"".join(chunks).decode("utf-8", "replace")


def piped(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", *args],
        cwd=ROOT,
        env=cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


# Each long command: its arguments, and the label its bar starts with.
LONG = {
    "fuzz": (("fuzz", FLOW, "--calls", "400"), "fuzz billing.ivr"),
    "traffic": (
        ("traffic", FLOW, "--model", MODEL, "--days", "1", "--replications", "2"),
        "traffic",
    ),
    "report": (("report", str(RECORDS)), "report"),
    "explore": (("explore", FLOW, "--summary"), "explore"),
}


@pytest.mark.parametrize("command", sorted(LONG))
def test_a_terminal_shows_progress_and_a_pipe_or_quiet_does_not(command: str) -> None:
    args, label = LONG[command]
    code, drawn = on_terminal(*args)
    assert code == 0, drawn
    bar = re.compile(rf"{re.escape(label)}: [^\r\n]*\[\d\d:\d\d")  # tqdm's "[00:01<…"
    assert bar.search(drawn), drawn[-2000:]

    code, quiet = on_terminal(*args, "--quiet")
    assert code == 0, quiet
    assert not bar.search(quiet), quiet[-2000:]
    assert "\r" not in quiet.replace("\r\n", "\n")

    done = piped(*args)
    assert done.returncode == 0, done.stderr
    assert not bar.search(done.stderr + done.stdout)
    assert "\r" not in done.stderr + done.stdout and "\x1b[" not in done.stderr + done.stdout
    # what the command prints is the same on a terminal (less its bar) as in a pipe
    assert done.stdout.strip().splitlines()[-1][:60] in quiet


def _interrupted(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err, err
    return out, err


def _start(*args: str, **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ivrflow", *args],
        cwd=ROOT,
        env=cli_env(PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,  # type: ignore[call-overload]
    )


def test_ctrl_c_in_fuzz_writes_the_scenarios_found_so_far(tmp_path: Path) -> None:
    flow = tmp_path / "leaky.ivr"
    flow.write_text(LEAKY, encoding="utf-8")
    out_dir = tmp_path / "found"
    proc = _start("fuzz", str(flow), "--calls", "10000000", "--out", str(out_dir),
                  stdin=subprocess.DEVNULL)  # fmt: skip
    assert proc.stdout is not None
    seen = [proc.stdout.readline()]  # a first violation: the run is under way
    assert "seed=0 call=" in seen[0], seen
    out, err = _interrupted(proc)
    out = seen[0] + out
    summary = re.search(r"leaky.ivr: (\d+) calls? \(interrupted: \1 of 10000000\)", out)
    assert summary, out[-2000:]
    written = sorted(out_dir.glob("*.yaml"))
    assert written and len(written) == out.count("  scenario: ")
    assert all(f"  scenario: {p}" in out for p in written)
    assert err.strip().splitlines()[-1].startswith("ivrflow fuzz: interrupted")


def test_ctrl_c_in_report_reports_what_it_read(tmp_path: Path) -> None:
    lines = RECORDS.read_text(encoding="utf-8")
    # The same records read to the end, for comparison.
    whole = subprocess.run(
        [sys.executable, "-m", "ivrflow", "report", "-", "--format", "json"],
        cwd=ROOT, env=cli_env(), input=lines, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert whole.returncode == 0, whole.stderr
    # A reader that never ends: the records, then stdin stays open, as a tail -f would.
    proc = _start("report", "-", "--format", "json", stdin=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(lines)
    proc.stdin.flush()
    time.sleep(3.0)  # ample to read a few thousand lines; then it waits for more
    out, err = _interrupted(proc)
    data = json.loads(out)
    assert data.pop("interrupted") is True
    assert data == json.loads(whole.stdout)  # every record read before Ctrl-C is counted
    n = len(lines.splitlines())
    assert f"a partial report, of the {n:,} lines read before Ctrl-C" in err, err


def test_ctrl_c_in_a_sweep_prints_the_rows_done() -> None:
    # On a terminal, so that its progress bar says when two staffings are done: the SIGINT
    # then comes mid-sweep however busy the machine is.
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivrflow", "traffic", FLOW, "--model", MODEL, "--days", "1",
         "--replications", "2", "--sweep", "agents=10..60", "--queue", "billing"],
        cwd=ROOT, env=cli_env(TERM="xterm"), stdin=subprocess.DEVNULL, stdout=slave,
        stderr=slave,
    )  # fmt: skip
    os.close(slave)
    drawn, sent = b"", False
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        drawn += data
        # 104 runs: 2 replications of the model's staffing, then 2 per staffing of 10..60
        if not sent and re.search(rb"traffic: [^\r\n]* ([6-9]|[1-9]\d)/104 ", drawn):
            proc.send_signal(signal.SIGINT)
            sent = True
    os.close(master)
    assert sent, drawn.decode(errors="replace")[-2000:]
    assert proc.wait(60) == 130
    out = drawn.decode("utf-8", "replace").replace("\r\n", "\n")
    assert "Traceback" not in out
    rows = re.findall(r"^\s+(\d+)  (?:\d|unstable)", out, re.MULTILINE)
    assert len(rows) >= 2, out[-3000:]
    assert [int(r) for r in rows] == list(range(10, 10 + len(rows)))
    assert len(rows) < 51
    assert "service level (80/20)" in out  # the report of the model's own staffing too
    assert f"2 replications of 2, {len(rows)} of 51 staffings" in out, out[-1000:]
