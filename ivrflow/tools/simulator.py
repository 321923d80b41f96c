"""`ivrflow simulate`: a phone in the terminal, built on `ivrflow.testing.Call`.

Two faces share one `Simulation` (a `Call` plus what a phone shows: what is
being collected, the digits keyed so far, the pending timeout):

- scripted (`run_script`): one caller input per line (`1`, `123#`,
  `say segunda via`, `wait`, `hangup`), the transcript printed as it happens,
  and a last line `outcome: <kind> key=value…`;
- interactive (`Phone` + `build_application` + `run_phone`): a prompt_toolkit
  full-screen application with a transcript, the state, a keypad, the entry,
  the variables and the timers. prompt_toolkit is imported only there, so a
  scripted run does not pay for it.

The call always runs on `Call`'s virtual clock. `--realtime` decides who lets a
timeout elapse, the wall clock instead of a key, and lets the virtual clock
advance by the real time the caller takes to act.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import queue
import re
import subprocess
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from ..errors import did_you_mean
from ..host.fixtures import FixtureError, Fixtures, for_flow, parse_queue_option
from ..host.fixtures import load as load_fixtures
from ..model import BUILTIN_VARIABLES, CallbackOffer, Flow, Menu
from ..model.hours import local_time, zone
from ..runtime import actions as act
from ..runtime.record import Listener
from .scripted_caller import parse_input
from .testing import DEFAULT_AT, Call, Line

if TYPE_CHECKING:
    from prompt_toolkit.application import Application
    from prompt_toolkit.formatted_text import StyleAndTextTuples
    from prompt_toolkit.input import Input
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import Layout
    from prompt_toolkit.output import Output
    from prompt_toolkit.styles import Style
    from prompt_toolkit.widgets import TextArea

    from ..runtime.session import Session

TRANSFER_RESULTS = ("answered", "queued", "busy", "noanswer", "full", "failed")
KEYPAD = ("123", "456", "789", "*0#")
PRESS_HIGHLIGHT = 0.6  # seconds a pressed key stays lit on the keypad
SIDE_WIDTH = 46  # columns of the side panel on a wide screen (less on a narrow one)
TEXT_COLUMN = 27  # where a transcript line's text starts (the width of its time, who, kind)


class UsageError(Exception):
    """A bad option or script line: reported in one line, exit status 2."""


# ---------------------------------------------------------------- setting up the call
@dataclass(frozen=True)
class Options:
    """How to place the call (the command-line options, as data)."""

    ani: str | None = None
    dnis: str | None = None
    caller: str | None = None  # a name from the fixtures' `calls`
    at: str | None = None  # ISO; without an offset, in the flow's time zone
    language: str | None = None
    emergency: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()  # "billing:ewt=300,position=4"
    fixtures: str | None = None  # a fixtures file instead of the flow's own
    transfer: str = "answered"
    seed: int = 0


def parse_at(text: str, timezone: str) -> dt.datetime:
    """`2026-12-25T10:00` (in `timezone`), `2026-12-25T10:00-03:00`, `2026-12-25`, or `19:30`
    (a time on the default day, Tuesday 2026-11-24)."""
    raw = text.strip()
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2})?", raw):
            day = dt.datetime.fromisoformat(DEFAULT_AT).date()
            hour = raw if raw.index(":") == 2 else f"0{raw}"
            when = dt.datetime.combine(day, dt.time.fromisoformat(hour))
        else:
            when = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(
            f"bad --at '{text}': write a date and time like 2026-12-25T10:00 (read in the "
            f"flow's time zone, {timezone}) or with a UTC offset, 2026-12-25T10:00-03:00"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=zone(timezone))


def make_call(flow: Flow, options: Options, **call_options: Any) -> Call:
    """A `Call` (not started) placed as `options` say; `UsageError` on a bad option."""
    fixtures = _fixtures(flow, options)
    caller: dict[str, str] = {}
    if options.caller is not None:
        if options.caller not in fixtures.calls:
            known = ", ".join(sorted(fixtures.calls)) or "none"
            raise UsageError(f"unknown caller '{options.caller}' (the fixtures have: {known})")
        caller = fixtures.calls[options.caller]
    kwargs: dict[str, Any] = dict(call_options)
    ani = options.ani if options.ani is not None else caller.get("ani")
    dnis = options.dnis if options.dnis is not None else caller.get("dnis")
    if ani is not None:
        kwargs["ani"] = ani
    if dnis is not None:
        kwargs["dnis"] = dnis
    for name in options.emergency:
        _known(name, flow.hours, "hours", "--emergency")
    if options.transfer not in TRANSFER_RESULTS:
        raise UsageError(
            f"bad --transfer '{options.transfer}': one of {', '.join(TRANSFER_RESULTS)}"
        )
    return Call(
        flow,
        at=parse_at(options.at, flow.settings.timezone) if options.at else None,
        fixtures=fixtures,
        emergency=options.emergency,
        variables={"language": options.language} if options.language else None,
        transfer_result=options.transfer,
        seed=options.seed,
        **kwargs,
    )


def _fixtures(flow: Flow, options: Options) -> Fixtures:
    try:
        fixtures = load_fixtures(options.fixtures) if options.fixtures else for_flow(flow)
        for text in options.queues:
            name, status = parse_queue_option(text)
            _known(name, flow.queues, "queue", "--queue")
            fixtures.queues[name] = status
    except FixtureError as exc:
        raise UsageError(str(exc)) from None
    return fixtures


def _known(name: str, names: Iterable[str], what: str, option: str) -> None:
    names = sorted(names)
    if name not in names:
        hint = did_you_mean(name, names)
        listed = f"the flow has: {', '.join(names)}" if names else "the flow declares none"
        raise UsageError(f"{option}: unknown {what} '{name}' ({hint or listed})")


def outcome_line(outcome: dict[str, Any] | None) -> str:
    """`outcome: transferred queue=billing` — the kind, then the details as key=value."""
    if outcome is None:
        return "outcome: none (the call has not ended)"
    parts = [f"outcome: {outcome.get('kind', 'error')}"]
    for key, value in outcome.items():
        if key == "kind" or value is None:
            continue
        text = str(value)
        if not text or re.search(r"[\s\"'=]", text):
            text = json.dumps(text, ensure_ascii=False)
        parts.append(f"{key}={text}")
    return " ".join(parts)


# ---------------------------------------------------------------- the call, as a phone sees it
class Simulation:
    """A `Call` plus what a phone shows. Every caller action goes through `Call.step`."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self.on_line: list[Callable[[Line], None]] = []  # told of every transcript line

    # what the caller does
    def start(self) -> list[Line]:
        return self._after(self.call.start())

    def step(self, text: str) -> list[Line]:
        """One caller input, as in a script: `1`, `123#`, `say …`, `wait`, `hangup`."""
        return self._after(self.call.step(text))

    def press(self, keys: str) -> list[Line]:
        return self.step(keys)

    def say(self, text: str) -> list[Line]:
        return self.step(f"say {text}")

    def wait(self) -> list[Line]:
        return self.step("wait")

    def hangup(self) -> list[Line]:
        return self.step("hangup")

    # what the phone shows
    @property
    def session(self) -> Session:
        return self.call.session

    @property
    def ended(self) -> bool:
        return self.call.ended

    @property
    def outcome(self) -> dict[str, Any] | None:
        return self.call.outcome

    @property
    def collect(self) -> act.Collect | None:
        """What is being collected (also half-way through an entry), or None."""
        return None if self.ended else self.call.listening

    @property
    def entry(self) -> str:
        """The keys collected so far in the current entry (masked when secure)."""
        keys = self.session.buffer if not self.ended else ""
        return "*" * len(keys) if self.collect is not None and self.collect.secure else keys

    def timer(self) -> tuple[str, float] | None:
        """The timeout that runs now: ("first digit", 5.0), ("inter-digit", 3.0) or None."""
        spec = self.collect
        if spec is None or self.ended:
            return None
        if self.session.buffer:
            return ("inter-digit", spec.interdigit)
        return ("first digit", spec.timeout)

    def _after(self, lines: list[Line]) -> list[Line]:
        for line in lines:
            for notify in self.on_line:
                notify(line)
        return lines


