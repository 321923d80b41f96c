"""The embedding example runs as documented and stays under 40 lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HOST = ROOT / "examples" / "host.py"


def test_host_example_runs_a_call_end_to_end() -> None:
    proc = subprocess.run(
        [sys.executable, str(HOST)], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "outcome:" in proc.stdout
    assert "callback_scheduled" in proc.stdout  # the queue is long: the caller takes a callback


def test_host_example_is_short() -> None:
    assert len(HOST.read_text().splitlines()) < 40
