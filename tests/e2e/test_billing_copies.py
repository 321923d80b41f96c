"""Issue 2's acceptance check: a truncated or misspelled copy of billing.ivr gets positioned
errors with hints, through the real command."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=path.parent,
    )


def copy_flows(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "flows", tmp_path / "flows")
    return tmp_path / "flows" / "billing.ivr"


def test_misspelled_copy(tmp_path: Path) -> None:
    billing = copy_flows(tmp_path)
    text = billing.read_text()
    assert "-> main_menu" in text
    billing.write_text(text.replace("-> main_menu", "-> main_meny", 1))
    proc = check(billing)
    assert proc.returncode == 1
    line = next(n for n, t in enumerate(billing.read_text().splitlines(), 1) if "main_meny" in t)
    col = billing.read_text().splitlines()[line - 1].index("main_meny") + 1
    assert f"billing.ivr:{line}:{col}: error[E104]: unknown state 'main_meny'" in proc.stdout
    assert "= hint: did you mean 'main_menu'?" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_truncated_copy(tmp_path: Path) -> None:
    billing = copy_flows(tmp_path)
    lines = billing.read_text().splitlines(keepends=True)
    cut = next(n for n, t in enumerate(lines) if t.startswith("menu main_menu")) + 3
    billing.write_text("".join(lines[:cut])[:-8])  # mid-line, no final newline
    proc = check(billing)
    assert proc.returncode == 1
    assert re.search(r"billing\.ivr:\d+:\d+: error\[E\d{3}\]: ", proc.stdout), proc.stdout
    assert "^" in proc.stdout and "= hint:" in proc.stdout
    assert "Traceback" not in proc.stderr
