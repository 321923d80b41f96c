"""Placing callbacks through a Twilio-style REST API (the `Dialer` of the dispatcher).

One attempt is one call-create request, as Twilio documents it:

    POST {base}/2010-04-01/Accounts/{AccountSid}/Calls.json      (HTTP basic: sid, token)
    To=+5511987654321  From=+551140040000
    Url={webhook}/voice/{flow}?cb={attempt}                the outbound flow, on our webhook
    StatusCallback={webhook}/callback-status?cb={attempt}  the call's end (CallStatus, AnsweredBy)
    StatusCallbackMethod=POST  MachineDetection=Enable  Timeout=30
    → 201 {"sid": "CA…", "status": "queued", …}

With `MachineDetection=Enable` Twilio answers, listens, and only then requests `Url` with
`AnsweredBy` (`human`, `machine_start`, `fax`, `unknown`); the webhook hangs up on a machine or
a fax and lets `unknown` (detection timed out) run the flow as a person. With no
`StatusCallbackEvent` Twilio posts `StatusCallback` once, at the end, with `CallStatus`
(`completed`, `busy`, `no-answer`, `failed`, `canceled`): the webhook records the attempt (see
`callback_webhook`). `status_events` asks for more (`initiated`, `ringing`, `answered`, one
parameter each); the webhook answers those without recording anything. An adopting
dispatcher asks `GET …/Calls/{sid}.json` for `status` and `answered_by`.

As Twilio documents them: the call-create parameters and the StatusCallbackEvent default in
its API reference, "Create a Call" (https://www.twilio.com/docs/voice/api/call-resource);
the MachineDetection modes and AnsweredBy values in
https://www.twilio.com/docs/voice/answering-machine-detection (`DetectMessageEnd` adds
`machine_end_beep`, `machine_end_silence`, `machine_end_other`, all `machine` here).

A 5xx answer, a timeout or a refused connection placed nothing: `DialerUnavailable`, the claim
is released. A 4xx (a bad number, a blocked destination) is that attempt's `failed` outcome.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from ..callback_lifecycle import Claim
from ..dispatcher import DialerUnavailable, Status

if TYPE_CHECKING:
    import aiohttp

log = logging.getLogger("ivrflow.callbacks")

TWILIO_API = "https://api.twilio.com"
CLOCK_SKEW = 5.0  # seconds our clock and the provider's may differ when matching a call
ACTIVE = frozenset({"queued", "initiated", "ringing", "in-progress"})


def outcome_of_status(call_status: str, answered_by: str | None) -> Status:
    """Twilio's CallStatus (and AnsweredBy) at a call's end, as an attempt outcome. A call
    that completed after a person answered is `hung_up` here: when the flow reached the
    queue, the outbound call's end already recorded `answered` (this comes second)."""
    status = call_status.lower()
    if status in ACTIVE:
        return "active"
    if (answered_by or "").startswith(("machine", "fax")):
        return "machine"
    return {
        "completed": "hung_up",
        "busy": "busy",
        "no-answer": "no_answer",
        "failed": "failed",
        "canceled": "failed",
    }.get(status)  # type: ignore[return-value]


class CallRefused(Exception):
    """The API refused this call (4xx): the attempt failed."""


@dataclass
class RestDialer:
    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str
    webhook_url: str  # the base URL the provider reaches our webhook at
    flow: str  # the outbound flow's name (FLOWS_DIR/<flow>.ivr on the webhook)
    base_url: str = TWILIO_API
    machine_detection: bool = True
    ring_timeout: int = 30
    request_timeout: float = 10.0
    status_events: tuple[str, ...] = ()  # StatusCallbackEvent values; () is Twilio's: completed
    _session: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)

    @property
    def calls_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{quote(self.account_sid)}/Calls"

    def form(self, claim: Claim) -> dict[str, str]:
        """The call-create request's parameters for one attempt."""
        hook = self.webhook_url.rstrip("/")
        marker = urlencode({"cb": claim.attempt_id, "priority": str(claim.priority)})
        form = {
            "To": claim.request.number,
            "From": self.from_number,
            "Url": f"{hook}/voice/{self.flow}?{marker}",
            "Method": "POST",
            "StatusCallback": f"{hook}/callback-status?{urlencode({'cb': claim.attempt_id})}",
            "StatusCallbackMethod": "POST",
            "Timeout": str(self.ring_timeout),
        }
        if self.machine_detection:
            form["MachineDetection"] = "Enable"
        return form

    async def _client(self) -> aiohttp.ClientSession:
        import aiohttp

        if self._session is None or self._session.closed:
            login = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Basic {login}"},
                timeout=aiohttp.ClientTimeout(total=self.request_timeout),
            )
        return self._session

    async def place(self, claim: Claim) -> str:
        fields = [*self.form(claim).items()]
        fields += [("StatusCallbackEvent", event) for event in self.status_events]
        body = await self._request("POST", f"{self.calls_url}.json", fields)
        sid = body.get("sid")
        if not isinstance(sid, str) or not sid:
            raise CallRefused("the call-create answer has no sid")
        return sid

    async def status(self, claim: Claim) -> Status:
        reference = claim.reference or await self._find(claim)
        if reference is None:
            return None
        try:
            body = await self._request("GET", f"{self.calls_url}/{quote(reference)}.json")
        except CallRefused:  # 404: the provider does not know the call
            return None
        return outcome_of_status(str(body.get("status", "")), body.get("answered_by"))

    async def _find(self, claim: Claim) -> str | None:
        """The call of an attempt whose sid was never kept (the dispatcher died between the
        call-create answer and writing it down): the calls to the number created since the
        attempt began (`GET …/Calls.json?To=…&StartTime>=…`, then by `date_created`)."""
        day = time.strftime("%Y-%m-%d", time.gmtime(claim.started_at))
        query = urlencode({"To": claim.request.number, "StartTime>": day})
        try:
            body = await self._request("GET", f"{self.calls_url}.json?{query}")
        except CallRefused:
            return None
        for call in body.get("calls") or []:
            try:
                created = parsedate_to_datetime(str(call.get("date_created"))).timestamp()
            except (TypeError, ValueError):
                continue
            if created >= claim.started_at - CLOCK_SKEW and isinstance(call.get("sid"), str):
                return str(call["sid"])
        return None

    async def _request(
        self, method: str, url: str, form: list[tuple[str, str]] | None = None
    ) -> dict[str, Any]:
        import aiohttp

        client = await self._client()
        try:
            async with client.request(method, url, data=form) as response:
                text = await response.text()
                if response.status >= 500:
                    raise DialerUnavailable(f"{response.status} from {self.base_url}")
                if response.status >= 400:
                    raise CallRefused(f"{response.status}: {text[:200]}")
                data = await response.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise DialerUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(data, dict):
            raise CallRefused("the API answered something that is not a JSON object")
        return data

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


__all__ = ["TWILIO_API", "CallRefused", "RestDialer", "outcome_of_status"]
