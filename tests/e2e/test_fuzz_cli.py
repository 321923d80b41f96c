"""`ivrflow fuzz` as users run it: a child process, its output, its exit code, and the
scenario it writes replayed by `ivrflow test` and `ivrflow fuzz --replay`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from helpers import LEAKY, LOOPING

ROOT = Path(__file__).resolve().parents[2]


def ivrflow(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "ivrflow", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=300,
    )


def test_a_clean_flow_exits_0_with_a_summary() -> None:
    done = ivrflow("fuzz", "flows/billing.ivr", "--calls", "80", "--seed", "3")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(
        r"flows/billing.ivr: 80 calls, 80 records \(0 lost\), 0 secrets leaked .* 0 violations",
        done.stdout,
    ), done.stdout
    assert "calls/s, seed 3" in done.stdout


def test_a_looping_flow_exits_1_and_its_scenario_fails_the_same_way(tmp_path: Path) -> None:
    flow = tmp_path / "looping.ivr"
    flow.write_text(LOOPING, encoding="utf-8")
    out = tmp_path / "found"
    done = ivrflow("fuzz", str(flow), "--calls", "40", "--seed", "0", "--out", str(out))
    assert done.returncode == 1, done.stdout + done.stderr
    line = re.search(r"seed=0 call=(\d+) ends-when-silent: still in 'ask_[ab]'", done.stdout)
    assert line, done.stdout
    written = sorted(out.glob(f"*-call{line.group(1)}-ends-when-silent.yaml"))
    assert len(written) == 1, sorted(p.name for p in out.iterdir())
    text = written[0].read_text(encoding="utf-8")
    assert text.startswith(f"# ivrflow fuzz: seed=0 call={line.group(1)} ends-when-silent")
    assert 'flow: "../looping.ivr"' in text  # relative to the scenario: the pair can move

    test = ivrflow("test", str(written[0]))
    assert test.returncode == 1, test.stdout
    assert "the call did not end" in test.stdout
    assert "0 passed, 1 failed" in test.stdout

    replayed = ivrflow("fuzz", "--replay", str(written[0]))
    assert replayed.returncode == 1
    assert "ends-when-silent: still in" in replayed.stdout


def test_a_leak_is_reported_without_printing_the_secret(tmp_path: Path) -> None:
    flow = tmp_path / "leaky.ivr"
    flow.write_text(LEAKY, encoding="utf-8")
    done = ivrflow("fuzz", str(flow), "--calls", "30", "--seed", "1", "--max-shown", "5")
    assert done.returncode == 1
    found = re.search(
        r"seed=1 call=\d+ no-secret-leak: a secure value \(4 digits\) in clear in action",
        done.stdout,
    )
    assert found, done.stdout
    # The violation lines mask the value they found (a report is a log too).
    for line in done.stdout.splitlines():
        if re.search(r"seed=1 call=\d+ no-secret-leak", line) and "action" in line:
            assert "Your PIN is ####." in line, line


def test_bad_usage_exits_2() -> None:
    assert ivrflow("fuzz").returncode == 2
    assert ivrflow("fuzz", "flows/billing.ivr", "--calls", "0").returncode == 2
