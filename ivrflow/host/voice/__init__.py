"""Speech for the voicebot: what the caller says in, what the flow says out.

`audio` (8 kHz PCM helpers), `endpoint` (voice-activity detection and end of speech, sans-IO),
`recognizer` (the interface every speech recognizer implements, the grammar built from a
state's phrases, and the registry of recognizers by language), `sphinx` (the offline
recognizer: pocketsphinx), `synthesis` (the text-to-speech interface and espeak-ng).

The optional packages (pocketsphinx, webrtcvad) are imported only here, lazily, and only
when speech is switched on (`pip install 'ivrflow[voice]'`); `missing_extra()` words the
message when they are absent.
"""

from __future__ import annotations

import importlib.util

VOICE_PACKAGES = {"pocketsphinx": "pocketsphinx", "webrtcvad": "webrtcvad-wheels"}


def missing_extra() -> str | None:
    """None when the voice extra is installed, else a message saying what to install."""
    missing = [pip for mod, pip in VOICE_PACKAGES.items() if importlib.util.find_spec(mod) is None]
    if not missing:
        return None
    return (
        f"speech needs {', '.join(missing)}: pip install 'ivrflow[voice]' "
        "(or run without --speech: DTMF only)"
    )


__all__ = ["VOICE_PACKAGES", "missing_extra"]