# ---------------------------------------------------------------- scripted
def run_script(sim: Simulation, lines: Iterable[str], source: str, err: TextIO) -> str | None:
    """Play the script; the caller hangs up when it runs out. Returns an error message for a
    bad line (the call is then left as it is), else None."""
    sim.start()
    for number, raw in enumerate(lines, 1):
        try:
            step = parse_input(raw)
        except ValueError as exc:
            return f"{source}:{number}: {exc}"
        if step is None:
            continue
        if sim.ended:
            if step != "hangup":
                err.write(f"{source}:{number}: note: the call has ended; the rest is ignored\n")
            break
        sim.step(step)
    if not sim.ended:
        sim.hangup()
    return None


# ---------------------------------------------------------------- voice (--speak)
class Speaker:
    """Voices prompts with espeak-ng, one after the other, in a background thread.
    The phone calls `stop()` when the caller acts (barge-in); a script lets every
    prompt finish (`close(drain=True)`)."""

    def __init__(self, program: str) -> None:
        self.program = program
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._current: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._speak_queued, daemon=True)
        self._thread.start()

    def command(self, text: str, language: str) -> list[str]:
        return [self.program, "-v", language.lower(), "--", text]

    def say(self, text: str, language: str) -> None:
        self._queue.put((text, language))

    def stop(self) -> None:
        """Barge-in: drop the queued prompts and cut the one playing."""
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        with self._lock:
            if self._current is not None and self._current.poll() is None:
                self._current.terminate()

    def close(self, drain: bool = False) -> None:
        if not drain:
            self.stop()
        self._queue.put(None)
        self._thread.join(timeout=None if drain else 2)

    def _speak_queued(self) -> None:
        while (item := self._queue.get()) is not None:
            with self._lock:
                self._current = subprocess.Popen(
                    self.command(*item), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            self._current.wait()


class VoiceListener(Listener):
    """Sends every `say` of the session to a `Speaker` (attach before the call starts)."""

    def __init__(self, speaker: Speaker) -> None:
        self.speaker = speaker

    def prompt(self, session: Session, action: act.Say | act.Play) -> None:
        if isinstance(action, act.Say):
            self.speaker.say(action.text, action.language)


# ---------------------------------------------------------------- interactive: the model
class Phone:
    """What the interactive simulator shows and does; key bindings call these methods."""

    def __init__(
        self,
        sim: Simulation,
        *,
        realtime: bool = False,
        speaker: Speaker | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sim = sim
        self.realtime = realtime
        self.speaker = speaker
        self.clock = clock
        self.pressed = ""  # the keys of the last press, lit on the keypad
        self.pressed_at = 0.0
        self.scroll = 0  # transcript rows scrolled back from the end (PgUp/PgDn)
        self.top = 0  # the first transcript row shown (set when it is rendered)
        self.page = 10  # rows PgUp/PgDn move (the pane's height, less two)
        self.message = ""  # a notice shown in place of the help line until the next key
        self.deadline: float | None = None  # realtime: when the running timeout elapses
        self._anchor = (clock(), sim.call.now)  # (wall, virtual) at the last action

    @property
    def ended(self) -> bool:
        return self.sim.ended

    def start(self) -> None:
        self._act(self.sim.start, sync=False)

    def press(self, keys: str) -> None:
        self.pressed, self.pressed_at, self.message = keys, self.clock(), ""
        self._act(lambda: self.sim.press(keys))

    def say(self, text: str) -> None:
        self.message = ""
        if text.strip():
            self._act(lambda: self.sim.say(text.strip()))

    def elapse(self) -> None:
        """Let the running timeout pass at once (virtual time: `Call.wait`)."""
        self.message = ""
        self._act(self.sim.wait, sync=False)

    def hangup(self) -> None:
        self.message = ""
        self._act(self.sim.hangup)

    def tick(self) -> bool:
        """Called a few times a second: expire the realtime timer, dim the keypad.
        True when the screen should be redrawn."""
        now = self.clock()
        redraw = self.deadline is not None  # the countdown moves
        if self.pressed and now - self.pressed_at >= PRESS_HIGHLIGHT:
            self.pressed, redraw = "", True
        if self.deadline is not None and now >= self.deadline and not self.ended:
            self.elapse()
        return redraw

    def seconds_left(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - self.clock())

    def _act(self, action: Callable[[], list[Line]], sync: bool = True) -> None:
        if self.ended:
            return
        if self.speaker is not None:
            self.speaker.stop()
        if sync and self.realtime:  # the caller took real time to act
            wall, virtual = self._anchor
            call = self.sim.call
            call.now = max(call.now, virtual + (self.clock() - wall))
        action()
        self.scroll = 0
        self._anchor = (self.clock(), self.sim.call.now)
        timer = self.sim.timer()
        self.deadline = self._anchor[0] + timer[1] if timer and self.realtime else None


# ---------------------------------------------------------------- interactive: rendering
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


# ---------------------------------------------------------------- interactive: the application
def build_layout(phone: Phone) -> tuple[Layout, TextArea]:
    """Header; transcript | side panel (state, keypad, timers, variables); say line; help."""
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.layout import HSplit, Layout, VSplit, Window
    from prompt_toolkit.layout.controls import FormattedTextControl
    from prompt_toolkit.layout.dimension import Dimension
    from prompt_toolkit.widgets import Frame, TextArea

    def pane(render: Callable[[Phone], StyleAndTextTuples], **window: Any) -> Window:
        return Window(FormattedTextControl(lambda: render(phone)), **window)

    say_line = TextArea(
        multiline=False,
        prompt="say> ",
        style="class:say",
        read_only=Condition(lambda: phone.ended),
    )
    side = HSplit(
        [
            Frame(pane(render_state, height=3, wrap_lines=True), title="Call"),
            Frame(pane(render_keypad, height=5), title="Keypad"),
            Frame(pane(render_timers, height=4, wrap_lines=True), title="Timers"),
            Frame(pane(lambda p: render_variables(p, _sizes()[2] - 2)), title="Variables"),
        ],
        width=lambda: Dimension.exact(_sizes()[2]),
    )
    transcript = Frame(
        Window(
            FormattedTextControl(lambda: render_transcript(phone, *_sizes()[:2])),
            get_vertical_scroll=lambda window: phone.top,
        ),
        title="Transcript",
    )
    root = HSplit(
        [
            pane(render_header, height=1, style="class:header"),
            VSplit([transcript, side]),
            say_line,
            pane(lambda p: render_help(p, sum(_sizes()[::2]) + 2), height=1, style="class:help"),
        ]
    )
    return Layout(root, focused_element=say_line), say_line


def _sizes() -> tuple[int, int, int]:
    """The transcript pane's inner width and height (the screen less the side panel, the
    header, the say and help lines, and the frame's borders), and the side panel's width."""
    from prompt_toolkit.application import get_app

    size = get_app().output.get_size()
    side = SIDE_WIDTH if size.columns >= 2 * SIDE_WIDTH + 20 else max(28, size.columns * 2 // 5)
    return max(20, size.columns - side - 2), max(3, size.rows - 5), side


def build_key_bindings(phone: Phone, say_line: TextArea) -> KeyBindings:
    """Keys press at once while the say line is empty; Backspace is Ctrl-H to a terminal,
    so hanging up is F10 or Ctrl-X, never Ctrl-H."""
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent

    kb = KeyBindings()
    up = Condition(lambda: not phone.ended)
    keypad = Condition(lambda: not phone.ended and not say_line.text)
    ended = Condition(lambda: phone.ended)

    for key in "0123456789*#":

        @kb.add(key, filter=keypad)
        def _press(event: KeyPressEvent, key: str = key) -> None:
            phone.press(key)

    @kb.add("enter", filter=up)
    def _say(event: KeyPressEvent) -> None:
        text, say_line.text = say_line.text, ""
        phone.say(text)

    @kb.add("tab", filter=up)
    @kb.add("f2", filter=up)
    def _elapse(event: KeyPressEvent) -> None:
        phone.elapse()

    @kb.add("f10", filter=up)
    @kb.add("c-x", filter=up, eager=True)
    def _hangup(event: KeyPressEvent) -> None:
        phone.hangup()

    @kb.add("pageup")
    def _back(event: KeyPressEvent) -> None:
        phone.scroll += phone.page

    @kb.add("pagedown")
    def _forward(event: KeyPressEvent) -> None:
        phone.scroll = max(0, phone.scroll - phone.page)

    @kb.add("c-c")
    @kb.add("c-q")
    @kb.add("q", filter=ended)
    @kb.add("enter", filter=ended)
    def _quit(event: KeyPressEvent) -> None:
        phone.hangup()  # nothing once the call has ended
        event.app.exit()

    return kb


def build_style() -> Style:
    from prompt_toolkit.styles import Style

    return Style.from_dict(
        {
            "header": "bg:#1c3d5a #ffffff",
            "header.title": "bg:#1c3d5a #ffffff bold",
            "time": "#888888",
            "ivr": "#5fafff bold",
            "ivr.text": "",
            "caller": "#ffaf00 bold",
            "caller.text": "#ffaf00",
            "kind": "#888888",
            "dim": "#888888",
            "rule": "#888888 bold",
            "record": "#aaaaaa",
            "outcome": "#00d75f bold",
            "label": "#888888",
            "state": "bold",
            "key": "bg:#303030 #aaaaaa",
            "key.live": "#ffffff bold",
            "key.pressed": "bg:#ffaf00 #000000 bold",
            "entry": "#ffaf00 bold",
            "timer": "#ff5f5f",
            "var": "#5fafff",
            "help": "bg:#262626 #bcbcbc",
            "help.key": "bg:#262626 #ffffff bold",
            "message": "bg:#5f0000 #ffffff",
            "say": "",
        }
    )


def build_application(
    phone: Phone, input: Input | None = None, output: Output | None = None
) -> Application[None]:
    """The phone's full-screen application; by default on the terminal, even when standard
    output is piped (the prompts are for the person at the keypad)."""
    from prompt_toolkit.application import Application
    from prompt_toolkit.output import create_output

    if output is None:
        output = create_output(always_prefer_tty=True)
    layout, say_line = build_layout(phone)
    return Application(
        layout=layout,
        key_bindings=build_key_bindings(phone, say_line),
        style=build_style(),
        full_screen=True,
        mouse_support=False,
        input=input,
        output=output,
    )


async def run_phone(phone: Phone, app: Application[None], tick: float = 0.1) -> None:
    """Start the call and run the application until the caller quits."""
    phone.start()

    async def ticker() -> None:
        while True:
            await asyncio.sleep(tick)
            if phone.tick():
                app.invalidate()

    task = asyncio.ensure_future(ticker())
    try:
        await app.run_async()
    finally:
        task.cancel()


def summary(sim: Simulation) -> Sequence[str]:
    """What the phone prints once the full screen is gone: transcript, record, outcome."""
    record = json.dumps(sim.call.record, indent=2, ensure_ascii=False, default=str)
    return [*(str(line) for line in sim.call.transcript), record, outcome_line(sim.outcome)]


__all__ = [
    "TRANSFER_RESULTS",
    "Options",
    "Phone",
    "Simulation",
    "Speaker",
    "UsageError",
    "VoiceListener",
    "build_application",
    "build_key_bindings",
    "build_layout",
    "make_call",
    "outcome_line",
    "parse_at",
    "parse_input",
    "run_phone",
    "run_script",
    "summary",
]
