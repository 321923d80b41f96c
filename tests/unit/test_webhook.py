"""The Twilio-style webhook gateway, against the app on the memory store."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiohttp")

from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from ivrflow.cli import serve as serve_command  # noqa: E402
from ivrflow.host.engine import Engine  # noqa: E402
from ivrflow.host.fixtures import for_flow, install  # noqa: E402
from ivrflow.host.gateways.session_store import MemorySessionStore  # noqa: E402
from ivrflow.host.gateways.signatures import signature  # noqa: E402
from ivrflow.host.gateways.webhook import WebhookConfig, create_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "flows"
# Monday 2026-11-23 10:00 in São Paulo: the billing desk is open.
T0 = dt.datetime(2026, 11, 23, 13, 0, tzinfo=dt.UTC).timestamp()
CALLER = {"From": "+5511912345678", "To": "+551130030001"}


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def on_flow(engine: Engine, flow: Any) -> None:
    install(engine, flow, for_flow(flow))


class Call:
    """A test client that follows the TwiML like Twilio would (action URLs)."""

    def __init__(self, client: TestClient, flow: str = "billing", sid: str = "CA1") -> None:
        self.client = client
        self.flow = flow
        self.sid = sid
        self.action: str | None = None
        self.redirect: str | None = None
        self.last: ET.Element | None = None

    async def post(self, url: str, status: int = 200, **fields: str) -> ET.Element:
        resp = await self.client.post(url, data={"CallSid": self.sid, **fields})
        text = await resp.text()
        assert resp.status == status, text
        assert resp.content_type == "text/xml"
        root = ET.fromstring(text)
        assert root.tag == "Response"
        for tag, attr in (("Gather", "action"), ("Enqueue", "action"), ("Dial", "action")):
            el = root.find(tag)
            if el is not None:
                self.action = el.get(attr)
        red = root.find("Redirect")
        self.redirect = red.text if red is not None else None
        self.last = root
        return root

    async def start(self, **fields: str) -> ET.Element:
        return await self.post(f"/voice/{self.flow}", CallStatus="ringing", **CALLER, **fields)

    async def press(self, digits: str) -> ET.Element:
        assert self.action is not None
        return await self.post(self.action, Digits=digits, CallStatus="in-progress")

    async def say(self, text: str, confidence: str = "0.9") -> ET.Element:
        assert self.action is not None
        return await self.post(
            self.action, SpeechResult=text, Confidence=confidence, CallStatus="in-progress"
        )

    async def silence(self) -> ET.Element:
        assert self.redirect is not None
        return await self.post(self.redirect, CallStatus="in-progress")

    async def end(self, status: str = "completed") -> ET.Element:
        return await self.post(f"/voice/{self.flow}", CallStatus=status)


def said(root: ET.Element) -> str:
    return " ".join(el.text or "" for el in root.iter("Say"))


def serve(
    test: Callable[[TestClient, Engine, WebhookConfig], Awaitable[None]],
    flows_dir: Path = FLOWS,
    **options: Any,
) -> tuple[Engine, WebhookConfig]:
    engine = Engine()
    config = WebhookConfig(flows_dir=flows_dir, clock=Clock(), on_flow=on_flow, **options)

    async def main() -> None:
        async with TestClient(TestServer(create_app(engine, config))) as client:
            await test(client, engine, config)

    asyncio.run(main())
    return engine, config


def records(engine: Engine) -> list[dict[str, Any]]:
    return list(engine.records.records)  # type: ignore[attr-defined]


# ------------------------------------------------------------------ a billing call
def test_billing_call_balance_then_caller_hangs_up() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = Call(client)
        root = await call.start()
        gather = root.find("Gather")
        assert gather is not None
        assert gather.get("numDigits") == "1"
        assert gather.get("method") == "POST"
        assert gather.get("action", "").startswith("/voice/billing?")
        assert "dtmf" in gather.get("input", "")
        # The prompts are inside the Gather: the caller can barge in.
        inner = [el.text or "" for el in gather.iter("Say")]
        assert any("faturamento da ACME" in t for t in inner)
        assert gather.find("Say").get("language") == "pt-BR"  # type: ignore[union-attr]
        assert root.find("Redirect") is not None  # the Gather timing out reports no input

        root = await call.press("2")
        gather = root.find("Gather")
        assert gather is not None
        assert gather.get("numDigits") == "12"
        assert gather.get("finishOnKey") == "#"
        assert gather.get("timeout") == "8"
        assert "contrato" in said(root)

        root = await call.press("79927398713")
        assert "7 9 9 2 7" in said(root)  # the read-back
        root = await call.press("1")
        # The look-up ran server-side, from flows/fixtures/billing.yaml.
        assert "R$ 152,30" in said(root)
        assert root.find("Gather") is not None
        assert records(engine) == []

        root = await call.end("completed")
        assert root.find("Say") is None
        assert len(config.store) == 1  # type: ignore[arg-type]  # the tombstone
        # The status callback delivered twice: the record is still written once.
        await call.end("completed")

    engine, _ = serve(test)
    (record,) = records(engine)
    assert record["call_id"] == "CA1"
    assert record["ani"] == "+5511912345678"
    assert record["outcome"]["kind"] == "abandoned"
    assert record["lookups"][0]["function"] == "fetch_account"


def test_transfer_to_queue_enqueues_and_bridged_ends_transferred() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = Call(client)
        await call.start()
        root = await call.press("0")
        # EWT 300 s (fixtures) > 3 min: the callback offer comes first.
        assert "ligamos de volta" in said(root)
        root = await call.press("2")  # keep holding
        enqueue = root.find("Enqueue")
        assert enqueue is not None, ET.tostring(root)
        assert enqueue.text == "billing"
        assert enqueue.get("method") == "POST"
        assert root.find("Gather") is None
        root = await call.post(call.action or "", QueueResult="bridged", CallStatus="in-progress")
        assert root.find("Hangup") is not None
        await call.end("completed")  # the status callback after the transfer: nothing to do

    engine, _ = serve(test)
    (record,) = records(engine)
    assert record["outcome"]["kind"] == "transferred"
    assert record["outcome"]["queue"] == "billing"


def test_queue_full_goes_to_the_flow_branch() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = Call(client)
        await call.start()
        await call.press("0")
        await call.press("2")
        root = await call.post(
            call.action or "", QueueResult="queue-full", CallStatus="in-progress"
        )
        assert root.find("Enqueue") is None
        assert said(root)  # agents_unavailable speaks
        await call.end()

    engine, _ = serve(test)
    (record,) = records(engine)
    assert record["outcome"]["kind"] in ("abandoned", "error")


def test_speech_and_no_input() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = Call(client)
        await call.start()
        root = await call.silence()  # the Gather timed out: Twilio follows the Redirect
        assert "ouvi" in said(root).lower() or root.find("Gather") is not None
        root = await call.say("saldo")
        assert root.find("Gather").get("numDigits") == "12"  # type: ignore[union-attr]
        await call.end()

    engine, _ = serve(test)
    (record,) = records(engine)
    assert record["noinput"] == 1
    assert record["inputs"][0]["kind"] == "speech"


def test_dial_number_transfer(tmp_path: Path) -> None:
    (tmp_path / "tiny.ivr").write_text(
        'flow tiny "Tiny"\n'
        "  language en-US\n"
        "  country US\n"
        "\n"
        "start:\n"
        '  say "Connecting you. <&> fine."\n'
        "  -> out\n"
        "\n"
        "transfer out:\n"
        '  number "+12125550100"\n'
        '  busy: hangup "busy"\n',
        encoding="utf-8",
    )

    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = Call(client, flow="tiny", sid="CA9")
        root = await call.start()
        assert said(root) == "Connecting you. <&> fine."  # escaped in the XML, intact here
        number = root.find("Dial/Number")
        assert number is not None and number.text == "+12125550100"
        root = await call.post(call.action or "", DialCallStatus="busy", CallStatus="in-progress")
        assert root.find("Hangup") is not None

    engine, _ = serve(test, flows_dir=tmp_path)
    (record,) = records(engine)
    assert record["outcome"]["kind"] != "transferred"


TYPED = """\
flow typed "Typed"
  language en-US

