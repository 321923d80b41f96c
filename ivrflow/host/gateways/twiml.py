"""TwiML: the pages the webhook gateway answers with, and how actions become them.

- Say → ``<Say language voice>``, Play → ``<Play>``; Collect → ``<Gather>`` wrapping the
  barge-in prompts said just before it (so the caller can interrupt them), followed by a
  ``<Redirect>`` that reports "no input" when the Gather times out;
- look-ups, queue status and callback requests are done by the Engine, on the server,
  before answering; a transfer → ``<Enqueue>`` / ``<Dial>`` (``<Number sendDigits>`` or
  ``<Sip>``) whose ``action`` callback (``QueueResult`` / ``DialCallStatus``) becomes the
  TransferResult.

`TwimlHost` is the webhook's `AsyncHost` (see `ivrflow.host.perform`): it writes one `Page`
per request; a collect or a transfer is answered by Twilio's next request, so it stops there.
"""

from __future__ import annotations

import asyncio
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from ...model import prompts, sayas
from ...model.destinations import Destination
from ...model.keypatterns import MAX_KEYS
from ...runtime import actions as act
from ...runtime import events as ev
from ...runtime.session import Session
from ..engine import Engine

POLITE: dict[str, str] = {
    "pt": "Desculpe, esta ligação não está mais ativa. Por favor, ligue novamente.",
    "es": "Lo sentimos, esta llamada ya no está activa. Por favor, llame de nuevo.",
    "en": "Sorry, this call is no longer active. Please call again.",
}
SORRY: dict[str, str] = {
    "pt": "Desculpe, estamos com um problema técnico. Por favor, ligue mais tarde.",
    "es": "Lo sentimos, tenemos un problema técnico. Por favor, llame más tarde.",
    "en": "Sorry, we are having technical difficulties. Please call again later.",
}


def lang_text(table: Mapping[str, str], language: str) -> str:
    """The text for a language ("pt-BR" → "pt"), English when the table has none."""
    return table.get(language[:2].lower(), table["en"])


