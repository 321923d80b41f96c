"""`ivrflow simulate FLOW`: call a flow from the terminal — a phone, or a script."""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TextIO

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from ..model import Flow
    from ..tools.simulator import Simulation, Speaker

NAME = "simulate"
HELP = "call a flow from the terminal (or from a script of caller inputs)"
DESCRIPTION = (
    "Place a simulated call into FLOW. On a terminal: a full-screen phone (transcript, state, "
    "keypad, entry, variables, timers). When standard input is not a terminal, or with "
    "--script: one caller input per line, the transcript printed as it happens, and a last "
    "line 'outcome: <kind> key=value…'. Exit 0 when the call ended (any outcome but error), "
    "1 for an error outcome, 2 on bad usage."
)
EPILOG = """\
script lines (stdin or --script FILE):
  1 / 123# / *        press keys (a line of keys only; `press 123` works too)
  say segunda via     the caller speaks
  wait                let the running timeout pass (no input / inter-digit)
  hangup              the caller hangs up (also done when the script runs out)
  # comment           blank lines and comments are skipped

phone keys:
  0-9 * #             press at once (while the say line is empty)
  words + Enter       say them
  Tab or F2           let the running timeout pass now (virtual time)
  F10 or Ctrl-X       hang up (not Ctrl-H: terminals send it for Backspace)
  PgUp / PgDn         scroll the transcript
  Ctrl-Q or Ctrl-C    quit (hangs up first)

example:
  printf '1\\nwait\\nhangup\\n' | ivrflow simulate flows/billing.ivr
  ivrflow simulate flows/billing.ivr --at 2026-12-25T10:00 --queue billing:ewt=30
"""


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..tools.simulator import TRANSFER_RESULTS

    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EPILOG
    p.add_argument("flow", metavar="FLOW", help="the .ivr flow to call")
    call = p.add_argument_group("the call")
    call.add_argument("--ani", metavar="NUMBER", help="the caller's number ('anonymous': withheld)")
    call.add_argument("--dnis", metavar="NUMBER", help="the number dialed")
    call.add_argument("--caller", metavar="NAME", help="take ani/dnis from the fixtures' calls")
    call.add_argument(
        "--at",
        metavar="TIME",
        help="when the call is placed: 2026-12-25T10:00 (the flow's time zone), with an "
        "offset (…-03:00), a date, or 19:30 on the default day; default: Tue 2026-11-24 "
        "10:00 in the flow's time zone",
    )
    call.add_argument("--lang", metavar="TAG", help="the call's language, e.g. en-US")
    call.add_argument(
        "--emergency",
        metavar="HOURS",
        action="append",
        default=[],
        help="throw the emergency switch of these hours (repeatable)",
    )
    call.add_argument(
        "--queue",
        metavar="Q:ewt=S,position=N",
        action="append",
        default=[],
        help="queue status, e.g. billing:ewt=300,position=4 (repeatable)",
    )
    call.add_argument(
        "--fixtures",
        metavar="FILE",
        help="look-up results, queues and callers (default: fixtures/<flow>.yaml beside it)",
    )
    call.add_argument(
        "--transfer",
        choices=TRANSFER_RESULTS,
        default="answered",
        help="how transfers end (default: answered)",
    )
    call.add_argument("--seed", type=int, default=0, help="seed for A/B splits (default 0)")
    run_ = p.add_argument_group("running it")
    run_.add_argument("--script", metavar="FILE", help="caller inputs from FILE, one per line")
    run_.add_argument("--transcript", metavar="FILE", help="also write the transcript to FILE")
    run_.add_argument(
        "--realtime", action="store_true", help="phone: timeouts elapse on the wall clock"
    )
    run_.add_argument("--speak", action="store_true", help="voice the prompts with espeak-ng")


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from ..tools import simulator as sm

    out, err = out or sys.stdout, err or sys.stderr
    flow = _load(args.flow, err)
    if flow is None:
        return EXIT_USAGE
    interactive = args.script is None and sys.stdin.isatty()
    options = sm.Options(
        ani=args.ani,
        dnis=args.dnis,
        caller=args.caller,
        at=args.at,
        language=args.lang,
        emergency=tuple(args.emergency),
        queues=tuple(args.queue),
        fixtures=args.fixtures,
        transfer=args.transfer,
        seed=args.seed,
    )
    log: TextIO | None = None
    with ExitStack() as stack:
        try:
            sim = sm.Simulation(sm.make_call(flow, options))
            script = (
                stack.enter_context(_open(args.script, "r", "--script"))
                if args.script is not None
                else sys.stdin
            )
            if args.transcript is not None:
                log = stack.enter_context(_open(args.transcript, "w", "--transcript"))
                sim.on_line.append(lambda line: _write(log, f"{line}\n"))
        except sm.UsageError as exc:
            err.write(f"ivrflow simulate: error: {exc}\n")
            return EXIT_USAGE
        speaker, note = _speaker(args.speak)
        if speaker is not None:
            stack.callback(speaker.close, drain=not interactive)
            sim.session.listeners = (*sim.session.listeners, sm.VoiceListener(speaker))
        if interactive:
            _phone(sim, args.realtime, speaker, note, out)
        else:
            if note:
                err.write(f"note: {note}\n")
            if args.realtime:
                err.write("note: --realtime only changes the interactive phone\n")
            sim.on_line.append(lambda line: _write(out, f"{line}\n", flush=True))
            source = args.script if args.script is not None else "<stdin>"
            problem = sm.run_script(sim, script, source, err)
            if problem is not None:
                err.write(f"ivrflow simulate: error: {problem}\n")
                return EXIT_USAGE
            out.write(sm.outcome_line(sim.outcome) + "\n")
        if log is not None:
            log.write(sm.outcome_line(sim.outcome) + "\n")
    kind = (sim.outcome or {}).get("kind", "error")
    return EXIT_FAILED if kind == "error" else EXIT_OK