start:
  -> out

transfer out:
  {setting}
  failed: hangup "failed"
"""


@pytest.mark.parametrize(
    ("setting", "noun", "text", "digits", "outcome"),
    [
        (
            'sip "sip:888@conference.example.org"\n  postdial "ww4321#"',
            "Sip",
            "sip:888@conference.example.org",
            "ww4321#",
            {"sip": "sip:888@conference.example.org"},
        ),
        ('number "+12125550100"\n  postdial "w9"', "Number", "+12125550100", "w9", None),
        ('extension "1234@sales"', "Sip", "sip:1234@pbx.example.com;ctx=sales", None, None),
    ],
)
def test_dial_nouns_by_destination_kind(
    tmp_path: Path,
    setting: str,
    noun: str,
    text: str,
    digits: str | None,
    outcome: dict[str, str] | None,
) -> None:
    (tmp_path / "typed.ivr").write_text(TYPED.format(setting=setting), encoding="utf-8")

    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = Call(client, flow="typed", sid="CA-typed")
        root = await call.start()
        element = root.find(f"Dial/{noun}")
        assert element is not None and element.text == text
        assert element.get("sendDigits") == digits
        await call.post(call.action or "", DialCallStatus="completed", CallStatus="in-progress")

    engine, _ = serve(
        test, flows_dir=tmp_path, extension_uri="sip:{extension}@pbx.example.com;ctx={context}"
    )
    (record,) = records(engine)
    assert record["outcome"]["kind"] == "transferred"
    if outcome:
        assert record["outcome"] == {"kind": "transferred", **outcome}


def test_an_extension_without_an_extension_uri_takes_the_failed_branch(tmp_path: Path) -> None:
    (tmp_path / "typed.ivr").write_text(TYPED.format(setting='extension "1234"'), encoding="utf-8")

    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        root = await Call(client, flow="typed", sid="CA-ext").start()
        assert root.find("Dial") is None
        assert root.find("Hangup") is not None

    engine, _ = serve(test, flows_dir=tmp_path)
    (record,) = records(engine)
    assert record["outcome"] == {"kind": "self_served", "reason": "failed"}
    assert "--extension-uri" in record["errors"][0]


# ------------------------------------------------------------------ robustness
def test_unknown_call_with_digits_gets_a_polite_goodbye() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = Call(client, sid="CA-expired")
        root = await call.post("/voice/billing?s=3&t=1", Digits="1", CallStatus="in-progress")
        assert "não está mais ativa" in said(root)
        assert root.find("Hangup") is not None
        # A status callback for a call never seen: an empty answer.
        root = await call.end("completed")
        assert list(root) == []

    engine, config = serve(test)
    assert records(engine) == []
    assert len(config.store) == 0  # type: ignore[arg-type]


def test_duplicate_delivery_is_answered_again_not_applied_twice() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = Call(client)
        await call.start()
        url = call.action or ""
        first = await call.post(url, Digits="2", CallStatus="in-progress")
        again = await call.post(url, Digits="2", CallStatus="in-progress")
        assert ET.tostring(first) == ET.tostring(again)
        # A duplicate of the very first request too.
        dup = await call.start()
        assert ET.tostring(dup) == ET.tostring(first)
        await call.end()

    engine, _ = serve(test)
    (record,) = records(engine)
    assert [i["value"] for i in record["inputs"]] == ["2"]


def test_concurrent_requests_for_one_call_apply_once() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = Call(client)
        await call.start()
        url = call.action or ""
        answers = await asyncio.gather(
            *(client.post(url, data={"CallSid": "CA1", "Digits": "2"}) for _ in range(5))
        )
        texts = {await a.text() for a in answers}
        assert len(texts) == 1
        got = await config.store.get("CA1")
        assert got is not None and got[0]["step"] == 2
        await call.end()

    engine, _ = serve(test)
    (record,) = records(engine)
    assert [i["value"] for i in record["inputs"]] == ["2"]


def test_malformed_requests() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        resp = await client.post("/voice/billing", data={"From": "+5511912345678"})
        assert resp.status == 400  # no CallSid
        resp = await client.post(
            "/voice/billing", data=b"\xff\xfe{not a form", headers={"Content-Type": "text/plain"}
        )
        assert resp.status == 400
        resp = await client.post(
            "/voice/billing",
            data=b"CallSid=%ZZ&&=&Digits",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert resp.status in (200, 400)
        resp = await client.post("/voice/nope", data={"CallSid": "CA2"})
        assert resp.status == 404
        resp = await client.post("/voice/..%2Fetc", data={"CallSid": "CA2"})
        assert resp.status == 404
        resp = await client.get("/voice/billing")
        assert resp.status == 405

    serve(test)


# ------------------------------------------------------------------ signatures
TOKEN = "12345678901234567890123456789012"


def test_signature_matches_twilio_documentation_example() -> None:
    # The example from Twilio's security docs (auth token "12345").
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }
    assert signature("12345", url, params) == "GvWf1cFY/Q7PnoempGyD5oXAezc="


def test_signature_validation_valid_invalid_missing() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        base = str(client.make_url(""))
        fields = {"CallSid": "CA5", "CallStatus": "ringing", **CALLER}
        url = base + "/voice/billing"
        resp = await client.post("/voice/billing", data=fields)
        assert resp.status == 403  # missing
        bad = {"X-Twilio-Signature": signature("wrong-token", url, fields)}
        resp = await client.post("/voice/billing", data=fields, headers=bad)
        assert resp.status == 403
        tampered = {"X-Twilio-Signature": signature(TOKEN, url, {**fields, "From": "+1"})}
        resp = await client.post("/voice/billing", data=fields, headers=tampered)
        assert resp.status == 403
        good = {"X-Twilio-Signature": signature(TOKEN, url, fields)}
        resp = await client.post("/voice/billing", data=fields, headers=good)
        assert resp.status == 200
        root = ET.fromstring(await resp.text())
        action = root.find("Gather").get("action")  # type: ignore[union-attr]
        assert action is not None
        # A signed callback, too old: a replay.
        config.clock.t += 2 * 3600  # type: ignore[attr-defined]
        press = {"CallSid": "CA5", "Digits": "2"}
        sig = {"X-Twilio-Signature": signature(TOKEN, base + action, press)}
        resp = await client.post(action, data=press, headers=sig)
        assert resp.status == 403
        config.clock.t -= 2 * 3600 - 10  # type: ignore[attr-defined]
        resp = await client.post(action, data=press, headers=sig)
        assert resp.status == 200

    serve(test, auth_token=TOKEN)


def test_signature_uses_public_url_behind_a_proxy() -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        fields = {"CallSid": "CA6", "CallStatus": "ringing", **CALLER}
        url = "https://ivr.example.com/voice/billing"
        sig = {"X-Twilio-Signature": signature(TOKEN, url, fields)}
        resp = await client.post("/voice/billing", data=fields, headers=sig)
        assert resp.status == 200

    serve(test, auth_token=TOKEN, public_url="https://ivr.example.com/")


def test_the_token_is_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        resp = await client.post("/voice/billing", data={"CallSid": "CA7"})
        assert resp.status == 403

    with caplog.at_level("DEBUG"):
        _, config = serve(test, auth_token=TOKEN)
    assert TOKEN not in caplog.text
    assert TOKEN not in repr(config)


# ------------------------------------------------------------------ the store
def test_memory_store_optimistic_locking() -> None:
    async def test() -> None:
        store = MemorySessionStore(ttl=60)
        assert await store.get("c") is None
        assert await store.put("c", {"a": 1}, None)
        assert not await store.put("c", {"a": 2}, None)  # exists already
        data, version = await store.get("c")  # type: ignore[misc]
        assert data == {"a": 1}
        assert await store.put("c", {"a": 2}, version)
        assert not await store.put("c", {"a": 3}, version)  # someone else wrote first
        assert await store.get("c") == ({"a": 2}, version + 1)
        await store.delete("c")
        assert await store.get("c") is None
        assert await store.ping()

    asyncio.run(test())


def test_memory_store_expires() -> None:
    async def test() -> None:
        store = MemorySessionStore(ttl=-1)
        assert await store.put("c", {"a": 1}, None)
        assert await store.get("c") is None

    asyncio.run(test())


# ------------------------------------------------------------------ command line
def test_add_arguments_and_missing_dependency(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    serve_command.add_webhook_arguments(parser)
    args = parser.parse_args([str(FLOWS), "--listen", "127.0.0.1:0"])
    assert args.redis is None
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    assert serve_command.run_webhook(args) == 2
    assert "ivrflow[webhook]" in capsys.readouterr().err


def test_run_refuses_a_missing_directory(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    serve_command.add_webhook_arguments(parser)
    args = parser.parse_args([str(tmp_path / "nope")])
    assert serve_command.run_webhook(args) == 2


class MeddlingStore(MemorySessionStore):
    """Another worker writes the call between our read and our write, `meddle` times."""

    def __init__(self, meddle: int) -> None:
        super().__init__()
        self.meddle = meddle
        self.conflicts = 0

    async def put(self, call_id: str, data: dict[str, Any], expected_version: int | None) -> bool:
        if expected_version is not None and self.meddle > 0:
            self.meddle -= 1
            current = await self.get(call_id)
            assert current is not None
            assert await super().put(call_id, current[0], current[1])  # same data, new version
        ok = await super().put(call_id, data, expected_version)
        self.conflicts += not ok
        return ok


def test_a_lost_race_is_retried_from_the_fresh_state() -> None:
    store = MeddlingStore(meddle=0)

    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = Call(client)
        await call.start()
        store.meddle = 2
        root = await call.press("2")
        assert root.find("Gather").get("numDigits") == "12"  # type: ignore[union-attr]
        assert store.conflicts == 2
        await call.end()

    engine, _ = serve(test, store=store)
    (record,) = records(engine)
    assert [i["value"] for i in record["inputs"]] == ["2"]


def test_endless_contention_asks_twilio_to_send_the_input_again() -> None:
    store = MeddlingStore(meddle=0)

    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = Call(client)
        await call.start()
        store.meddle = 100
        root = await call.press("2")
        assert root.find("Gather") is None
        assert root.find("Pause") is not None
        again = root.find("Redirect")
        assert again is not None and "Digits=2" in (again.text or "")
        store.meddle = 0
        root = await call.post(again.text or "", CallStatus="in-progress")  # Twilio follows it
        assert root.find("Gather").get("numDigits") == "12"  # type: ignore[union-attr]
        await call.end()

    engine, _ = serve(test, store=store)
    (record,) = records(engine)
    assert [i["value"] for i in record["inputs"]] == ["2"]


MENU_FLOW = """\
flow menu "Menu"
  language en-US

