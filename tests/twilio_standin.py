"""A local stand-in for Twilio's Calls API, for the outbound callback tests and bench.

It follows Twilio's documented sequence for a call created with the REST API:

1. `POST /2010-04-01/Accounts/{AccountSid}/Calls.json` (HTTP basic auth with the account SID
   and auth token; form `To`, `From`, `Url`, `StatusCallback`, `MachineDetection`, …) →
   `201` with the Call resource as JSON (`sid` "CA…", `status` "queued"); `400` when `To`,
   `From` or `Url` is missing; `401` on bad credentials.
2. The call goes `queued` → `initiated` → `ringing` while the customer's phone (scripted per
   number, see `Phone`) rings. Busy, no answer or failed: no request to `Url`;
   `StatusCallback` gets `CallStatus` busy / no-answer / failed.
3. Answered: with `MachineDetection=Enable` Twilio detects first, then requests `Url` with
   `CallStatus=in-progress`, `Direction=outbound-api` and `AnsweredBy`: `human`,
   `machine_start`, `fax` or `unknown` (detection timed out; the call goes on like a human's);
   with `DetectMessageEnd` a machine is `machine_end_beep` once its greeting ended. The TwiML is followed: `<Gather>` posts its `action` with `Digits`
   (the phone's next keys), or falls through to the next verb when the phone has none;
   `<Redirect>` is requested; `<Enqueue>` posts its `action` with `QueueResult=bridged`
   (an agent took the call) and `QueueTime`; `<Hangup/>` or the end of the document ends it.
4. `StatusCallback` gets the call-progress events named by `StatusCallbackEvent` (one
   parameter each: `initiated`, `ringing`, `answered` with `CallStatus=in-progress`,
   `completed`), only `completed` when none is named, each with `CallbackSource=
   call-progress-events`, a `SequenceNumber` from 0 and a `Timestamp`. The completed one has
   the final `CallStatus`, `CallDuration` and, with machine detection, `AnsweredBy`. `GET …/Calls/{Sid}.json` gives the resource (`status`,
   `answered_by`) at any time.

Checked against Twilio's own pages: the call-create parameters and the StatusCallbackEvent
default (Twilio's API reference, "Create a Call",
https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource), the AnsweredBy
values of each mode (https://www.twilio.com/docs/voice/answering-machine-detection), and the
order of the states (https://support.twilio.com/hc/en-us/articles/223132267-Tracking-the-Status-of-an-Outbound-Twilio-Voice-Call).

Every request to our webhook is signed (`X-Twilio-Signature`) when a token is given.
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import urljoin

from aiohttp import ClientSession, web

from ivrflow.host.gateways.signatures import signature


@dataclass
class Phone:
    """How the customer's phone answers: `answer` is "human", "machine", "fax", "unknown" (a
    person detection cannot place), "busy", "no-answer" or "failed"; a human (or "unknown")
    presses `keys` one Gather at a time."""

    answer: str = "human"
    keys: list[str] = field(default_factory=lambda: ["1"])
    ring: float = 0.0  # seconds before it answers (or gives up)


@dataclass
class Call:
    sid: str
    form: dict[str, str]
    status: str = "queued"
    answered_by: str | None = None
    said: list[str] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (url, form)
    queued: str | None = None
    started: float = field(default_factory=time.time)
    events: tuple[str, ...] = ("completed",)  # the StatusCallbackEvent values asked for
    sequence: int = 0  # the next status callback's SequenceNumber

    def resource(self, account: str) -> dict[str, Any]:
        return {
            "sid": self.sid,
            "account_sid": account,
            "to": self.form.get("To"),
            "from": self.form.get("From"),
            "status": self.status,
            "direction": "outbound-api",
            "answered_by": self.answered_by,
            "api_version": "2010-04-01",
            "date_created": formatdate(self.started, usegmt=True),  # RFC 2822, as Twilio
            "uri": f"/2010-04-01/Accounts/{account}/Calls/{self.sid}.json",
        }


class TwilioStandIn:
    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        phones: Callable[[str], Phone] | None = None,
        sign_with: str | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.phones = phones or (lambda number: Phone())
        self.sign_with = sign_with  # the webhook's token, to sign our requests to it
        self.calls: dict[str, Call] = {}
        self.creates = 0
        self.down = False  # answer 503 to call-create (the API is having an outage)
        self.lose_status_callbacks = False  # they never reach the webhook (a network fault)
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application()
        base = "/2010-04-01/Accounts/{account}/Calls"
        app.router.add_post(base + ".json", self.create)
        app.router.add_get(base + ".json", self.list_calls)
        app.router.add_get(base + "/{sid}.json", self.fetch)
        app.on_cleanup.append(self._cleanup)
        return app

    async def _cleanup(self, app: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()

    def _authorized(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return (
            request.match_info["account"] == self.account_sid
            and request.headers.get("Authorization") == f"Basic {expected}"
        )

    async def create(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        if self.down:
            return web.json_response({"code": 20500, "message": "Internal error"}, status=503)
        posted = await request.post()
        form = {k: v for k, v in posted.items() if isinstance(v, str)}
        for name in ("To", "From", "Url"):
            if not form.get(name):
                return web.json_response(
                    {"code": 21201 if name == "To" else 21213, "message": f"No '{name}'"},
                    status=400,
                )
        if form.get("MachineDetection", "Enable") not in ("Enable", "DetectMessageEnd"):
            return web.json_response(
                {"code": 21626, "message": "Invalid MachineDetection"}, status=400
            )
        call = Call("CA" + secrets.token_hex(16), form)
        asked = tuple(str(v) for v in posted.getall("StatusCallbackEvent", []))
        if asked:  # one parameter per event, as Twilio takes them; completed only by default
            call.events = asked
        self.calls[call.sid] = call
        self.creates += 1
        task = asyncio.ensure_future(self._life(call))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response(call.resource(self.account_sid), status=201)

    async def fetch(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        call = self.calls.get(request.match_info["sid"])
        if call is None:
            return web.json_response({"code": 20404, "message": "Not found"}, status=404)
        return web.json_response(call.resource(self.account_sid))

    async def list_calls(self, request: web.Request) -> web.Response:
        """`GET …/Calls.json?To=…&StartTime>=YYYY-MM-DD`: newest first, as Twilio pages it."""
        if not self._authorized(request):
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        to, since = request.query.get("To"), request.query.get("StartTime>")
        day = time.strftime("%Y-%m-%d", time.gmtime(0)) if since is None else since
        found = [
            c.resource(self.account_sid)
            for c in sorted(self.calls.values(), key=lambda c: -c.started)
            if (to is None or c.form.get("To") == to)
            and time.strftime("%Y-%m-%d", time.gmtime(c.started)) >= day
        ]
        return web.json_response({"calls": found, "page": 0, "page_size": 50})

    # ------------------------------------------------------------ the call's life
    def _params(self, call: Call, **more: str) -> dict[str, str]:
        params = {
            "CallSid": call.sid,
            "AccountSid": self.account_sid,
            "From": call.form["From"],
            "To": call.form["To"],
            "CallStatus": call.status,
            "Direction": "outbound-api",
            "ApiVersion": "2010-04-01",
        }
        if call.answered_by is not None:
            params["AnsweredBy"] = call.answered_by
        params.update(more)
        return params

    async def _post(self, call: Call, url: str, params: dict[str, str]) -> str:
        if self._client is None:
            self._client = ClientSession()
        headers = {}
        if self.sign_with:
            headers["X-Twilio-Signature"] = signature(self.sign_with, url, params)
        call.requests.append((url, params))
        async with self._client.post(url, data=params, headers=headers) as response:
            return await response.text()

    async def _progress(self, call: Call, event: str, **more: str) -> None:
        """One call-progress event to StatusCallback, if the call-create request asked."""
        url = call.form.get("StatusCallback")
        if not url or event not in call.events or self.lose_status_callbacks:
            return
        extra = {
            "CallbackSource": "call-progress-events",
            "SequenceNumber": str(call.sequence),
            "Timestamp": formatdate(time.time(), usegmt=True),
            **more,
        }
        call.sequence += 1
        await self._post(call, url, self._params(call, **extra))

    async def _life(self, call: Call) -> None:
        phone = self.phones(call.form["To"])
        call.status = "initiated"
        await self._progress(call, "initiated")
        call.status = "ringing"
        await self._progress(call, "ringing")
        await asyncio.sleep(phone.ring)
        if phone.answer in ("busy", "no-answer", "failed"):
            call.status = phone.answer
        else:
            call.status = "in-progress"
            mode = call.form.get("MachineDetection")
            if mode is not None:
                call.answered_by = {
                    "machine": "machine_end_beep"
                    if mode == "DetectMessageEnd"
                    else "machine_start",
                    "fax": "fax",
                    "unknown": "unknown",
                }.get(phone.answer, "human")
            await self._progress(call, "answered")
            await self._converse(call, phone)
            call.status = "completed"
        await self._progress(call, "completed", CallDuration=str(int(time.time() - call.started)))

    async def _converse(self, call: Call, phone: Phone) -> None:
        keys = list(phone.keys) if phone.answer in ("human", "unknown") else []
        url, params = call.form["Url"], self._params(call)
        for _ in range(50):  # a flow that loops forever is the webhook's bug, not a hang here
            document = ET.fromstring(await self._post(call, url, params))
            following = self._follow(call, document, url, keys)
            if following is None:
                return
            url, params = following

    def _follow(
        self, call: Call, document: ET.Element, url: str, keys: list[str]
    ) -> tuple[str, dict[str, str]] | None:
        """The next request the TwiML leads to, or None when the call ends."""
        for verb in document:
            if verb.tag in ("Say", "Play"):
                call.said.append((verb.text or "").strip())
            elif verb.tag == "Gather":
                call.said.extend((v.text or "").strip() for v in verb if v.tag == "Say")
                if keys:
                    action = urljoin(url, verb.get("action") or url)
                    return action, self._params(call, Digits=keys.pop(0))
            elif verb.tag == "Redirect":
                return urljoin(url, (verb.text or "").strip()), self._params(call)
            elif verb.tag == "Enqueue":
                call.queued = (verb.text or "").strip()
                action = verb.get("action")
                if not action:
                    return None
                return urljoin(url, action), self._params(
                    call, QueueResult="bridged", QueueTime="3", QueueSid="QU" + "0" * 32
                )
            elif verb.tag == "Hangup":
                return None
        return None


async def start(standin: TwilioStandIn, port: int = 0) -> tuple[web.AppRunner, str]:
    """Serve the stand-in on 127.0.0.1; (runner, base URL)."""
    runner = web.AppRunner(standin.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    sockets = site._server.sockets  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
