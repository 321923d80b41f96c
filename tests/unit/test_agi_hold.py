"""The in-queue flow behind Asterisk (issue 13 item 2): `ivrflow asterisk queues` writes the
flows' `while waiting:` as queues.conf sections; the exit key comes back as the flow's key."""

from __future__ import annotations

import asyncio
import io
import textwrap
from argparse import Namespace
from pathlib import Path

import ivrflow
from ivrflow.host.gateways.agi_hold import queues_conf
from ivrflow.runtime import actions as act

FLOW = """
flow {name} "Hold"
  language en-US
queue billing "Billing"
start:
  -> agent
transfer agent:
  queue billing
  while waiting:
    music jazz
    every {every}
    announce position
    say "{text}"
    1 -> cb
callback cb:
  queue billing
  say "Press 1."
  scheduled: hangup "callback"
"""


def flow(name: str = "a", every: str = "20s", text: str = "Please hold.") -> ivrflow.Flow:
    source = textwrap.dedent(FLOW.format(name=name, every=every, text=text)).lstrip()
    result = ivrflow.compile_file(f"{name}.ivr", text=source)
    assert result.flow is not None, result.errors
    return result.flow


async def fake_render(say: act.Say) -> str:
    return f"/sounds/{say.language}-{len(say.text)}"


def test_a_queue_section_from_the_in_queue_flow() -> None:
    text, problems = asyncio.run(queues_conf([flow()], fake_render))
    assert problems == []
    section = text.split("[billing](+)\n", 1)[1].splitlines()
    assert section == [
        "musicclass = jazz",
        "announce-frequency = 20",
        "min-announce-frequency = 20",
        "announce-position = yes",
        "announce-holdtime = no",
        "periodic-announce = /sounds/en-US-12",
        "periodic-announce-frequency = 20",
        "context = ivrflow-queue-exit",
    ]


def test_two_flows_waiting_differently_in_one_queue_is_refused() -> None:
    _, problems = asyncio.run(queues_conf([flow("a"), flow("b", every="40s")], fake_render))
    assert len(problems) == 1 and "waits differently" in problems[0]
    _, problems = asyncio.run(queues_conf([flow("a"), flow("b")], fake_render))
    assert problems == []  # the same in-queue flow twice is one section


def test_a_templated_message_cannot_be_asterisks_periodic_announcement() -> None:
    source = FLOW.replace('queue billing "Billing"', 'queue billing "Billing"\nvar who = ""')
    source = textwrap.dedent(source.format(name="t", every="20s", text="Hi {{ who }}")).lstrip()
    result = ivrflow.compile_file("t.ivr", text=source)
    assert result.flow is not None
    text, problems = asyncio.run(queues_conf([result.flow], fake_render))
    assert "template" in problems[0] and "[billing](+)" not in text


def test_the_command_exits_1_on_a_flow_with_errors(tmp_path: Path) -> None:
    from ivrflow.cli import asterisk

    bad = tmp_path / "bad.ivr"
    bad.write_text("flow bad\nstart:\n  -> nowhere\n", encoding="utf-8")
    err = io.StringIO()
    args = Namespace(
        flows=[str(bad)], sounds_dir=tmp_path, asterisk_sounds_dir=None,
        exit_context="ivrflow-queue-exit", output=None,
    )  # fmt: skip
    assert asterisk.run(args, io.StringIO(), err) == 1
    assert "nowhere" in err.getvalue()