start:
  play "sounds/hello.wav"
  say "Calls are recorded." barge-in off
  -> main

menu main:
  say "Press 1 to end."
  1 -> bye
  noinput: say "Nothing?"
  nomatch: say "No."
  exhausted -> bye

step bye:
  say "Bye."
  hangup "done"
"""


def test_prompts_without_barge_in_stay_outside_the_gather(tmp_path: Path) -> None:
    (tmp_path / "menu.ivr").write_text(MENU_FLOW, encoding="utf-8")

    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = Call(client, flow="menu", sid="CA-menu")
        root = await call.start()
        tags = [el.tag for el in root]
        assert tags == ["Play", "Say", "Gather", "Redirect"]
        assert root[0].text == "https://media.example.com/sounds/hello.wav"
        assert root[1].text == "Calls are recorded."  # not interruptible: before the Gather
        gather = root.find("Gather")
        assert gather is not None
        assert [el.text for el in gather] == ["Press 1 to end."]
        assert gather.get("input") == "dtmf"  # no phrases: keys only
        root = await call.press("1")
        assert [el.tag for el in root] == ["Say", "Hangup"]
        await call.end()  # the status callback after our hang-up: no second record

    engine, config = serve(
        test, flows_dir=tmp_path, play_base_url="https://media.example.com/", voice="Polly.Joanna"
    )
    (record,) = records(engine)
    assert record["outcome"]["kind"] == "self_served"


def test_default_voice_is_used_for_say(tmp_path: Path) -> None:
    (tmp_path / "menu.ivr").write_text(MENU_FLOW, encoding="utf-8")

    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        root = await Call(client, flow="menu", sid="CA-v").start()
        assert {el.get("voice") for el in root.iter("Say")} == {"Polly.Joanna"}

    serve(test, flows_dir=tmp_path, voice="Polly.Joanna")


def test_a_malformed_snapshot_key_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    serve_command.add_webhook_arguments(parser)
    args = parser.parse_args([str(FLOWS), "--listen", "127.0.0.1:0"])
    monkeypatch.setenv("IVRFLOW_SNAPSHOT_KEY", "k1=raw:AAAA")
    assert serve_command.run_webhook(args) == 2
    err = capsys.readouterr().err
    assert "256 bits" in err and "AAAA" not in err


FREE_SPEECH = """\
flow reason "Why are you calling"
  language en-US
  hints "ACME"

