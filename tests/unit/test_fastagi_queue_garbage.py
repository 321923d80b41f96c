"""Garbage queue figures from Asterisk (issue 13): a QUEUESTATUS no one knows, a QEHOLDTIME
that is no number of seconds. The record's queue leg says `failed` with the reason, bounded
in length like every field the gateway copies; the call never crashes and has one record."""

from __future__ import annotations

import pytest
from test_fastagi import FakeAsterisk, Lab, run

from ivrflow.tools.fuzzing.invariants import check_queue_leg

LONG = "X" * 3000


def one_record(fake: FakeAsterisk, uniqueid: str) -> dict[str, object]:
    async def scenario() -> Lab:
        async with Lab() as lab:
            await fake.call(lab.server.port, uniqueid)
        return lab

    (record,) = run(scenario()).records
    return record


@pytest.mark.parametrize("status", ["EXPLODED", "CONTINUE?", LONG])
def test_an_unknown_queuestatus_is_a_failed_leg(status: str) -> None:
    record = one_record(FakeAsterisk(["0"], queuestatus=status), "call-qg")
    leg = record["queue"]
    assert isinstance(leg, dict)
    assert leg["outcome"] == "failed", leg
    assert status[:40].lower() in str(leg["reason"]).lower(), leg
    assert len(str(leg["reason"])) <= 200 and len(str(leg.get("detail", ""))) <= 200, leg
    assert check_queue_leg(leg) is None


@pytest.mark.parametrize("hold", ["soon", "-3", "nan", "inf", "1e12", LONG])
def test_an_agents_answer_with_a_garbage_hold_time_is_a_failed_leg(hold: str) -> None:
    def special(cmd: str) -> list[str] | None:
        if cmd == 'GET VARIABLE "MEMBERINTERFACE"':
            return ["200 result=1 (PJSIP/agent1)"]
        if cmd == 'GET VARIABLE "QEHOLDTIME"':
            return [f"200 result=1 ({hold})"]
        return None

    record = one_record(FakeAsterisk(["0"], special=special), "call-qh")
    assert record["outcome"] == {"kind": "transferred", "queue": "billing"}  # the call went on
    leg = record["queue"]
    assert isinstance(leg, dict)
    assert (leg["outcome"], leg["wait"]) == ("failed", None), leg
    assert "wait is not usable" in str(leg["reason"]) and len(str(leg["reason"])) <= 200, leg
    assert check_queue_leg(leg) is None


def test_the_fuzzers_invariant_bounds_the_legs_text() -> None:
    leg = {"queue": "billing", "outcome": "failed", "wait": None, "reason": "x" * 201}
    assert "longer than 200" in str(check_queue_leg(leg))
    assert check_queue_leg({**leg, "reason": "x" * 200, "detail": "y" * 200}) is None
