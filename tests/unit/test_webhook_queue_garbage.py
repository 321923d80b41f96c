"""Garbage in <Enqueue>'s action callback (issue 13): a QueueResult Twilio never sends, or
one as long as a form allows. The record's queue leg says `failed` with the reason, bounded
in length; the call goes on and has one record. (A garbage QueueTime: test_webhook_queue.py.)"""

from __future__ import annotations

import pytest

pytest.importorskip("aiohttp")

from aiohttp.test_utils import TestClient  # noqa: E402
from test_webhook import serve  # noqa: E402
from test_webhook_queue import TOKEN, SignedCall, leg_of, to_the_queue  # noqa: E402

from ivrflow.host.engine import Engine  # noqa: E402
from ivrflow.host.gateways.webhook import WebhookConfig  # noqa: E402
from ivrflow.tools.fuzzing.invariants import check_queue_leg  # noqa: E402


@pytest.mark.parametrize("result", ["exploded", "bridged?", "\x00\x01", "y" * 20_000])
def test_an_unknown_queue_result_is_a_failed_leg(result: str) -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = SignedCall(client)
        await to_the_queue(call, config)
        await call.post(
            call.action or "", QueueResult=result, QueueTime="12", CallStatus="in-progress"
        )
        await call.end("completed")

    engine, _ = serve(test, auth_token=TOKEN)
    record, leg = leg_of(engine)
    assert leg["outcome"] == "failed" and leg["reason"], leg
    assert len(leg["reason"]) <= 200 and len(leg.get("detail", "")) <= 200, leg
    assert check_queue_leg(leg) is None
    assert record["outcome"]["kind"] in ("self_served", "error", "abandoned"), record
