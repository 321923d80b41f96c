"""Fault injection on the record sink: a failing sink spools, a crash tears a line, a replay
is cut short; in every case each call keeps exactly one record."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ivrflow.host.sinks import JsonLinesSink, SpoolingSink, read_records, recover

pytestmark = pytest.mark.fault

ROOT = Path(__file__).resolve().parents[2]


def rec(n: int) -> dict[str, Any]:
    return {
        "call_id": f"call-{n}",
        "flow": "billing",
        "outcome": {"kind": "self_served", "reason": "done"},
        "path": [{"state": "start", "t": 0.0}, {"state": "goodbye", "t": 12.5}],
        "note": "ação " * 8,  # non-ASCII survives the spool
    }


class FlakySink:
    """Wraps a sink; while `down` is set, every write fails as a full disk would."""

    def __init__(self, inner: JsonLinesSink) -> None:
        self.inner = inner
        self.down = False
        self.refused = 0

    def write(self, record: dict[str, Any]) -> None:
        if self.down:
            self.refused += 1
            raise OSError(errno.ENOSPC, "No space left on device")
        self.inner.write(record)


def ids(path: Path) -> list[str]:
    return [r["call_id"] for r in read_records(path)]


def test_record_file_torn_mid_line_by_a_crash_is_recovered_to_the_last_whole_record(
    tmp_path: Path,
) -> None:
    path = tmp_path / "calls.jsonl"
    sink = JsonLinesSink(path)
    for n in range(3):
        sink.write(rec(n))
    whole = path.stat().st_size
    third = len(path.read_bytes().splitlines(keepends=True)[-1])
    os.truncate(path, whole - third // 2)  # the crash came halfway through the third line
    with pytest.raises(json.JSONDecodeError):
        read_records(path)
    reopened = JsonLinesSink(path)  # what a restarted server does first
    assert ids(path) == ["call-0", "call-1"]
    reopened.write(rec(3))
    assert ids(path) == ["call-0", "call-1", "call-3"]  # the new line does not join the torn one


def test_a_last_record_missing_only_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "calls.jsonl"
    JsonLinesSink(path).write(rec(0))
    os.truncate(path, path.stat().st_size - 1)  # the crash came between "}" and "\n"
    assert recover(path) == 0
    JsonLinesSink(path).write(rec(1))
    assert ids(path) == ["call-0", "call-1"]


def test_failing_sink_spools_every_record_and_replays_them_in_order(tmp_path: Path) -> None:
    path, spool_path = tmp_path / "calls.jsonl", tmp_path / "calls.jsonl.spool"
    flaky = FlakySink(JsonLinesSink(path))
    sink = SpoolingSink(flaky, spool_path)
    sink.write(rec(0))
    flaky.down = True
    for n in range(1, 6):
        sink.write(rec(n))  # never raises: the spool keeps them
    assert flaky.refused == 5
    assert [r["call_id"] for r in sink.spooled()] == [f"call-{n}" for n in range(1, 6)]
    assert sink.last_error is not None and "No space left" in sink.last_error
    flaky.down = False
    sink.write(rec(6))  # the sink is back: the spool goes home after this record
    assert ids(path) == ["call-0", "call-6", "call-1", "call-2", "call-3", "call-4", "call-5"]
    assert not spool_path.exists()
    assert read_records(path)[1]["note"] == rec(6)["note"]


def test_spool_replayed_on_restart_even_without_new_calls(tmp_path: Path) -> None:
    path, spool_path = tmp_path / "calls.jsonl", tmp_path / "spool"
    flaky = FlakySink(JsonLinesSink(path))
    flaky.down = True
    SpoolingSink(flaky, spool_path).write(rec(1))
    SpoolingSink(JsonLinesSink(path), spool_path)  # a restart: replays in the constructor
    assert ids(path) == ["call-1"] and not spool_path.exists()


def test_crash_between_replay_and_spool_truncation_writes_no_duplicate(tmp_path: Path) -> None:
    path, spool_path = tmp_path / "calls.jsonl", tmp_path / "spool"
    flaky = FlakySink(JsonLinesSink(path))
    sink = SpoolingSink(flaky, spool_path)
    flaky.down = True
    for n in range(3):
        sink.write(rec(n))
    saved = spool_path.read_bytes()
    flaky.down = False
    assert sink.replay() == 3
    spool_path.write_bytes(saved)  # as if the process died after writing, before the rewrite
    restarted = SpoolingSink(JsonLinesSink(path), spool_path)  # replays again on start
    restarted.write(rec(3))
    assert ids(path) == ["call-0", "call-1", "call-2", "call-3"]
    assert not spool_path.exists()


def test_replay_cut_by_a_second_failure_keeps_the_rest_spooled(tmp_path: Path) -> None:
    path, spool_path = tmp_path / "calls.jsonl", tmp_path / "spool"

    class FailsOnTwo(FlakySink):
        def write(self, record: dict[str, Any]) -> None:
            if record["call_id"] == "call-2":
                raise OSError(errno.EIO, "Input/output error")
            super().write(record)

    down = FlakySink(JsonLinesSink(path))
    down.down = True
    first = SpoolingSink(down, spool_path)
    for n in range(4):
        first.write(rec(n))
    sink = SpoolingSink(FailsOnTwo(JsonLinesSink(path)), spool_path)  # replays 1, stops at 2
    assert ids(path) == ["call-0", "call-1"]
    assert [r["call_id"] for r in sink.spooled()] == ["call-2", "call-3"]
    assert SpoolingSink(JsonLinesSink(path), spool_path).spooled() == []
    assert ids(path) == ["call-0", "call-1", "call-2", "call-3"]


def test_spool_unwritable_too_raises_rather_than_dropping_silently(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    flaky = FlakySink(JsonLinesSink(tmp_path / "calls.jsonl"))
    flaky.down = True
    sink = SpoolingSink(flaky, blocker / "spool")
    with pytest.raises(OSError, match=r"call-7 neither written .* nor spooled"):
        sink.write(rec(7))


CHILD = """
import errno, json, os, resource, signal, sys
from ivrflow.host.sinks import JsonLinesSink, SpoolingSink, read_records

