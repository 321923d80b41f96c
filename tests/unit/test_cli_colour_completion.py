"""Issue 16: the command line on a terminal — colour only on a terminal and never with
NO_COLOR, the coloured diagnostics of `check`, shell completion from shtab, and the
Ctrl-C helper that keeps what is done. (The progress bars and real SIGINTs to a child are in
tests/e2e/test_cli_terminal.py.)"""

from __future__ import annotations

import io
import os
import pty
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ivrflow.cli import COMMANDS, main
from ivrflow.cli.terminal import Interrupt, colour_enabled, paint_diagnostic

ROOT = Path(__file__).resolve().parents[2]
BROKEN = 'flow broken "x"\n\nstart:\n  -> nowhere\n'


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert colour_enabled(_Tty())
    assert not colour_enabled(io.StringIO())  # a pipe or a file
    monkeypatch.setenv("NO_COLOR", "1")
    assert not colour_enabled(_Tty())
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: set *and not empty* turns colour off
    assert colour_enabled(_Tty())
    monkeypatch.setenv("TERM", "dumb")
    assert not colour_enabled(_Tty())


def test_a_diagnostic_is_painted_without_changing_its_text() -> None:
    text = (
        "f.ivr:4:6: error[E104]: unknown state 'nowhere'\n"
        "   4 |   -> nowhere\n"
        "     |      ^^^^^^^\n"
        "  = hint: did you mean 'somewhere'?"
    )
    painted = paint_diagnostic(text, True)
    assert "\x1b[1;31merror[E104]\x1b[0m" in painted
    assert "\x1b[1;31m^^^^^^^\x1b[0m" in painted
    assert "\x1b[36m  = hint: did you mean 'somewhere'?\x1b[0m" in painted
    import re

    assert re.sub(r"\x1b\[[0-9;]*m", "", painted) == text
    assert paint_diagnostic(text, False) == text
    warning = paint_diagnostic("f.ivr:1:1: warning[W201]: x", True)
    assert "\x1b[1;33mwarning[W201]\x1b[0m" in warning


def _check_on_pty(path: Path, **env: str) -> str:
    master, slave = pty.openpty()
    child_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    child_env.update(TERM="xterm", PYTHONPATH=str(ROOT), **env)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivrflow", "check", str(path)],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=child_env,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(60) == 1
    return b"".join(chunks).decode()


def test_check_is_coloured_on_a_terminal_only(tmp_path: Path) -> None:
    flow = tmp_path / "broken.ivr"
    flow.write_text(BROKEN, encoding="utf-8")
    drawn = _check_on_pty(flow)
    assert "\x1b[1;31merror[" in drawn and "\x1b[1;31mcheck failed\x1b[0m" in drawn
    assert "\x1b[" not in _check_on_pty(flow, NO_COLOR="1")
    piped = subprocess.run(
        [sys.executable, "-m", "ivrflow", "check", str(flow)],
        capture_output=True, text=True, env={**os.environ, "TERM": "xterm",
                                             "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert piped.returncode == 1 and "error[" in piped.stdout
    assert "\x1b[" not in piped.stdout + piped.stderr


def test_completion_for_bash_names_every_sub_command_and_completes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("shtab", reason="shell completion needs the cli extra (shtab)")
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    listed = next(line for line in script.splitlines() if "_ivrflow_subparsers=(" in line)
    assert set(listed.split("(", 1)[1].rstrip(")").split()) == set(COMMANDS)
    bash = shutil.which("bash")
    if bash is None:
        return
    path = tmp_path / "ivrflow.bash"
    path.write_text(script, encoding="utf-8")
    # What bash offers after `ivrflow ch<TAB>` and `ivrflow check --format <TAB>`.
    probe = (
        f"source {path}; complete -p ivrflow; "
        'COMP_WORDS=(ivrflow ch); COMP_CWORD=1; _shtab_ivrflow; echo "[${COMPREPLY[*]}]"; '
        "COMP_WORDS=(ivrflow check --format ''); COMP_CWORD=3; _shtab_ivrflow; "
        'echo "[${COMPREPLY[*]}]"'
    )
    done = subprocess.run([bash, "-c", probe], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith(" ivrflow")
    assert lines[1:] == ["[check]", "[text json]"]
    assert main(["completion", "zsh"]) == 0
    assert "#compdef ivrflow" in capsys.readouterr().out


def test_completion_without_shtab_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "shtab", None)  # import shtab → ImportError
    assert main(["completion", "bash"]) == 1
    assert "install ivrflow[cli]" in capsys.readouterr().err


def test_the_first_ctrl_c_asks_to_stop_and_the_second_interrupts() -> None:
    with Interrupt() as stop:
        assert not stop()
        signal.raise_signal(signal.SIGINT)
        assert stop()
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_items_stop_between_items_and_keep_those_read() -> None:
    seen = []

    def source() -> object:
        for n in range(10):
            if n == 4:
                signal.raise_signal(signal.SIGINT)  # Ctrl-C while reading item 4
            yield n

    with Interrupt() as stop:
        seen.extend(stop.items(source()))  # type: ignore[call-overload]
    assert seen == [0, 1, 2, 3] and stop.requested
