"""An HTTP gateway for Twilio-style voice webhooks.

Point the phone number's voice webhook at ``POST https://HOST/voice/<flow>``;
``FLOWS_DIR/<flow>.ivr`` answers. Each request carries Twilio's form fields
(``CallSid``, ``From``, ``To``, ``Digits``, ``SpeechResult``, ``Confidence``,
``CallStatus``, ``DialCallStatus``, ``QueueResult``) and is answered with TwiML:

- the first request for a ``CallSid`` starts a session (ani=From, dnis=To,
  call_id=CallSid, the server's clock);
- the session's actions become the TwiML answer (see `twiml`); look-ups, queue status
  and callback requests are done here, by the Engine, before answering; the answer to a
  ``<Gather>`` or a transfer's ``action`` callback is the next event;
- a terminal ``CallStatus`` (completed, busy, no-answer, canceled, failed) —
  e.g. the status callback pointed at the same URL — hangs the session up.

When the call ends its record is written exactly once and the session is
replaced by a small tombstone (which expires with the store's TTL). Twilio does
not call the Gather action when the caller hangs up mid-prompt: point the
number's *status callback* at the same URL, or abandoned calls leave no record
(their state just expires). A call whose flow file changed since it started can
be continued only by a worker that still holds the old version; others answer
with an apology and hang up.

Between requests the session lives in a `SessionStore` (memory, or Redis for
several workers) with optimistic locking. Every TwiML answer's callback URLs
carry the step number (``s``) they answer; a request for an older step (a
duplicate delivery, or the loser of a race) gets the last answer again instead
of being applied twice. A request that keeps losing races gets a short pause
and a redirect carrying its input, so it is retried.

Security: with an auth token, ``X-Twilio-Signature`` is checked and callbacks carry a
replay stamp (see `signatures`); missing, wrong or too old → 403. The token is never
logged. Bodies over `MAX_BODY` bytes are refused with 413 before they are read.

When the session store fails (Redis gone mid-call), nothing raises into aiohttp:
the caller hears an apology and ``<Hangup/>``. The call's record is written at once
(outcome `error`, from the freshest state this worker holds: the session it was
moving on, or the last snapshot it read or wrote), else once the store answers
again; and when it does, the call gets its tombstone so no other worker goes on
with it. `settle()` does that; it runs before each request and every
`SETTLE_EVERY` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from ... import model
from ...model import Flow
from ...runtime import actions as act
from ...runtime import events as ev
from ...runtime.session import Session
from ..dispatcher import ATTEMPT_VARIABLE
from ..engine import Engine
from ..health import engine_spools, readiness
from ..journal import recovered_record
from ..perform import drive_async
from . import callback_webhook, twiml
from .session_store import MemorySessionStore, SessionStore
from .signatures import refusal, signature

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("ivrflow.webhook")

MAX_BODY = 64 * 1024  # bytes; Twilio's voice requests are a few KB
SETTLE_EVERY = 5.0  # seconds between attempts to settle calls that met the store down
REMEMBERED_CALLS = 2000  # last snapshots kept per worker, to record calls when the store fails
STORE_DOWN_REASON = "session_store_unavailable"

TERMINAL_CALL_STATUS = frozenset({"completed", "busy", "no-answer", "canceled", "failed"})
DIAL_STATUS: dict[str, ev.TransferStatus] = {
    "completed": "answered",
    "answered": "answered",
    "busy": "busy",
    "no-answer": "noanswer",
    "failed": "failed",
    "canceled": "failed",
}
QUEUE_RESULT: dict[str, ev.TransferStatus] = {
    "bridged": "answered",
    "bridging-in-process": "answered",
    "hangup": "abandoned",
    "queue-full": "full",
    "leave": "noanswer",  # the queue's wait URL sent the caller back (<Leave/>)
    "redirected": "failed",
    "error": "failed",
    "system-error": "failed",
}
RETRY_FIELDS = (
    "Digits",
    "SpeechResult",
    "Confidence",
    "DialCallStatus",
    "QueueResult",
    "QueueTime",
)
_FLOW_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class StoreUnavailable(Exception):
    """The session store failed; `session` is the call as this request left it, if any."""

    def __init__(self, cause: BaseException, session: Session | None = None) -> None:
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.session = session


@dataclass
class WebhookConfig:
    flows_dir: Path
    store: SessionStore = field(default_factory=MemorySessionStore)
    auth_token: str | None = field(default=None, repr=False)
    public_url: str | None = None  # the base URL Twilio calls (behind a proxy), for signatures
    voice: str | None = None  # default <Say voice>, e.g. "Polly.Camila"
    play_base_url: str | None = None  # prefix for relative Play paths
    extension_uri: str | None = None  # an extension as a SIP URI: sip:{extension}@pbx
    replay_window: float = 3600.0
    retries: int = 5  # optimistic-lock attempts per request
    clock: Callable[[], float] = time.time
    on_flow: Callable[[Engine, Flow], None] | None = None


def _twiml_response(xml: str, status: int = 200) -> web.Response:
    from aiohttp import web

    return web.Response(text=xml, status=status, content_type="text/xml", charset="utf-8")


class WebhookGateway:
    def __init__(self, engine: Engine, config: WebhookConfig) -> None:
        self.engine = engine
        self.config = config
        self._configured: set[str] = set()
        # The freshest state this worker saw per call, for a record if the store goes away.
        self._last: OrderedDict[str, dict[str, Any]] = OrderedDict()
        # Calls that met the store down: call id → {"flow", "recorded"}; settled when it is back.
        self.unsettled: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------ app
    def app(self) -> web.Application:
        from aiohttp import web

        application = web.Application(client_max_size=MAX_BODY)
        application.router.add_post("/voice/{flow}", self.handle)
        application.router.add_post("/voice/{flow}/wait", self.wait)
        application.router.add_post("/callback-status", self.callback_status)
        application.router.add_post("/recording-status", self.recording_status)
        application.router.add_get("/healthz", self.health)
        application.router.add_get("/readyz", self.ready)
        application.cleanup_ctx.append(self._settling)
        return application

    async def _settling(self, app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(self._keep_settling())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        close = getattr(self.config.store, "close", None)
        if close is not None:  # the Redis client belongs to this loop: closed with it
            with contextlib.suppress(Exception):
                await close()

    async def _keep_settling(self) -> None:
        while True:
            await asyncio.sleep(SETTLE_EVERY)
            if self.unsettled:
                await self.settle()

    async def health(self, request: web.Request) -> web.Response:
        """Liveness: the loop answers (never waits for a dependency; see host/health.py)."""
        from aiohttp import web

        return web.Response(text="ok")

    async def ready(self, request: web.Request) -> web.Response:
        """Readiness: the session store answers, and the spools' state; 503 when not ready."""
        from aiohttp import web

        status, body = await readiness(
            {"session_store": self.config.store.ping}, engine_spools(self.engine)
        )
        return web.json_response(body, status=status)

    # ------------------------------------------------------------ flows
    def _flow(self, name: str) -> Flow | None:
        if not _FLOW_NAME.match(name):
            return None
        path = self.config.flows_dir / f"{name}.ivr"
        if not path.is_file():
            return None
        flow = self.engine.load(path)
        if flow.content_hash not in self._configured:
            self._configured.add(flow.content_hash)
            if self.config.on_flow is not None:
                self.config.on_flow(self.engine, flow)
        return flow

    # ------------------------------------------------------------ security
    def _signed_url(self, request: web.Request) -> str:
        if self.config.public_url:
            base = self.config.public_url.rstrip("/")
            return base + request.rel_url.path_qs
        return str(request.url)

    def _check(self, request: web.Request, form: list[tuple[str, str]]) -> str | None:
        """None if the request may go on, else why it is refused (never the token)."""
        config = self.config
        return refusal(
            config.auth_token,
            self._signed_url(request),
            form,
            request.headers.get("X-Twilio-Signature"),
            request.query.get("t"),
            config.clock(),
            config.replay_window,
        )

    # ------------------------------------------------------------ requests
    async def wait(self, request: web.Request) -> web.Response:
        """<Enqueue waitUrl>: the transfer's in-queue flow (`while waiting:`, kept with the
        call's session when it was queued), or hold music; <Leave/> at the flow's maximum
        wait (then Twilio's action callback says `leave`: the noanswer branch, the overflow).
        A key of the in-queue flow (its <Gather> posts Digits here) is noted with the session
        and answered with <Leave/>: the action callback's `leave` is then the caller leaving
        for a callback. Signed like every request."""
        from aiohttp import web

        if (request.content_length or 0) > MAX_BODY:
            return web.Response(status=413, text="request body too large")
        raw = await request.post()
        form = [(k, v) for k, v in raw.items() if isinstance(v, str)]
        refusal = self._check(request, form)
        if refusal is not None:
            log.warning("webhook: refused request for %s: %s", request.path, refusal)
            return web.Response(status=403, text="forbidden")
        fields = dict(form)
        max_wait = request.query.get("max")
        if request.query.get("hold") != "1":
            return _twiml_response(twiml.wait_page(fields.get("QueueTime"), max_wait))
        call_id = fields.get("CallSid", "")
        try:  # the store down: the caller still waits, with plain hold music
            got = await self._get(call_id) if call_id else None
            plan = got[0].get("hold") if got is not None else None
            key = fields.get("Digits", "")[:1]
            if isinstance(plan, dict) and got is not None and key in (plan.get("keys") or ()):
                data, version = got
                left = {**data, "left": {"key": key, "at": self.config.clock()}}
                if key and await self._put(call_id, left, version, None):
                    page = twiml.Page()
                    page.add("Leave")
                    return _twiml_response(page.render())
        except StoreUnavailable:
            plan = None
        key_url = request.rel_url.path_qs  # the same page: the Gather's key comes back here
        return _twiml_response(
            twiml.hold_page(
                plan if isinstance(plan, dict) else None,
                fields,
                max_wait,
                key_url,
                self.config.play_base_url,
            )
        )

    async def handle(self, request: web.Request) -> web.Response:
        from aiohttp import web

        if (request.content_length or 0) > MAX_BODY:
            log.warning("webhook: refused a %d-byte body for %s", request.content_length,
                        request.path)  # fmt: skip
            return web.Response(status=413, text="request body too large")
        try:
            raw = await request.post()
        except web.HTTPRequestEntityTooLarge:  # no Content-Length, but too much came
            log.warning("webhook: refused an oversized body for %s", request.path)
            return web.Response(status=413, text="request body too large")
        except Exception:  # not a form body at all
            return web.Response(status=400, text="expected a form-encoded body")
        form_list = [(k, v) for k, v in raw.items() if isinstance(v, str)]
        if len(form_list) != len(raw):
            return web.Response(status=400, text="file uploads are not accepted")
        refusal = self._check(request, form_list)
        if refusal is not None:
            log.warning("webhook: refused request for %s: %s", request.path, refusal)
            return web.Response(status=403, text="forbidden")
        form: dict[str, str] = {}
        for name in RETRY_FIELDS:  # the input of a request we asked to retry
            if name in request.query:
                form[name] = request.query[name]
        form.update(form_list)
        call_id = form.get("CallSid", "").strip()
        if not call_id or len(call_id) > 128:
            return web.Response(status=400, text="missing CallSid")
        flow_name = request.match_info["flow"]
        try:
            flow = self._flow(flow_name)
        except Exception as exc:
            log.error("webhook: flow %s does not load: %s", flow_name, exc)
            flow = None
        if flow is None:
            return _twiml_response(twiml.apology("en-US"), 404)
        step = request.query.get("s")
        outbound = callback_webhook.outbound_variables(request.query) if step is None else None
        if outbound is not None and callback_webhook.is_machine(form):
            marker = outbound[ATTEMPT_VARIABLE]
            await callback_webhook.record(self.engine, marker, "machine", form["AnsweredBy"])
            return _twiml_response(twiml.hangup())
        try:
            xml = await self._serve(flow, flow_name, call_id, form, step, outbound)
        except StoreUnavailable as exc:
            xml = await self._store_down(flow, flow_name, call_id, exc)
        except Exception:
            log.exception("webhook: call %s failed", call_id)
            xml = twiml.apology(flow.settings.language)
        return _twiml_response(xml)

    async def callback_status(self, request: web.Request) -> web.Response:
        """An outbound callback's status callback (see `callback_webhook`)."""
        from aiohttp import web

        form = await self._signed_form(request)
        if isinstance(form, web.Response):
            return form
        return web.Response(
            status=await callback_webhook.status_callback(self.engine, request, form)
        )

    async def _signed_form(self, request: web.Request) -> dict[str, str] | web.Response:
        """The form of a status callback, or the answer that refuses it (not a form: 400;
        not signed as it must be: 403)."""
        from aiohttp import web

        try:
            raw = await request.post()
        except Exception:
            return web.Response(status=400, text="expected a form-encoded body")
        form = {k: v for k, v in raw.items() if isinstance(v, str)}
        if self._check(request, list(form.items())) is not None:
            return web.Response(status=403, text="forbidden")
        return form

    async def recording_status(self, request: web.Request) -> web.Response:
        """`<Record>`'s recordingStatusCallback: the file is ready (or absent, or failed);
        its note goes to the recording store beside the call's other messages."""
        from aiohttp import web

        form = await self._signed_form(request)
        if isinstance(form, web.Response):
            return form
        url, call_id = form.get("RecordingUrl", ""), form.get("CallSid", "")
        if not url or not call_id:
            return web.Response(status=400, text="RecordingUrl and CallSid are required")
        info = {
            "call_id": call_id,
            "recording_sid": form.get("RecordingSid"),
            "status": form.get("RecordingStatus"),
            "duration": _seconds(form.get("RecordingDuration")),
            "url": url,
        }
        name = form.get("RecordingSid") or url.rstrip("/").rpartition("/")[2]
        await asyncio.to_thread(self.engine.recordings.keep, name, info)
        return web.Response(status=204)

    async def _serve(
        self,
        flow: Flow,
        flow_name: str,
        call_id: str,
        form: dict[str, str],
        step: str | None,
        variables: dict[str, Any] | None = None,
    ) -> str:
        status = form.get("CallStatus", "").lower()
        terminal = status in TERMINAL_CALL_STATUS
        if call_id in self.unsettled and not await self.settle(call_id):
            raise StoreUnavailable(ConnectionError("the session store is still down"))
        for _ in range(max(1, self.config.retries)):
            got = await self._get(call_id)
            if got is None:
                if terminal:
                    return twiml.empty()  # never started here, or long gone: nothing to do
                if step is not None:
                    return self._expired(flow)  # a callback for a call we no longer know
                session = self.engine.session(
                    flow,
                    ani=form.get("From") or None,
                    dnis=form.get("To") or None,
                    at=self.config.clock(),
                    call_id=call_id,
                    variables=variables,
                )
                actions = session.start()
                data, version, current = None, None, 0
            else:
                data, version = got
                if data.get("ended"):
                    return twiml.empty() if terminal else twiml.hangup()
                current = int(data.get("step", 0))
                if not terminal and (step is None or step != str(current)):
                    return str(data.get("twiml") or twiml.empty())  # a duplicate / stale
                session = self._restore(data)
                event = self._event(
                    form, str(data.get("waiting", "")), terminal, session, data.get("left")
                )
                self.engine.transfer_result(session, event)
                actions = session.send(event)
            page, waiting = await self._drive(session, actions, flow_name, current + 1)
            xml = page.render()
            if session.ended:
                tomb = {"ended": True, "outcome": session.outcome, "step": current + 1}
                if not await self._put(call_id, tomb, version, session):
                    log.debug("webhook: call %s: lost a race, starting over", call_id)
                    continue  # someone else moved this call on first: start over
                self._last.pop(call_id, None)
                await self.engine.finish_async(session)
                return xml
            new = {
                "flow": flow_name,
                "step": current + 1,
                "waiting": waiting,
                "twiml": xml,
                "session": session.to_dict(self.engine.snapshot_key),
            }
            if page.hold is not None:
                new["hold"] = page.hold
            if await self._put(call_id, new, version, session):
                if version is None:
                    await self.engine.call_started_async(session)
                return xml
            log.debug("webhook: call %s: lost a race, starting over", call_id)
        log.warning("webhook: call %s: still contended, asking Twilio to retry", call_id)
        return self._retry_later(flow_name, form, step)

    # ------------------------------------------------------------ the store, and when it fails
    async def _get(self, call_id: str) -> tuple[dict[str, Any], int] | None:
        try:
            got = await self.config.store.get(call_id)
        except Exception as exc:
            raise StoreUnavailable(exc) from exc
        if got is not None and not got[0].get("ended"):
            self._remember(call_id, got[0])
        return got

    async def _put(
        self, call_id: str, data: dict[str, Any], version: int | None, session: Session | None
    ) -> bool:
        try:
            done = await self.config.store.put(call_id, data, version)
        except Exception as exc:
            raise StoreUnavailable(exc, session) from exc
        if done and not data.get("ended"):
            self._remember(call_id, data)
        return done

    def _remember(self, call_id: str, data: dict[str, Any]) -> None:
        self._last[call_id] = data
        self._last.move_to_end(call_id)
        while len(self._last) > REMEMBERED_CALLS:
            self._last.popitem(last=False)

    async def _store_down(
        self, flow: Flow, flow_name: str, call_id: str, exc: StoreUnavailable
    ) -> str:
        """The caller hears an apology and the call ends; its record is written now if this
        worker holds its state, else when the store is back (`settle`)."""
        log.error("webhook: call %s: session store unavailable: %s", call_id, exc)
        session = exc.session
        known = self.unsettled.get(call_id)
        if known is not None and known["recorded"]:
            return twiml.hangup()  # already ended here, already recorded
        if session is None and call_id in self._last:
            with contextlib.suppress(Exception):
                session = self._restore(self._last[call_id])
        recorded = False
        if session is not None and session.call_id == call_id:
            if not session.ended:
                session.abort(f"{STORE_DOWN_REASON}: {exc}", self.config.clock())
            await self.engine.finish_async(session)
            recorded = True
        self._last.pop(call_id, None)
        self.unsettled[call_id] = {"flow": flow_name, "recorded": recorded}
        return twiml.apology(flow.settings.language)

    async def settle(self, only: str | None = None) -> bool:
        """For calls that met the store down: now that it answers, write the record of those
        not recorded yet (outcome `error`) and leave a tombstone so no worker goes on with
        them. True when everything asked for is settled; False while the store is down."""
        store = self.config.store
        for call_id in [only] if only is not None else list(self.unsettled):
            pending = self.unsettled.get(call_id)
            if pending is None:
                continue
            try:
                got = await store.get(call_id)
                if got is not None and got[0].get("ended"):
                    pass  # another worker ended it, and wrote its record
                elif got is not None:
                    data, version = got
                    if not pending["recorded"]:
                        session = self._restore(data)
                        session.abort(
                            f"{STORE_DOWN_REASON}: the store failed mid-call",
                            self.config.clock(),
                        )
                        await self.engine.finish_async(session)
                        pending["recorded"] = True
                    tomb = {"ended": True, "outcome": {"kind": "error",
                            "reason": STORE_DOWN_REASON}, "step": int(data.get("step", 0)) + 1}  # fmt: skip
                    if not await store.put(call_id, tomb, version):
                        return False  # moved on meanwhile: try again next time
                elif not pending["recorded"]:  # expired or never stored: still one record
                    now = self.config.clock()
                    record = recovered_record({"call_id": call_id, "flow": pending["flow"]}, now)
                    record["outcome"]["reason"] = STORE_DOWN_REASON
                    record["errors"] = ["the session store failed; the call's state was lost"]
                    await self.engine.write_record_async(record)
            except Exception as exc:
                log.warning("webhook: call %s not settled yet: %s", call_id, exc)
                return False
            del self.unsettled[call_id]
            log.info("webhook: call %s settled after the session store came back", call_id)
        return True

    def _restore(self, data: Mapping[str, Any]) -> Session:
        snapshot = data["session"]
        if self.engine.flow_by_hash(str(snapshot.get("flow_hash"))) is None:
            self._flow(str(data.get("flow")))  # a fresh worker: load the flow first
        return self.engine.restore(snapshot)

    def _event(
        self,
        form: Mapping[str, str],
        waiting: str,
        terminal: bool,
        session: Session,
        left: Any = None,
    ) -> ev.Event:
        now = self.config.clock()
        if waiting == "record":  # before `terminal`: a hang-up still leaves its message
            return _recorded(now, form, session)
        queue = form.get("QueueResult", "").lower()
        if waiting == "transfer" and queue:
            # <Enqueue>'s action: how the wait ended and how long it was (QueueTime, seconds;
            # the session checks it). Twilio sends it when the caller hangs up in the queue
            # too, with a terminal CallStatus: that is abandonment in the queue, not the IVR.
            status = QUEUE_RESULT.get(queue, "failed")
            if queue == "leave" and isinstance(left, dict) and left.get("key"):
                # The in-queue flow's key sent the caller out (the wait page noted it).
                key = str(left["key"])
                return ev.TransferResult(
                    now, "callback", f"key {key}", wait=form.get("QueueTime"), key=key
                )
            return ev.TransferResult(now, status, queue, wait=form.get("QueueTime"))
        if terminal:
            return ev.Hangup(now)
        if waiting == "transfer":
            dial = form.get("DialCallStatus", "").lower()
            if dial:
                return ev.TransferResult(now, DIAL_STATUS.get(dial, "failed"), dial)
            return ev.TransferResult(now, "failed", "no transfer result")
        speech = form.get("SpeechResult", "").strip()
        if speech:
            try:
                confidence = float(form.get("Confidence") or 1.0)
            except ValueError:
                confidence = 0.0
            if not math.isfinite(confidence):
                confidence = 0.0
            return ev.Utterance(now, speech, min(max(confidence, 0.0), 1.0))
        digits = "".join(c for c in form.get("Digits", "") if c in "0123456789*#")
        if digits:
            # Twilio's Gather hands over one complete entry (finishOnKey stripped).
            return ev.Digits(now, digits, terminated=True)
        return ev.NoInput(now)

    def _callback(self, flow_name: str, step: int, stamped: bool = True) -> str:
        query: dict[str, str] = {"s": str(step)}
        if stamped:
            query["t"] = str(int(self.config.clock()))
        return f"/voice/{flow_name}?{urlencode(query)}"

    async def _drive(
        self, session: Session, actions: list[act.Action], flow_name: str, step: int
    ) -> tuple[twiml.Page, str]:
        """Turn actions into TwiML, doing server-side work until the caller is needed."""
        config = self.config
        host = twiml.TwimlHost(
            self.engine,
            session,
            config.clock,
            lambda stamped: self._callback(flow_name, step, stamped),
            voice=config.voice,
            play_base_url=config.play_base_url,
            extension_uri=config.extension_uri,
        )
        await drive_async(session, host, actions)
        page = host.page
        if session.ended and not page.hung_up:
            page.add("Hangup")
            page.hung_up = True
        return page, host.waiting

    def _expired(self, flow: Flow) -> str:
        language = flow.settings.language
        return twiml.goodbye(twiml.lang_text(twiml.POLITE, language), language, self.config.voice)

    def _retry_later(self, flow_name: str, form: Mapping[str, str], step: str | None) -> str:
        """Lost every race: pause, then have Twilio send the same input again."""
        query = {k: form[k] for k in RETRY_FIELDS if form.get(k)}
        if step is not None:
            query["s"] = step
        query["t"] = str(int(self.config.clock()))
        page = twiml.Page()
        page.add("Pause", length="1")
        page.add("Redirect", f"/voice/{flow_name}?{urlencode(query)}", method="POST")
        return page.render()


