"""`--speak`: the prompts voiced by espeak-ng, with barge-in."""

from __future__ import annotations

import queue
import subprocess
import threading
from typing import TYPE_CHECKING

from ...runtime import actions as act
from ...runtime.record import Listener

if TYPE_CHECKING:
    from ...runtime.session import Session


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


__all__ = ["Speaker", "VoiceListener"]
