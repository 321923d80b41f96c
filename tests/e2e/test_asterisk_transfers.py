"""Typed transfer destinations through a real Asterisk 22 (issue 12, item 2): an extension
with a dialplan context and one in the call's own context, both dialled as Local channels; a
SIP URI dialled through the lab's agent endpoint with postdial keys; and an extension the
dialplan does not have, whose failure takes the flow's failed branch with the reason in the
record's errors. Each is asserted on the record and on Asterisk's log of the Dial it ran.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import pytest
from asterisk_lab import AGENT_PORT, Call, Lab, agent_phone, asterisk, sipp_ok, sipp_report
from test_asterisk_lab import NOT_SERVING, Server, serve_available, serving

pytestmark = pytest.mark.asterisk
__all__ = ["asterisk"]  # the fixture, used by name

FLOW = """
flow {name} "Transfer lab"
  language en-US
start:
  -> out
transfer out:
  {destination}
  failed:
    say "The transfer failed."
    hangup "failed"
"""

FLOWS = {
    "to_echo": 'extension "echo@from-sipp"',
    "to_own_context": 'extension "echo"',
    "to_nowhere": 'extension "nosuch@ivrflow-nowhere"',
    "to_agent_uri": f'sip "sip:agent@127.0.0.1:{AGENT_PORT}"\n  postdial "w1"',
}


@pytest.fixture(scope="module")
def server(asterisk: Lab) -> Iterator[Server]:
    if not serve_available():
        pytest.skip(NOT_SERVING)
    work = asterisk.tmp / "transfer-serve"
    flows = work / "flows"
    flows.mkdir(parents=True)
    for name, destination in FLOWS.items():
        text = FLOW.format(name=name, destination=destination)
        (flows / f"{name}.ivr").write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    with serving(asterisk, work, flows, "--dial", "sip=PJSIP/agent/{uri}") as srv:
        yield srv


def test_an_extension_with_its_context_is_a_local_channel(asterisk: Lab, server: Server) -> None:
    ani = "+5511944440001"
    offset = asterisk.log_size()
    proc = Call("flow-to_echo", ani, hold_ms=4000).place(asterisk.tmp)
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani, timeout=30)
    log = asterisk.log_since(offset)
    assert record["outcome"] == {"kind": "transferred", "extension": "echo@from-sipp"}, record
    assert "Executing Application: (Dial) Options: (Local/echo@from-sipp)" in log or (
        "Dial(" in log and "Local/echo@from-sipp" in log
    ), log[-3000:]
    assert record["errors"] == [], record


def test_an_extension_without_a_context_stays_in_the_calls_context(
    asterisk: Lab, server: Server
) -> None:
    ani = "+5511944440002"
    offset = asterisk.log_size()
    proc = Call("flow-to_own_context", ani, hold_ms=4000).place(asterisk.tmp)
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani, timeout=30)
    log = asterisk.log_since(offset)
    assert record["outcome"] == {"kind": "transferred", "extension": "echo"}, record
    assert "Local/echo@from-sipp" in log, log[-3000:]


def test_an_extension_the_dialplan_lacks_takes_the_failed_branch(
    asterisk: Lab, server: Server
) -> None:
    ani = "+5511944440003"
    offset = asterisk.log_size()
    proc = Call("flow-to_nowhere", ani, hold_ms=6000).place(asterisk.tmp)
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani, timeout=30)
    log = asterisk.log_since(offset)
    assert record["outcome"] == {"kind": "self_served", "reason": "failed"}, record
    (error,) = record["errors"]
    assert error.startswith("transfer failed"), record
    assert "Local/nosuch@ivrflow-nowhere" in log, log[-3000:]
    assert "ivrflow say: The transfer failed." in log, log[-3000:]


def test_a_sip_uri_is_dialled_through_its_template_with_postdial_keys(
    asterisk: Lab, server: Server
) -> None:
    ani = "+5511944440004"
    offset = asterisk.log_size()
    phone = agent_phone(asterisk.tmp)
    try:
        proc = Call("flow-to_agent_uri", ani, hold_ms=9000).place(asterisk.tmp)
    finally:
        phone.wait(60)
    assert sipp_ok(proc), sipp_report(proc)
    record = server.record(ani, timeout=40)
    log = asterisk.log_since(offset)
    uri = f"sip:agent@127.0.0.1:{AGENT_PORT}"
    assert record["outcome"] == {"kind": "transferred", "sip": uri}, record
    assert f"PJSIP/agent/{uri}" in log and "D(w1)" in log, log[-3000:]