def _seconds(text: str | None) -> float:
    try:
        value = float(text or 0)
    except ValueError:
        return 0.0
    return value if math.isfinite(value) and value >= 0 else 0.0


def _recorded(now: float, form: Mapping[str, str], session: Session) -> ev.Event:
    """The `<Record>` action request (or the `<Redirect>` after an empty one) as `Recorded`."""
    state = session.flow.states.get(session.state)
    finish = state.finish if isinstance(state, model.Record) else "#"
    max_length = state.max_length if isinstance(state, model.Record) else 3600.0
    request = session.pending or ""
    url = form.get("RecordingUrl", "") or None
    duration = _seconds(form.get("RecordingDuration"))
    digits = form.get("Digits", "")
    if digits.lower() == "hangup" or form.get("CallStatus", "").lower() in TERMINAL_CALL_STATUS:
        ended_by: ev.RecordingEnd = "hangup"
    elif digits and digits[0] in finish:
        ended_by = "key"
    elif duration >= max_length - 1:
        ended_by = "max"
    else:
        ended_by = "silence"
    return ev.Recorded(now, request, url, duration if url else 0.0, ended_by)


def create_app(engine: Engine, config: WebhookConfig) -> web.Application:
    return WebhookGateway(engine, config).app()


def serve(
    engine: Engine,
    config: WebhookConfig,
    host: str,
    port: int,
    alongside: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> None:
    """Serve the webhook on host:port until interrupted; `alongside` runs as a task meanwhile
    (e.g. the spools' replay). OSError when it cannot listen."""
    from aiohttp import web

    application = create_app(engine, config)
    if alongside is not None:
        background = alongside

        async def running(app: web.Application) -> AsyncIterator[None]:
            task = asyncio.create_task(background())
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        application.cleanup_ctx.append(running)
    web.run_app(application, host=host, port=port, print=None)


__all__ = [
    "MAX_BODY",
    "STORE_DOWN_REASON",
    "StoreUnavailable",
    "WebhookConfig",
    "WebhookGateway",
    "create_app",
    "serve",
    "signature",
]