records, spool = sys.argv[1], sys.argv[2]
sink = SpoolingSink(JsonLinesSink(records), spool)
def rec(n):
    return {"call_id": f"call-{n}", "outcome": {"kind": "self_served"}, "pad": "x" * 400}
for n in range(20):
    sink.write(rec(n))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (os.path.getsize(records) + 100, hard))
sink.write(rec(20))  # only 100 bytes fit: a real short write, then EFBIG
with open(records, "rb") as f:
    torn_left = not f.read().endswith(b"\\n")
spooled = [r["call_id"] for r in sink.spooled()]
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
sink.write(rec(21))
print(json.dumps({"error": sink.last_error, "spooled": spooled, "torn_left": torn_left,
                  "ids": [r["call_id"] for r in read_records(records)],
                  "spool_left": os.path.exists(spool)}))
"""


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE and SIGXFSZ as on Linux")
def test_a_real_short_write_past_the_file_size_limit_is_cut_back_and_spooled(
    tmp_path: Path,
) -> None:
    # The limit applies to the child only: the test process keeps writing freely.
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(tmp_path / "c.jsonl"),
         str(tmp_path / "spool")],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert "File too large" in out["error"]
    assert out["spooled"] == ["call-20"]
    assert out["torn_left"] is False  # the 100 bytes that fit were taken back
    assert out["ids"] == [f"call-{n}" for n in range(20)] + ["call-21", "call-20"]
    assert out["spool_left"] is False


def test_a_live_record_is_never_dropped_even_with_a_call_id_seen_before(tmp_path: Path) -> None:
    # A gateway that hands out its own ids ("call-1", …) starts again at call-1 after a
    # restart: that is a new call, and its record must be written.
    path = tmp_path / "calls.jsonl"
    JsonLinesSink(path).write(rec(1))
    sink = JsonLinesSink(path)
    sink.write(rec(1))
    assert ids(path) == ["call-1", "call-1"]
    assert sink.write_once(rec(1)) is False  # what replays and recovery use
    assert ids(path) == ["call-1", "call-1"]
