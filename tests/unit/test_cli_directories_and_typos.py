"""Issue 16 item 6 (part): `check DIR` checks every flow in it, as `test` and `fuzz` do, and a
mistyped sub-command gets a "did you mean"."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivrflow.cli import main

FLOWS = Path(__file__).resolve().parents[2] / "flows"


def test_check_a_directory_checks_every_flow_in_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(FLOWS)]) == 0
    out = capsys.readouterr().out
    for flow in sorted(FLOWS.glob("*.ivr")):
        assert f"{flow}: ok — flow '{flow.stem}'" in out


def test_check_an_empty_directory_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path)]) == 2
    assert "no .ivr files" in capsys.readouterr().err


def test_a_broken_flow_in_a_directory_fails_the_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "good.ivr").write_text('flow good "Good"\nstart:\n  hangup "done"\n')
    (tmp_path / "bad.ivr").write_text('flow bad "Bad"\nstart:\n  -> nowhere\n')
    assert main(["check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "good.ivr: ok" in out and "nowhere" in out and "in 1 file" in out


@pytest.mark.parametrize(("typed", "meant"), [("chek", "check"), ("reprot", "report"),
                                               ("serv", "serve")])  # fmt: skip
def test_a_mistyped_command_says_what_was_meant(
    typed: str, meant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([typed, "x"]) == 2
    assert f"did you mean '{meant}'?" in capsys.readouterr().err


def test_an_unknown_command_without_a_near_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zzzz"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'zzzz'" in err and "did you mean" not in err


def test_ctrl_c_ends_a_long_command_with_one_line(tmp_path: Path) -> None:
    """Issue 16: Ctrl-C printed a 34-line traceback; now one line and exit 130."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = dict(os.environ, PYTHONPATH=str(FLOWS.parent))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ivrflow", "fuzz", str(FLOWS / "billing.ivr"), "--calls",
         "10000000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    time.sleep(3)  # well into the calls
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, (out, err)
    assert "Traceback" not in err
    # one line, which now also says that what was done is kept (the figures printed above)
    assert err.strip().splitlines() == [
        "ivrflow fuzz: interrupted; the figures above are of the calls placed"
    ]
    assert "(interrupted: " in out
