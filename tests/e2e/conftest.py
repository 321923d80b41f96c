"""End-to-end helpers: run the real `ivrflow` command as a child process, no terminal."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from asterisk_lab import asterisk  # noqa: F401  (the shared Asterisk lab fixture)

ROOT = Path(__file__).resolve().parents[2]

Run = Callable[..., subprocess.CompletedProcess[str]]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of the child: no colour, no terminal hints, ivrflow importable."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("FORCE_COLOR", "CLICOLOR_FORCE", "PYTHONIOENCODING", "TERM", "COLUMNS")
    }
    env["NO_COLOR"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


@pytest.fixture(name="cli_env")
def cli_env_fixture() -> Callable[..., dict[str, str]]:
    """cli_env(NAME="value", …) → the child's environment with those additions."""
    return cli_env


@pytest.fixture
def run(tmp_path: Path) -> Run:
    """run("check", "x.ivr", env=None) → CompletedProcess (text), cwd = tmp_path."""

    def _run(
        *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "ivrflow", *args],
            cwd=cwd or tmp_path,
            env=env or cli_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
        )

    return _run


@pytest.fixture
def flow_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """flow_file("name.ivr", text) → a dedented UTF-8 file under tmp_path."""

    def _write(name: str, text: str) -> Path:
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return p

    return _write
