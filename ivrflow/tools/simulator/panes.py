"""What each pane of the phone shows, as prompt_toolkit formatted text (style, text) pairs.

Plain functions of the `Phone`: prompt_toolkit is named only for the type of their result,
so they are tested (and read) without a terminal.
"""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING

from ...model import BUILTIN_VARIABLES, CallbackOffer, Menu
from ...model.hours import local_time
from ...model.keypatterns import KEYS
from ...runtime import actions as act
from ..testing import Line
from .phone import Phone
from .simulation import outcome_line

if TYPE_CHECKING:
    from prompt_toolkit.formatted_text import StyleAndTextTuples

KEYPAD = ("123", "456", "789", "*0#")
SIDE_WIDTH = 46  # columns of the side panel on a wide screen (less on a narrow one)
TEXT_COLUMN = 27  # where a transcript line's text starts (the width of its time, who, kind)


def render_header(phone: Phone) -> StyleAndTextTuples:
    call, flow = phone.sim.call, phone.sim.call.flow
    title = f' "{flow.title}"' if flow.title else ""
    ani = call.session.ani or "withheld"
    dnis = call.session.dnis or "-"
    mode = "realtime timeouts" if phone.realtime else "virtual time"
    return [
        ("class:header.title", f" ivrflow simulate · {flow.name}{title} "),
        ("class:header", f" {ani} → {dnis} · {mode} "),
    ]


def render_transcript(phone: Phone, width: int = 72, height: int = 30) -> StyleAndTextTuples:
    """The transcript (then, once the call ended, the record and the outcome), wrapped to
    `width`; the rows shown are the last `height`, less what the caller scrolled back."""
    rows: list[StyleAndTextTuples] = []
    for line in phone.sim.call.transcript:
        rows += _transcript_rows(line, width)
    if phone.ended:
        record = json.dumps(phone.sim.call.record, indent=2, ensure_ascii=False, default=str)
        rows.append([("class:rule", "── the call ended · record ──")])
        for text in record.splitlines():
            rows += [[("class:record", text[i : i + width])] for i in range(0, len(text), width)]
        rows.append([("class:outcome", outcome_line(phone.sim.outcome))])
    if not rows:
        return [("class:dim", "(dialing…)")]
    bottom = max(0, len(rows) - height)  # the top row when the end is in view
    phone.scroll = min(phone.scroll, bottom)
    phone.top, phone.page = bottom - phone.scroll, max(1, height - 2)
    rows[phone.top].insert(0, ("[SetCursorPosition]", ""))  # the window keeps it in view
    out: StyleAndTextTuples = []
    for n, row in enumerate(rows):
        if n:
            out.append(("", "\n"))
        out.extend(row)
    return out


def _transcript_rows(line: Line, width: int) -> list[StyleAndTextTuples]:
    """One transcript line as rows: time, who and kind in columns, the text wrapped beside
    them; on a narrow pane, all of it wrapped as one paragraph."""
    who = "class:caller" if line.who == "caller" else "class:ivr"
    style = "class:dim" if line.kind in ("collect", "queue", "set") else f"{who}.text"
    if width - TEXT_COLUMN < 30:
        head = f"{line.at:.1f}s {line.who} {line.kind}:"
        texts = textwrap.wrap(f"{head} {line.text}", width, subsequent_indent="  ")
        top = texts[0]
        lead: StyleAndTextTuples = (
            [(who, head), (style, top[len(head) :])] if top.startswith(head) else [(style, top)]
        )
        rest: list[StyleAndTextTuples] = [[(style, text)] for text in texts[1:]]
        return [lead, *rest]
    texts = textwrap.wrap(line.text, width - TEXT_COLUMN) or [""]
    first: StyleAndTextTuples = [
        ("class:time", f"{line.at:7.1f}s  "),
        (who, f"{line.who:<6} "),
        ("class:kind", f"{line.kind:<9} "),
        (style, texts[0]),
    ]
    rows = [first]
    for text in texts[1:]:
        row: StyleAndTextTuples = [("", " " * TEXT_COLUMN), (style, text)]
        rows.append(row)
    return rows


def render_state(phone: Phone) -> StyleAndTextTuples:
    sim = phone.sim
    if phone.ended:
        return [
            ("class:outcome", outcome_line(sim.outcome).replace("outcome: ", "OUTCOME ", 1)),
            ("", "\n"),
            ("class:label", "last state "),
            ("", sim.call.state),
        ]
    state = sim.call.flow.states[sim.call.state]
    kind = {"CallbackOffer": "callback"}.get(type(state).__name__, type(state).__name__.lower())
    return [
        ("class:label", "state  "),
        ("class:state", sim.call.state),
        ("class:dim", f"  ({kind})"),
        ("", "\n"),
        ("class:label", "phase  "),
        ("", sim.session.phase),
        ("", "\n"),
        ("class:label", "wants  "),
        ("", describe_collect(sim.session.phase, sim.collect)),
    ]


def describe_collect(phase: str, spec: act.Collect | None) -> str:
    """What the call is listening for, in a few words."""
    if spec is None:
        return "nothing (the IVR is busy)"
    words = " or words" if "speech" in spec.kinds else ""
    if phase == "menu":
        return f"a menu key{words}"
    if phase == "offer":
        return f"accept or decline{words}"
    if phase in ("capture_confirm", "did_you_say", "offer_confirm"):
        return "yes (1) or no (2)"
    if phase == "offer_number":
        return "a phone number, end #"
    count = (
        f"{spec.min_digits} digits"
        if spec.min_digits == spec.max_digits
        else f"{spec.min_digits}..{spec.max_digits} digits"
    )
    end = f", end {spec.terminator}" if spec.terminator else ""
    return f"{count}{end}{', secure' if spec.secure else ''}"


