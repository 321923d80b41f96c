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

The package, by concern: `options` (placing the call), `simulation` (the call as a phone
sees it, the script, the outcome line), `speaker` (espeak-ng), `phone` (the interactive
phone's model), `panes` (what each pane shows) and `terminal` (the prompt_toolkit
application).
"""

from __future__ import annotations

from .options import TRANSFER_RESULTS, Options, UsageError, make_call, parse_at
from .panes import (
    KEYPAD,
    SIDE_WIDTH,
    TEXT_COLUMN,
    describe_collect,
    live_keys,
    render_header,
    render_help,
    render_keypad,
    render_state,
    render_timers,
    render_transcript,
    render_variables,
)
from .phone import PRESS_HIGHLIGHT, Phone
from .simulation import Simulation, outcome_line, parse_input, run_script, summary
from .speaker import Speaker, VoiceListener
from .terminal import (
    build_application,
    build_key_bindings,
    build_layout,
    build_style,
    run_phone,
)

__all__ = [
    "KEYPAD",
    "PRESS_HIGHLIGHT",
    "SIDE_WIDTH",
    "TEXT_COLUMN",
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
    "build_style",
    "describe_collect",
    "live_keys",
    "make_call",
    "outcome_line",
    "parse_at",
    "parse_input",
    "render_header",
    "render_help",
    "render_keypad",
    "render_state",
    "render_timers",
    "render_transcript",
    "render_variables",
    "run_phone",
    "run_script",
    "summary",
]
