"""The interactive phone's model: what it shows and does, with no terminal in sight.

The key bindings (`terminal.py`) call these methods and the panes (`panes.py`) read them,
so the phone's behaviour is tested without prompt_toolkit or a screen.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..testing import Line
from .simulation import Simulation
from .speaker import Speaker

PRESS_HIGHLIGHT = 0.6  # seconds a pressed key stays lit on the keypad


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


__all__ = ["PRESS_HIGHLIGHT", "Phone"]