class Page:
    """Builds one TwiML <Response>; prompts wait in `pending` until a verb places them."""

    def __init__(self) -> None:
        self.root = ET.Element("Response")
        self.pending: list[tuple[ET.Element, bool]] = []  # (element, barge-in)
        self.hung_up = False
        self.hold: dict[str, Any] | None = None  # an <Enqueue>'s in-queue flow, for its wait page

    def prompt(self, element: ET.Element, barge_in: bool) -> None:
        self.pending.append((element, barge_in))

    def flush(self, keep_tail: bool = False) -> list[ET.Element]:
        """Place pending prompts; with keep_tail, return the trailing barge-in ones instead."""
        tail: list[ET.Element] = []
        if keep_tail:
            while self.pending and self.pending[-1][1]:
                tail.insert(0, self.pending.pop()[0])
        for element, _ in self.pending:
            self.root.append(element)
        self.pending = []
        return tail

    def add(self, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        self.flush()
        element = ET.SubElement(self.root, tag, attrs)
        if text is not None:
            element.text = text
        return element

    def render(self) -> str:
        self.flush()
        body = ET.tostring(self.root, encoding="unicode")
        return '<?xml version="1.0" encoding="UTF-8"?>' + body


def empty() -> str:
    """A page that does nothing (Twilio goes on as it would)."""
    return Page().render()


def goodbye(text: str, language: str, voice: str | None = None) -> str:
    """Say `text`, then hang up."""
    page = Page()
    attrs = {"language": language}
    if voice:
        attrs["voice"] = voice
    page.add("Say", text, **attrs)
    page.add("Hangup")
    return page.render()


def apology(language: str) -> str:
    """Something went wrong on our side: sorry, and hang up."""
    return goodbye(lang_text(SORRY, language), language)


def hangup() -> str:
    page = Page()
    page.add("Hangup")
    return page.render()


def play_url(path: str, base: str | None) -> str:
    """A Play path as Twilio fetches it: relative paths under `base`, if there is one."""
    if base and not urlsplit(path).scheme:
        return base.rstrip("/") + "/" + path.lstrip("/")
    return path


# Twilio's own default hold music, played by a wait page as Twilio plays it without one.
HOLD_MUSIC = "http://com.twilio.music.classical.s3.amazonaws.com/BusyStrings.mp3"


def wait_page(queue_time: str | None, max_wait: str | None) -> str:
    """<Enqueue waitUrl>'s answer, asked again each time it ends: <Leave/> once the caller has
    waited the flow's maximum (QueueTime, seconds), else hold music until then."""
    try:
        waited, limit = float(queue_time or 0), float(max_wait or 0)
    except ValueError:
        waited, limit = 0.0, 0.0
    page = Page()
    if limit > 0 and waited >= limit:
        page.add("Leave")
    else:
        page.add("Play", HOLD_MUSIC)
    return page.render()


def hold_page(
    plan: Mapping[str, Any] | None,
    fields: Mapping[str, str],
    max_wait: str | None,
    key_url: str,
    base: str | None = None,
) -> str:
    """<Enqueue waitUrl>'s answer for a transfer with `while waiting:`, asked again each time
    it ends. <Leave/> once the caller has waited the flow's maximum (QueueTime); else, inside
    a one-key <Gather> that posts to `key_url`, the flow's message, the caller's position and
    EWT as Twilio says them now (QueuePosition, AvgQueueTime) and the hold music — a URL
    plays it, a class plays Twilio's default music — or, with no music, a <Pause> of `every`
    seconds. Without a plan (no session), plain hold music: the caller still waits."""
    waited, limit = _number(fields.get("QueueTime")), _number(max_wait)
    page = Page()
    if limit and waited is not None and waited >= limit:
        page.add("Leave")
        return page.render()
    if not plan:
        page.add("Play", HOLD_MUSIC)
        return page.render()
    language = str(plan.get("language") or "en-US")
    gather = page.add("Gather", numDigits="1", action=key_url, method="POST", timeout="1")
    for item in plan.get("message") or ():
        if item.get("text") is not None:
            say = ET.SubElement(gather, "Say", {"language": str(item.get("language") or language)})
            say.text = str(item["text"])
        elif item.get("path"):
            ET.SubElement(gather, "Play").text = play_url(str(item["path"]), base)
    announce = tuple(plan.get("announce") or ())
    position = _number(fields.get("QueuePosition"))
    if "position" in announce and position is not None and position >= 1:
        text = prompts.default("position", language, position=str(int(position)))
        ET.SubElement(gather, "Say", {"language": language}).text = text
    ewt = _number(fields.get("AvgQueueTime"))
    if "ewt" in announce and ewt is not None:
        text = prompts.default("ewt", language, ewt=sayas.duration(ewt, language))
        ET.SubElement(gather, "Say", {"language": language}).text = text
    music = plan.get("music")
    if music is None:
        every = _number(str(plan.get("every"))) or 30.0
        ET.SubElement(gather, "Pause", {"length": str(max(1, round(every)))})
    else:
        url = str(music) if urlsplit(str(music)).scheme in ("http", "https") else HOLD_MUSIC
        ET.SubElement(gather, "Play").text = url
    return page.render()


def _number(text: str | None) -> float | None:
    """A Twilio figure as a finite, non-negative number; None when missing or garbage."""
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def dial_noun(destination: Destination, extension_uri: str | None) -> ET.Element | str:
    """``<Number sendDigits>`` or ``<Sip>`` for a destination; an extension becomes a SIP URI
    through `extension_uri` (``sip:{extension}@pbx.example.com``). A string says why the
    destination cannot be dialled from here."""
    if destination.kind == "number":
        element = ET.Element("Number")
        element.text = destination.address
    else:
        uri = destination.address
        if destination.kind == "extension":
            if not extension_uri:
                return "an extension needs --extension-uri on the webhook (sip:{extension}@pbx)"
            context = destination.context or ""
            uri = extension_uri.format(extension=destination.address, context=context)
        element = ET.Element("Sip")
        element.text = uri
    if destination.postdial:
        element.set("sendDigits", destination.postdial)
    return element


class TwimlHost:
    """Performs a session's actions into one TwiML page (an `AsyncHost`).

    `callback(stamped)` is the URL Twilio calls back with the answer to this page; `waiting`
    says what that answer will be ("collect", "transfer"), "" when the page asks for none.
    """

    def __init__(
        self,
        engine: Engine,
        session: Session,
        clock: Callable[[], float],
        callback: Callable[[bool], str],
        voice: str | None = None,
        play_base_url: str | None = None,
        extension_uri: str | None = None,
    ) -> None:
        self.engine, self.session, self.clock = engine, session, clock
        self.callback = callback
        self.voice, self.play_base_url = voice, play_base_url
        self.extension_uri = extension_uri
        self.page = Page()
        self.waiting = ""

    async def play(self, action: act.Say | act.Play) -> None:
        if isinstance(action, act.Say):
            attrs = {"language": action.language}
            voice = action.voice or self.voice
            if voice:
                attrs["voice"] = voice
            element = ET.Element("Say", attrs)
            element.text = action.text
        else:
            element = ET.Element("Play")
            element.text = play_url(action.path, self.play_base_url)
        self.page.prompt(element, action.barge_in)

    async def collect(self, action: act.Collect) -> None:
        page, session = self.page, self.session
        inside = page.flush(keep_tail=True)
        kinds = " ".join(k for k in ("dtmf", "speech") if k in action.kinds) or "dtmf"
        attrs = {
            "input": kinds,
            "numDigits": str(action.max_digits),
            "finishOnKey": action.terminator or "",
            "timeout": str(max(1, math.ceil(action.timeout))),
            "action": self.callback(True),
            "method": "POST",
        }
        if "speech" in kinds:
            attrs["language"] = action.language or str(
                session.vars.get("language") or session.flow.settings.language
            )
            timeout = action.speech_timeout
            attrs["speechTimeout"] = "auto" if timeout is None else str(max(1, round(timeout)))
            hints = tuple(dict.fromkeys((*action.phrases, *action.hints)))
            if hints:
                attrs["hints"] = ", ".join(hints)
            if action.free_speech:  # dictation: no digits to count, nothing to finish on
                del attrs["numDigits"]
                attrs["finishOnKey"] = ""
        if session.phase == "menu" and action.max_digits >= MAX_KEYS:
            del attrs["numDigits"]  # a pattern with no end (`_1X.`): the timeout or # ends it
        gather = page.add("Gather", **attrs)
        gather.extend(inside)
        page.add("Redirect", self.callback(True), method="POST")  # no input
        self.waiting = "collect"

    async def lookup(self, action: act.Lookup) -> ev.Event:
        return await self.engine.lookup(action, self.clock)

    async def queue_status(self, action: act.GetQueueStatus) -> ev.Event:
        return await self.engine.queue(action, self.clock)

    async def store_callback(self, action: act.StoreCallback) -> ev.Event:
        return await asyncio.to_thread(
            self.engine.store_callback, action, self.session.flow, self.clock()
        )

    async def transfer(
        self, action: act.TransferToQueue | act.TransferToDestination
    ) -> ev.Event | None:
        # Not stamped: Twilio calls it when the transfer ends, which can outlast the replay window.
        callback = self.callback(False)
        if isinstance(action, act.TransferToQueue):
            attrs = {"action": callback, "method": "POST"}
            if action.max_wait is not None or action.hold is not None:
                # The wait page: the in-queue flow, and <Leave/> at the maximum wait.
                base = callback.split("?", 1)[0]
                query = []
                if action.max_wait is not None:
                    query.append(f"max={max(1, round(action.max_wait))}")
                if action.hold is not None:
                    query.append("hold=1")
                    self.page.hold = {
                        **action.hold.as_dict(),
                        "language": str(self.session.vars.get("language") or "en-US"),
                    }
                attrs["waitUrl"] = f"{base}/wait?{'&'.join(query)}"
                attrs["waitUrlMethod"] = "POST"
            self.page.add("Enqueue", action.queue, **attrs)
        else:
            noun = dial_noun(action.destination, self.extension_uri)
            if isinstance(noun, str):  # nothing this webhook can dial: the flow's failed branch
                return ev.TransferResult(self.clock(), "failed", noun)
            self.page.add("Dial", action=callback, method="POST").append(noun)
        self.waiting = "transfer"
        return None

    async def record(self, action: act.Record) -> None:
        """`<Record>`: Twilio requests `action` when the message ends (Digits=hangup if the
        caller hung up); an empty recording skips that request and goes on to the next verb,
        so a `<Redirect>` to the same URL follows and reads as "nothing recorded". The
        recording's status callback notes the finished file in the recording store."""
        attrs = {
            "action": self.callback(True),
            "method": "POST",
            "maxLength": str(max(1, math.ceil(action.max_length))),
            "finishOnKey": action.finish,
            "playBeep": "true" if action.beep else "false",
            "recordingStatusCallback": "/recording-status",
            "recordingStatusCallbackMethod": "POST",
        }
        if action.silence is not None:
            attrs["timeout"] = str(max(1, math.ceil(action.silence)))
        else:  # Twilio's timeout 0 turns silence detection off
            attrs["timeout"] = "0"
        self.page.add("Record", **attrs)
        self.page.add("Redirect", self.callback(True), method="POST")
        self.waiting = "record"

    async def hangup(self, action: act.Hangup) -> None:
        self.page.add("Hangup")
        self.page.hung_up = True


__all__ = [
    "HOLD_MUSIC",
    "POLITE",
    "SORRY",
    "Page",
    "wait_page",
    "TwimlHost",
    "apology",
    "dial_noun",
    "empty",
    "goodbye",
    "hangup",
    "lang_text",
    "play_url",
]