start:
  -> reason

capture reason:
  words 1..20
  speech_language en-GB
  speech_timeout 2s
  hints "invoice", "refund"
  say "In a few words, why are you calling?"
  ok:
    say "Thanks: {{ reason }}."
    hangup "heard"
  noinput: say "Sorry?"
  nomatch: say "Sorry?"
  exhausted: hangup "gave up"

menu keys_only:
  input dtmf
  say "Press 1."
  1 -> reason
  noinput: say "Press 1."
  nomatch: say "Press 1."
  exhausted: hangup
"""


def test_gather_carries_the_input_mode_and_the_recognizer(tmp_path: Path) -> None:
    (tmp_path / "reason.ivr").write_text(FREE_SPEECH, encoding="utf-8")

    async def test(client: TestClient, engine: Engine, config: WebhookConfig) -> None:
        call = Call(client, flow="reason", sid="CA-free")
        root = await call.start()
        gather = root.find("Gather")
        assert gather is not None
        assert gather.get("input") == "speech"
        assert gather.get("language") == "en-GB"
        assert gather.get("speechTimeout") == "2"
        assert gather.get("hints") == "invoice, refund"
        assert gather.get("numDigits") is None and gather.get("finishOnKey") == ""
        root = await call.say("my invoice is wrong")
        assert said(root) == "Thanks: my invoice is wrong."

    engine, _ = serve(test, flows_dir=tmp_path)
    (record,) = records(engine)
    assert record["outcome"] == {"kind": "self_served", "reason": "heard"}
