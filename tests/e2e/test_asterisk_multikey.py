"""Multi-key menu options through a real Asterisk 22 (issue 12, item 4): a SIPp caller dials a
three-digit extension in a menu that also has a one-key option, and reaches the extension's
branch with the keys in `into`; the one-key option is still decided at once, not after the
inter-digit timeout; an extension left half-dialled is a no-match once the timeout passes.
Asserted on the call records and on Asterisk's log of what the flow said.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest
from asterisk_lab import Call, Lab, asterisk, sipp_ok, sipp_report
from test_asterisk_lab import NOT_SERVING, Server, serve_available, serving

pytestmark = pytest.mark.asterisk
__all__ = ["asterisk"]  # the fixture, used by name

INTERDIGIT = 5.0
FLOW = f"""
flow directory "Multi-key lab"
  language en-US
  timeout 8s, interdigit {INTERDIGIT:g}s, retries 2
start:
  -> main_menu
menu main_menu:
  into ext
  say "For sales press 1. If you know your party's extension, dial it now."
  1 -> sales
  "_4XX" -> party
  noinput: say "Sorry, I did not hear you."
  nomatch: say "Sorry, there is no such extension."
  exhausted: hangup "exhausted"
step sales:
  hangup "sales"
step party:
  say "Calling extension {{{{ ext }}}}."
  hangup "party"
"""


@pytest.fixture(scope="module")
def server(asterisk: Lab) -> Iterator[Server]:
    if not serve_available():
        pytest.skip(NOT_SERVING)
    work = asterisk.tmp / "multikey-serve"
    flows = work / "flows"
    flows.mkdir(parents=True)
    (flows / "directory.ivr").write_text(textwrap.dedent(FLOW).lstrip(), encoding="utf-8")
    with serving(asterisk, work, flows) as srv:
        yield srv


def entered(record: dict[str, Any], state: str) -> float:
    return next(float(p["t"]) for p in record["path"] if p["state"] == state)


def menu_inputs(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [i for i in record["inputs"] if i["state"] == "main_menu"]


def test_a_three_digit_extension_reaches_its_branch(asterisk: Lab, server: Server) -> None:
    ani = "+5511955550001"
    offset = asterisk.log_size()
    call = Call("flow-directory", ani, hold_ms=6000).wait(2500).info("412")
    proc = call.place(asterisk.tmp, timeout=60)
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani, timeout=30)
    log = asterisk.log_since(offset)
    assert [i["value"] for i in menu_inputs(record)] == ["412"], record
    assert record["outcome"] == {"kind": "self_served", "reason": "party"}, record
    assert "ivrflow say: Calling extension 412." in log, log[-3000:]
    # No longer option can follow 412: decided on its last key, not after the timeout.
    assert entered(record, "party") - menu_inputs(record)[0]["t"] < 1.0, record


def test_a_one_key_option_still_decides_at_once(asterisk: Lab, server: Server) -> None:
    ani = "+5511955550002"
    call = Call("flow-directory", ani, hold_ms=8000).wait(2500).info("1")
    proc = call.place(asterisk.tmp, timeout=60)
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani, timeout=30)
    (key,) = menu_inputs(record)
    assert key["value"] == "1", record
    assert record["outcome"] == {"kind": "self_served", "reason": "sales"}, record
    assert entered(record, "sales") - key["t"] < 1.0, record  # far below the 5 s inter-digit
    assert record["duration"] < 2500 / 1000 + 4.0, record


def test_a_half_dialled_extension_is_a_nomatch_after_the_interdigit_timeout(
    asterisk: Lab, server: Server
) -> None:
    ani = "+5511955550003"
    offset = asterisk.log_size()
    call = Call("flow-directory", ani, hold_ms=9000).wait(2500).info("41")
    proc = call.place(asterisk.tmp, timeout=60)
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani, timeout=30)
    log = asterisk.log_since(offset)
    (entry, *_) = menu_inputs(record)
    assert entry["value"] == "41", record
    # The keys came about 2 s into the call; the menu waited the inter-digit timeout for a third.
    assert entry["t"] > INTERDIGIT + 1.0, record
    (failure, *_) = record["failures"]
    assert failure["kind"] == "nomatch", record
    assert "ivrflow say: Sorry, there is no such extension." in log, log[-3000:]