def live_keys(phone: Phone) -> frozenset[str]:
    """The keys that mean something now (shown bold on the keypad)."""
    sim = phone.sim
    if phone.ended or sim.collect is None:
        return frozenset()
    state, phase = sim.call.flow.states[sim.call.state], sim.session.phase
    if phase == "menu" and isinstance(state, Menu) and state.entry is not None:
        typed = sim.session.buffer  # multi-key options: the keys that can still lead somewhere
        return frozenset(k for k in KEYS if state.entry.feed(typed + k).outcome != "nomatch")
    if phase == "menu" and isinstance(state, Menu):
        return frozenset(k for c in state.choices for k in c.keys)
    if phase == "offer" and isinstance(state, CallbackOffer):
        return frozenset(k for k in state.accept + state.decline if len(k) == 1)
    if phase in ("capture_confirm", "did_you_say", "offer_confirm"):
        return frozenset("12")
    return frozenset("0123456789" + (sim.collect.terminator or ""))


def render_keypad(phone: Phone) -> StyleAndTextTuples:
    live = live_keys(phone)
    out: StyleAndTextTuples = []
    for row in KEYPAD:
        out.append(("", "   "))
        for key in row:
            style = "class:key"
            if key in live:
                style += " class:key.live"
            face = f" {key} "
            if key in phone.pressed:  # brackets too: visible without colours
                style, face = style + " class:key.pressed", f"[{key}]"
            out += [(style, face), ("", "  ")]
        out.append(("", "\n"))
    entry = phone.sim.entry
    out += [("class:label", " entry  "), ("class:entry", entry or "")]
    if not phone.ended and phone.sim.collect is not None:
        out.append(("class:cursor", "_"))
    return out


def render_timers(phone: Phone) -> StyleAndTextTuples:
    sim = phone.sim
    call = sim.call
    when = local_time(call.now, call.flow.settings.timezone)
    out: StyleAndTextTuples = [
        ("class:label", "clock    "),
        ("", when.strftime("%a %Y-%m-%d %H:%M:%S")),
        ("", "\n"),
        ("class:label", "call     "),
        ("", f"+{call.now - call.start_at:.1f}s"),
        ("class:dim", " (virtual)"),
        ("", "\n"),
    ]
    spec = sim.collect
    if spec is None:
        return out + [("class:label", "timeouts "), ("class:dim", "none running")]
    out += [
        ("class:label", "timeouts "),
        ("", f"first digit {spec.timeout:g}s · inter-digit {spec.interdigit:g}s"),
        ("", "\n"),
    ]
    timer = sim.timer()
    if timer is not None:
        label, seconds = timer
        left = phone.seconds_left()
        running = f"{left:.1f}s left" if left is not None else "Tab elapses it"
        out += [
            ("class:label", "running  "),
            ("class:timer", f"{label} {seconds:g}s"),
            ("class:dim", f" · {running}"),
        ]
    return out


def render_variables(phone: Phone, width: int = SIDE_WIDTH - 4) -> StyleAndTextTuples:
    values = phone.sim.call.variables()
    declared = list(phone.sim.call.flow.variables)
    others = [n for n in values if n not in declared and n not in BUILTIN_VARIABLES]
    builtins = [n for n in values if n in BUILTIN_VARIABLES and n not in _SHOWN_ELSEWHERE]
    out: StyleAndTextTuples = []
    for name in declared + others + builtins:
        value = values.get(name)
        if value is None and name in BUILTIN_VARIABLES:
            continue
        text = json.dumps(value, ensure_ascii=False, default=str)
        room = max(8, width - len(name) - 3)
        if len(text) > room:
            text = text[: room - 1] + "…"
        if out:
            out.append(("", "\n"))
        out += [("class:var", name), ("", " = "), ("class:value", text)]
    return out or [("class:dim", "(none)")]


_SHOWN_ELSEWHERE = frozenset({"ani", "dnis", "call_id", "voice"})


def render_help(phone: Phone, width: int = 120) -> StyleAndTextTuples:
    """The keys, in words; shorter on a narrow screen. A notice stands in for it."""
    if phone.message:
        return [("class:message", f" {phone.message}")]
    if phone.ended:
        keys = [("q / Enter / Ctrl-Q", "quit"), ("PgUp/PgDn", "scroll the record")]
    elif width >= 118:
        keys = [
            ("0-9 * #", "press"),
            ("words+Enter", "say"),
            ("Tab/F2", "let the timeout pass"),
            ("F10/Ctrl-X", "hang up"),
            ("PgUp/PgDn", "scroll"),
            ("Ctrl-Q/Ctrl-C", "quit"),
        ]
    else:
        keys = [
            ("0-9*#", "press"),
            ("Enter", "say"),
            ("Tab", "timeout"),
            ("F10", "hang up"),
            ("PgUp/Dn", "scroll"),
            ("^Q", "quit"),
        ]
    out: StyleAndTextTuples = []
    for key, what in keys:
        out += [("class:help.key", f" {key}"), ("class:help", f" {what} ")]
    return out


__all__ = [
    "KEYPAD",
    "SIDE_WIDTH",
    "TEXT_COLUMN",
    "describe_collect",
    "live_keys",
    "render_header",
    "render_help",
    "render_keypad",
    "render_state",
    "render_timers",
    "render_transcript",
    "render_variables",
]
