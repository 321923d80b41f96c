"""The webhook's queue leg (issue 13): Twilio's documented request sequence for <Enqueue>,
every request signed. The caller is placed with <Enqueue action=…>; Twilio requests the
action URL when the caller leaves the queue, with QueueResult (bridged, hangup, queue-full,
leave, …) and QueueTime (seconds in the queue) — also when the caller hung up there, with a
terminal CallStatus — and then the status callback."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")

from aiohttp.test_utils import TestClient  # noqa: E402
from test_webhook import Call, records, serve  # noqa: E402

from ivrflow.host.engine import Engine  # noqa: E402
from ivrflow.host.gateways.signatures import signature  # noqa: E402
from ivrflow.host.gateways.webhook import WebhookConfig  # noqa: E402

TOKEN = "0123456789abcdef0123456789abcdef"


class SignedCall(Call):
    """Twilio's side: every request carries X-Twilio-Signature over the full URL and form."""

    async def post(self, url: str, status: int = 200, **fields: str) -> ET.Element:
        form = {"CallSid": self.sid, "AccountSid": "AC1", **fields}
        full = str(self.client.make_url("")) + url
        headers = {"X-Twilio-Signature": signature(TOKEN, full, form)}
        resp = await self.client.post(url, data=form, headers=headers)
        text = await resp.text()
        assert resp.status == status, text
        root = ET.fromstring(text)
        for tag in ("Gather", "Enqueue", "Dial"):
            el = root.find(tag)
            if el is not None:
                self.action = el.get("action")
        red = root.find("Redirect")
        self.redirect = red.text if red is not None else None
        return root


async def to_the_queue(call: SignedCall, config: WebhookConfig) -> None:
    """0 → agent; the EWT (300 s) offers a callback, 2 keeps holding: <Enqueue>."""
    clock: Any = config.clock
    await call.start()
    clock.t += 8
    await call.press("0")
    clock.t += 9
    root = await call.press("2")
    enqueue = root.find("Enqueue")
    assert enqueue is not None and enqueue.text == "billing", ET.tostring(root)


def leg_of(engine: Engine) -> tuple[dict[str, Any], dict[str, Any]]:
    (record,) = records(engine)
    return record, record["queue"]


def test_bridged_after_queue_time_is_answered_with_that_wait() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = SignedCall(client)
        await to_the_queue(call, config)
        config.clock.t += 400  # type: ignore[attr-defined]  # the wait and the conversation
        root = await call.post(
            call.action or "", QueueResult="bridged", QueueSid="QU1", QueueTime="42",
            CallStatus="in-progress",
        )  # fmt: skip
        assert root.find("Hangup") is not None
        await call.end("completed")

    engine, _ = serve(test, auth_token=TOKEN)
    record, leg = leg_of(engine)
    assert record["outcome"] == {"kind": "transferred", "queue": "billing"}
    assert (leg["outcome"], leg["wait"], leg["ewt_announced"]) == ("answered", 42.0, 300.0)
    assert record["duration"] == 17.0  # the IVR's part: up to <Enqueue>, not the 400 s after


def test_hanging_up_in_the_queue_is_queue_abandonment_not_the_ivrs() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = SignedCall(client)
        await to_the_queue(call, config)
        config.clock.t += 30  # type: ignore[attr-defined]
        await call.post(
            call.action or "", QueueResult="hangup", QueueSid="QU1", QueueTime="30",
            CallStatus="completed",
        )  # fmt: skip
        await call.end("completed")  # the status callback: the call is already recorded

    engine, _ = serve(test, auth_token=TOKEN)
    record, leg = leg_of(engine)
    assert record["outcome"]["kind"] == "transferred"
    assert (leg["outcome"], leg["wait"], leg["detail"]) == ("abandoned", 30.0, "hangup")


@pytest.mark.parametrize("queue_time", [None, "", "abc", "-5", "nan", "1e99"])
def test_a_missing_or_garbage_queue_time_is_a_failed_leg(queue_time: str | None) -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = SignedCall(client)
        await to_the_queue(call, config)
        fields = {"QueueResult": "bridged", "CallStatus": "in-progress"}
        if queue_time is not None:
            fields["QueueTime"] = queue_time
        await call.post(call.action or "", **fields)
        await call.end("completed")

    engine, _ = serve(test, auth_token=TOKEN)
    record, leg = leg_of(engine)
    assert record["outcome"]["kind"] == "transferred"
    assert leg["outcome"] == "failed" and leg["reason"], leg


def test_a_full_queue_goes_on_in_the_flow_and_the_leg_says_full() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = SignedCall(client)
        await to_the_queue(call, config)
        root = await call.post(
            call.action or "", QueueResult="queue-full", QueueTime="0", CallStatus="in-progress"
        )
        assert root.find("Enqueue") is None  # agents_unavailable speaks instead
        await call.end("completed")

    engine, _ = serve(test, auth_token=TOKEN)
    _, leg = leg_of(engine)
    assert (leg["outcome"], leg["wait"]) == ("full", 0.0)


def test_an_unsigned_queue_callback_is_refused() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = SignedCall(client)
        await to_the_queue(call, config)
        form = {"CallSid": call.sid, "QueueResult": "bridged", "QueueTime": "5"}
        resp = await client.post(call.action or "", data=form)
        assert resp.status == 403
        assert records(engine) == []  # nothing forged reaches the record
        await call.post(call.action or "", QueueResult="bridged", QueueTime="7")

    engine, _ = serve(test, auth_token=TOKEN)
    _, leg = leg_of(engine)
    assert (leg["outcome"], leg["wait"]) == ("answered", 7.0)


OVERFLOW = """flow overflow "Overflow"
  language en-US
queue billing "Billing"
start:
  -> agent
transfer agent:
  queue billing
  max_wait 30s
  noanswer:
    say "Nobody is free; we will call you back."
    hangup "overflow"
"""


def test_the_wait_url_holds_then_leaves_at_the_maximum_and_the_leg_overflows(
    tmp_path: Path,
) -> None:
    (tmp_path / "overflow.ivr").write_text(OVERFLOW, encoding="utf-8")

    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = SignedCall(client, flow="overflow")
        root = await call.start()
        enqueue = root.find("Enqueue")
        assert enqueue is not None, ET.tostring(root)
        wait_url = enqueue.get("waitUrl") or ""
        assert (
            wait_url.startswith("/voice/overflow/wait?") and enqueue.get("waitUrlMethod") == "POST"
        )
        action = call.action or ""
        # Twilio asks the wait URL again each time its TwiML ends, with the time waited.
        held = await call.post(wait_url, QueueSid="QU1", QueueTime="12", QueuePosition="1")
        assert held.find("Play") is not None and held.find("Leave") is None
        left = await call.post(wait_url, QueueSid="QU1", QueueTime="31", QueuePosition="1")
        assert left.find("Leave") is not None
        resp = await client.post(wait_url, data={"CallSid": call.sid, "QueueTime": "99"})
        assert resp.status == 403  # the wait page is signed like every request
        root = await call.post(
            action, QueueResult="leave", QueueTime="31", CallStatus="in-progress"
        )
        assert "call you back" in " ".join(el.text or "" for el in root.iter("Say"))

    engine, _ = serve(test, flows_dir=tmp_path, auth_token=TOKEN)
    record, leg = leg_of(engine)
    assert record["outcome"] == {"kind": "self_served", "reason": "overflow"}
    assert (leg["outcome"], leg["wait"], leg["detail"]) == ("overflow", 31.0, "leave")
