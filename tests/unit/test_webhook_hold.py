"""The in-queue flow behind the webhook (issue 13 item 2): Twilio's documented sequence for
<Enqueue waitUrl> — the wait URL requested with QueuePosition, QueueTime, AvgQueueTime and
CurrentQueueSize, answered with the flow's message, position and EWT inside a one-key
<Gather>; the key posted back gives <Leave/>; the Enqueue action then says QueueResult=leave
— the caller left for a callback, which keeps the time waited. Every request signed."""

from __future__ import annotations

import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")

from aiohttp.test_utils import TestClient  # noqa: E402
from test_webhook import records, serve  # noqa: E402
from test_webhook_queue import TOKEN, SignedCall  # noqa: E402

from ivrflow.host.callbacks import MemoryCallbackStore  # noqa: E402
from ivrflow.host.engine import Engine  # noqa: E402
from ivrflow.host.gateways.twiml import HOLD_MUSIC, hold_page  # noqa: E402
from ivrflow.host.gateways.webhook import WebhookConfig  # noqa: E402

FLOW = """
flow hold "Hold"
  language en-US
queue billing "Billing"
start:
  -> agent
transfer agent:
  queue billing
  max_wait 10m
  while waiting:
    music default
    every 45s
    announce position, ewt
    say "Thank you for holding. Press 1 to be called back."
    1 -> queue_callback
  noanswer -> queue_callback
callback queue_callback:
  queue billing
  say "Press 1 to confirm the callback."
  scheduled: hangup "callback"
  declined -> agent
  noinput: say "Press 1."
  nomatch: say "Press 1."
  exhausted -> agent
"""
CALLER = {"From": "+15551230001", "To": "+15550000000"}


def flows(tmp_path: Path) -> Path:
    (tmp_path / "hold.ivr").write_text(textwrap.dedent(FLOW).lstrip(), encoding="utf-8")
    return tmp_path


def texts(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter("Say")]


def test_the_wait_page_plays_the_in_queue_flow_and_the_key_leaves_for_a_callback(
    tmp_path: Path,
) -> None:
    store = MemoryCallbackStore()
    seen: dict[str, Any] = {}

    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        engine.callbacks = store
        call = SignedCall(client, flow="hold")
        root = await call.post("/voice/hold", CallStatus="ringing", **CALLER)
        enqueue = root.find("Enqueue")
        assert enqueue is not None and enqueue.text == "billing", ET.tostring(root)
        wait_url = enqueue.get("waitUrl") or ""
        assert "hold=1" in wait_url and "max=600" in wait_url
        queue = {"QueueSid": "QU1", "CurrentQueueSize": "3", "AvgQueueTime": "240"}
        page = await call.post(wait_url, QueuePosition="3", QueueTime="0", **queue)
        gather = page.find("Gather")
        assert gather is not None and gather.get("numDigits") == "1", ET.tostring(page)
        assert texts(gather) == [
            "Thank you for holding. Press 1 to be called back.",
            "You are number 3 in line.",
            "Your estimated wait time is 4 minutes.",
        ]
        assert gather.findtext("Play") == HOLD_MUSIC  # a class: Twilio's own hold music
        seen["page"] = ET.tostring(page)
        # A key that is not the flow's: the caller keeps waiting (the page again).
        again = await call.post(gather.get("action") or "", Digits="5", QueueTime="50", **queue)
        assert again.find("Leave") is None and again.find("Gather") is not None
        # The flow's key: <Leave/>; then Twilio requests the Enqueue action with leave.
        left = await call.post(gather.get("action") or "", Digits="1", QueueTime="75", **queue)
        assert left.find("Leave") is not None, ET.tostring(left)
        config.clock.t += 76  # type: ignore[attr-defined]
        offer = await call.post(
            enqueue.get("action") or "", QueueResult="leave", QueueTime="75",
            CallStatus="in-progress",
        )  # fmt: skip
        assert "Press 1 to confirm the callback." in " ".join(texts(offer))
        await call.post(call.action or "", Digits="1", CallStatus="in-progress")
        await call.end("completed")

    engine, _ = serve(test, flows(tmp_path), auth_token=TOKEN)
    (record,) = records(engine)
    leg = record["queue"]
    assert (leg["outcome"], leg["wait"], leg["key"]) == ("left_for_callback", 75.0, "1")
    assert record["outcome"]["kind"] == "callback_scheduled"
    (request,) = store.pending()
    assert request.extra["waited"] == 75.0  # the callback keeps the caller's place


def test_the_maximum_wait_still_leaves_as_the_overflow(tmp_path: Path) -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = SignedCall(client, flow="hold")
        root = await call.post("/voice/hold", CallStatus="ringing", **CALLER)
        enqueue = root.find("Enqueue")
        assert enqueue is not None
        page = await call.post(enqueue.get("waitUrl") or "", QueuePosition="1", QueueTime="600")
        assert page.find("Leave") is not None
        await call.post(
            enqueue.get("action") or "", QueueResult="leave", QueueTime="600",
            CallStatus="in-progress",
        )  # fmt: skip
        await call.end("completed")

    engine, _ = serve(test, flows(tmp_path), auth_token=TOKEN)
    (record,) = records(engine)
    assert record["queue"]["outcome"] == "overflow"


def test_an_unsigned_key_is_refused(tmp_path: Path) -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = SignedCall(client, flow="hold")
        root = await call.post("/voice/hold", CallStatus="ringing", **CALLER)
        enqueue = root.find("Enqueue")
        assert enqueue is not None
        resp = await client.post(
            enqueue.get("waitUrl") or "", data={"CallSid": call.sid, "Digits": "1"}
        )
        assert resp.status == 403
        await call.end("completed")

    serve(test, flows(tmp_path), auth_token=TOKEN)


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"QueuePosition": "abc", "AvgQueueTime": "nan"},
        {"QueuePosition": "-2", "QueueTime": "x"},
    ],
)
def test_garbage_queue_figures_keep_the_caller_waiting_without_them(fields: dict[str, str]) -> None:
    plan = {"message": [], "announce": ["position", "ewt"], "music": None, "every": 30.0,
            "keys": ["1"], "language": "en-US"}  # fmt: skip
    root = ET.fromstring(hold_page(plan, fields, "600", "/voice/hold/wait?hold=1"))
    gather = root.find("Gather")
    assert gather is not None and texts(gather) == []
    pause = gather.find("Pause")
    assert pause is not None and pause.get("length") == "30"  # no music: `every` of silence