def _load(path: str, err: TextIO) -> Flow | None:
    """The compiled flow, or None after printing why not (no file, errors, a module)."""
    from ..compiler import compile_file
    from ..errors import render

    if not Path(path).is_file():
        err.write(f"ivrflow simulate: error: no flow file '{path}'\n")
        return None
    result = compile_file(path)
    for d in result.errors:
        err.write(render(d, result.sources.get(d.path)) + "\n")
    if result.errors:
        err.write(f"ivrflow simulate: error: '{path}' has errors; nothing to simulate\n")
        return None
    if result.flow is None:
        what = f"module '{result.module}'" if result.module else "no flow"
        err.write(f"ivrflow simulate: error: '{path}' is {what}, not a flow to call\n")
        return None
    return result.flow


def _write(stream: TextIO | None, text: str, flush: bool = False) -> None:
    if stream is not None:
        stream.write(text)
        if flush:
            stream.flush()


def _open(path: str, mode: Literal["r", "w"], option: str) -> TextIO:
    from ..tools.simulator import UsageError

    try:
        return open(path, mode, encoding="utf-8")  # noqa: SIM115 (closed by the ExitStack)
    except OSError as exc:
        raise UsageError(f"{option}: cannot open '{path}': {exc.strerror or exc}") from None


def _speaker(speak: bool) -> tuple[Speaker | None, str]:
    """The speaker for --speak, or why there is none."""
    import shutil

    from ..tools.simulator import Speaker

    if not speak:
        return None, ""
    program = shutil.which("espeak-ng")
    if program is None:
        return None, (
            "--speak needs espeak-ng, which is not on PATH "
            "(Debian/Ubuntu: apt-get install espeak-ng); the prompts are shown, not spoken"
        )
    return Speaker(program), ""


def _phone(
    sim: Simulation, realtime: bool, speaker: Speaker | None, note: str, out: TextIO
) -> None:
    import asyncio

    from ..tools.simulator import Phone, build_application, run_phone, summary

    phone = Phone(sim, realtime=realtime, speaker=speaker)
    phone.message = note  # shown in place of the help line until the first key
    app = build_application(phone)
    asyncio.run(run_phone(phone, app))
    for text in summary(sim):
        out.write(text + "\n")
