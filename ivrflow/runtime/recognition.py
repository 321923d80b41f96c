"""What a question listens for: DTMF, speech or both, and how speech is to be recognized.

A state's `input` says which (a capture of words hears speech only, a secure capture keys
only, unless it says otherwise: the compiler settles those); without one, each kind keeps its
own default (a menu hears speech when it has phrases). The recognizer's language is the
state's or flow's `speech_language`, else the call's language at that moment. The questions
a state asks itself (a read-back, "did you say …?") listen the way the state does; a capture
of words confirms with 1/2 or yes/no alike.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .. import model
from . import actions as act
from .state import CAPTURE, CAPTURE_CONFIRM, OFFER_NUMBER, CallState, Phase


def speech_language(call: CallState, state: model.State) -> str:
    """The language speech is recognized in for `state`, now."""
    inp: model.InputSettings = getattr(state, "input", call.flow.settings.input)
    return inp.recognizer.language or str(call.vars.get("language") or call.flow.settings.language)


def complete(spec: act.Collect, state: Any, phase: Phase, language: str) -> act.Collect:
    """A kind's collect spec with the state's input modes and recognizer settings."""
    inp: model.InputSettings | None = getattr(state, "input", None)
    if inp is None:
        return spec
    words = isinstance(state, model.Capture) and state.words is not None
    kinds = spec.kinds
    if (
        inp.modes is not None
        and phase is not OFFER_NUMBER
        and not (words and phase is CAPTURE_CONFIRM)
    ):
        kinds = inp.modes
    if "speech" not in kinds:
        return dataclasses.replace(spec, kinds=kinds) if kinds != spec.kinds else spec
    rec = inp.recognizer
    return dataclasses.replace(
        spec,
        kinds=kinds,
        language=language,
        speech_timeout=rec.end_timeout,
        hints=rec.hints,
        free_speech=words and phase is CAPTURE,
    )


__all__ = ["complete", "speech_language"]
