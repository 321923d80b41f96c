"""The phone as a prompt_toolkit full-screen application: layout, keys, style, the loop.

prompt_toolkit is imported inside these functions only, so importing the simulator (as the
scripted `ivrflow simulate` does) never loads it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .panes import (
    SIDE_WIDTH,
    render_header,
    render_help,
    render_keypad,
    render_state,
    render_timers,
    render_transcript,
    render_variables,
)
from .phone import Phone

if TYPE_CHECKING:
    from prompt_toolkit.application import Application
    from prompt_toolkit.formatted_text import StyleAndTextTuples
    from prompt_toolkit.input import Input
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.layout import Layout
    from prompt_toolkit.output import Output
    from prompt_toolkit.styles import Style
    from prompt_toolkit.widgets import TextArea


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


__all__ = [
    "build_application",
    "build_key_bindings",
    "build_layout",
    "build_style",
    "run_phone",
]
