"""Without the `webhook` extra (aiohttp, redis), `ivrflow --help` and `serve agi` work and
`serve webhook` says how to get it: the command line never imports either to parse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run the command line with aiohttp and redis unimportable, as on an install without the extra.
WITHOUT_EXTRA = """
import sys
for name in ("aiohttp", "redis"):
    sys.modules[name] = None
from ivrflow.cli import main
sys.exit(main(sys.argv[1:]))
"""


def ivrflow(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def test_help_and_serve_agi_need_no_webhook_extra() -> None:
    assert ivrflow("--help").returncode == 0
    done = ivrflow("serve", "agi", "--help")
    assert done.returncode == 0 and "--sounds-dir" in done.stdout
    assert ivrflow("serve", "webhook", "--help").returncode == 0
    done = ivrflow("serve", "agi", "no-such-dir")  # past the parsing, into the set-up
    assert done.returncode == 2 and "no-such-dir is not a directory" in done.stderr


def test_serve_webhook_without_the_extra_says_how_to_install_it(tmp_path: Path) -> None:
    done = ivrflow("serve", "webhook", str(tmp_path))
    assert done.returncode == 2
    assert "install ivrflow[webhook]" in done.stderr
    assert "Traceback" not in done.stderr
