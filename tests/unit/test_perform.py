"""One way to perform an action (ivrflow.host.perform): the table covers every action, the
protocols name exactly the table's methods, every driver's host has them, and the ordering
rule — prompts go on unless answered, an ask ends the batch, a hang-up never answers."""

from __future__ import annotations

import asyncio
import inspect
import typing
from pathlib import Path

import pytest

from ivrflow.host import engine as engine_module
from ivrflow.host.engine import Channel, Engine
from ivrflow.host.gateways.twiml import TwimlHost
from ivrflow.host.perform import (
    ACTIONS,
    AsyncHost,
    Host,
    carry_out,
    drive,
    perform,
    perform_async,
)
from ivrflow.runtime import actions as act
from ivrflow.runtime import events as ev
from ivrflow.tools import testing
from ivrflow.tools.scripted_caller import ScriptedChannel

FLOWS = Path(__file__).resolve().parents[2] / "flows"
SAY = act.Say("Hello.", "en-US")
COLLECT = act.Collect(("dtmf",), 1, 1, None, 5.0, 3.0, True)
LOOKUP = act.Lookup("r1", "fetch", (), 1.0)
HANGUP = act.Hangup("done")


def protocol_methods(protocol: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(protocol, inspect.isfunction)
            if not name.startswith("_")}  # fmt: skip


def test_every_action_has_one_host_method() -> None:
    assert set(ACTIONS) == set(typing.get_args(act.Action))
    methods = {method for method, _ in ACTIONS.values()}
    assert protocol_methods(Host) == methods
    assert protocol_methods(AsyncHost) == methods


def test_set_variable_is_gone() -> None:
    assert not hasattr(act, "SetVariable")
    assert "SetVariable" not in act.__all__
    assert "set_variable" not in protocol_methods(Channel)


def test_every_driver_host_has_every_method() -> None:
    methods = {method for method, _ in ACTIONS.values()}
    call = testing.Call.open(FLOWS / "billing.ivr")
    hosts: list[object] = [
        testing._CallHost(call),
        engine_module._ChannelHost(Engine(), call.flow, ScriptedChannel([]), "c1"),
        TwimlHost(Engine(), call.session, lambda: 0.0, lambda stamped: "/voice/x"),
    ]
    for host in hosts:
        assert [m for m in sorted(methods) if not callable(getattr(host, m, None))] == []


class Recorder:
    """A host that records what it performs and answers from a table."""

    def __init__(self, answers: dict[type, ev.Event | None]) -> None:
        self.answers = answers
        self.done: list[str] = []

    def _do(self, action: act.Action) -> ev.Event | None:
        self.done.append(type(action).__name__)
        return self.answers.get(type(action))

    def play(self, action: act.Say | act.Play) -> ev.Event | None:
        return self._do(action)

    def collect(self, action: act.Collect) -> ev.Event | None:
        return self._do(action)

    def lookup(self, action: act.Lookup) -> ev.Event | None:
        return self._do(action)

    def queue_status(self, action: act.GetQueueStatus) -> ev.Event | None:
        return self._do(action)

    def transfer(self, action: act.TransferToQueue | act.TransferToDestination) -> ev.Event | None:
        return self._do(action)

    def store_callback(self, action: act.StoreCallback) -> ev.Event | None:
        return self._do(action)

    def hangup(self, action: act.Hangup) -> None:
        self._do(action)


class AsyncRecorder:
    def __init__(self, answers: dict[type, ev.Event | None]) -> None:
        self.sync = Recorder(answers)

    async def play(self, action: act.Say | act.Play) -> ev.Event | None:
        return self.sync.play(action)

    async def collect(self, action: act.Collect) -> ev.Event | None:
        return self.sync.collect(action)

    async def lookup(self, action: act.Lookup) -> ev.Event | None:
        return self.sync.lookup(action)

    async def queue_status(self, action: act.GetQueueStatus) -> ev.Event | None:
        return self.sync.queue_status(action)

    async def transfer(
        self, action: act.TransferToQueue | act.TransferToDestination
    ) -> ev.Event | None:
        return self.sync.transfer(action)

    async def store_callback(self, action: act.StoreCallback) -> ev.Event | None:
        return self.sync.store_callback(action)

    async def hangup(self, action: act.Hangup) -> None:
        self.sync.hangup(action)


BARGED = ev.Digits(1.0, "1")
CASES = [
    # (actions, answers, performed, answer)
    ([SAY, SAY, COLLECT], {act.Collect: BARGED}, ["Say", "Say", "Collect"], BARGED),
    ([SAY, SAY, COLLECT], {act.Say: BARGED}, ["Say"], BARGED),  # barge-in: the rest is moot
    ([SAY, COLLECT, SAY], {}, ["Say", "Collect"], None),  # no answer yet: the call waits
    ([HANGUP, SAY], {}, ["Hangup", "Say"], None),  # a hang-up never answers
    ([LOOKUP, SAY], {}, ["Lookup"], None),
]


@pytest.mark.parametrize(("actions", "answers", "performed", "answer"), CASES)
def test_the_ordering_rule_is_the_same_in_both_flavours(
    actions: list[act.Action],
    answers: dict[type, ev.Event | None],
    performed: list[str],
    answer: ev.Event | None,
) -> None:
    host = Recorder(answers)
    assert perform(lambda a: carry_out(host, a), actions) == answer
    assert host.done == performed
    async_host = AsyncRecorder(answers)
    assert asyncio.run(perform_async(async_host, actions)) == answer
    assert async_host.sync.done == performed


def test_an_action_without_a_host_method_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="no host method performs"):
        carry_out(Recorder({}), typing.cast(act.Action, object()))


def test_drive_sends_answers_back_until_the_call_waits() -> None:
    call = testing.Call.open(FLOWS / "billing.ivr")
    host = Recorder({act.Collect: None})
    drive(call.session, lambda a: carry_out(host, a), [COLLECT])
    assert host.done == ["Collect"]
