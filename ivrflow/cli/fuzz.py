"""`ivrflow fuzz FLOW --calls N --seed S`: random callers, and the invariants every call keeps."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, count, flow_files

if TYPE_CHECKING:
    from .terminal import Interrupt

NAME = "fuzz"
HELP = "call a flow with random callers and check that every call ends cleanly"
DESCRIPTION = (
    "Place random calls against a flow — random, invalid and early keys, silence, "
    "utterances valid, near and garbled, hang-ups, look-ups that fail or time out, full "
    "queues — and check on every call: no crash, an end within a bound once the caller is "
    "silent, exactly one record with a valid outcome, no secure value in clear. Each "
    "violation is printed as 'seed=S call=K invariant: message' with a scenario YAML that "
    "replays it. On a terminal a progress bar shows the calls placed (not with --quiet). "
    "Ctrl-C stops after the call in progress and still writes the scenarios found so far "
    "(exit 130). Exit 0 when every call kept every invariant, 1 on a violation, 2 on bad "
    "usage."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("flows", nargs="*", metavar="FLOW", help=".ivr files (or directories)")
    p.add_argument("--calls", type=int, default=1000, help="calls per flow (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--out",
        metavar="DIR",
        help="write each violation's scenario to DIR (default: print it)",
    )
    p.add_argument(
        "--no-faults",
        action="store_true",
        help="back ends always answer from the fixtures (no failing look-ups or transfers)",
    )
    p.add_argument("--turns", type=int, default=30, help="caller turns before it goes silent")
    p.add_argument(
        "--replay",
        nargs="+",
        metavar="SCENARIO",
        help="play scenario files (as the fuzzer writes them) and check every invariant",
    )
    p.add_argument("--max-shown", type=int, default=20, help="violations printed per flow")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar on a terminal")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from ..tools.fuzzing import replay
    from ..tools.scenarios import ScenarioError
    from .terminal import Interrupt

    out = out or sys.stdout
    if args.replay:
        failed = False
        for path in args.replay:
            try:
                problems = replay(path)
            except ScenarioError as exc:
                out.write(str(exc) + "\n")
                return EXIT_USAGE
            for invariant, message in problems:
                out.write(f"{path}: {invariant}: {message}\n")
            out.write(f"{path}: {'FAIL' if problems else 'ok'}\n")
            failed = failed or bool(problems)
        return EXIT_FAILED if failed else EXIT_OK
    files = flow_files(args.flows)
    if not files:
        out.write("ivrflow fuzz: give a flow (.ivr) or a directory of flows\n")
        return EXIT_USAGE
    if args.calls < 1 or args.turns < 0:
        out.write("ivrflow fuzz: --calls must be at least 1 and --turns at least 0\n")
        return EXIT_USAGE
    failed = interrupted = False
    with Interrupt() as stop:
        for file in files:
            if stop():
                break
            failed = _fuzz_one(args, file, out, stop) or failed
            interrupted = stop()
    if interrupted:
        sys.stderr.write("ivrflow fuzz: interrupted; the figures above are of the calls placed\n")
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else EXIT_OK


def _fuzz_one(args: argparse.Namespace, file: str, out: TextIO, stop: Interrupt) -> bool:
    """Fuzz one flow file; True when it failed (does not compile, or a violation)."""
    from ..compiler import compile_file
    from ..errors import render
    from ..tools.fuzzing import fuzz_flow
    from ..tools.fuzzing.repro import write
    from .terminal import Progress

    result = compile_file(file)
    if result.flow is None and result.module is not None and not result.errors:
        out.write(f"{file}: module '{result.module}', not a flow; nothing to fuzz\n")
        return False
    if result.flow is None:
        for d in result.errors:
            out.write(render(d, result.sources.get(d.path)) + "\n")
        out.write(f"{file}: does not compile; nothing to fuzz\n")
        return True
    shown = 0

    def show(v: object) -> None:
        nonlocal shown
        shown += 1
        if shown <= args.max_shown:
            bar.write(f"{file}: {v}\n", out)

    with Progress(
        f"fuzz {Path(file).name}", total=args.calls, unit=" calls", quiet=args.quiet
    ) as bar:
        report = fuzz_flow(
            result.flow,
            args.calls,
            args.seed,
            faults=not args.no_faults,
            max_turns=args.turns,
            on_violation=show,
            on_call=lambda _: bar.advance(),
            stop=stop,
        )
    # Interrupted or not, what was found is written: the scenarios replay those calls.
    for n, v in enumerate(report.violations[: args.max_shown]):
        name = f"fuzz-{Path(file).stem}-seed{v.seed}-call{v.call}-{v.invariant}.yaml"
        if args.out:

            def text(flow_path: str, v: object = v) -> str:
                return _with_flow(v.scenario_yaml, flow_path)  # type: ignore[attr-defined]

            target = write(args.out, name, text, file)
            out.write(f"  scenario: {target}\n")
        elif n < 3:
            out.write(f"--- {name}\n{v.scenario_yaml}\n")
    if len(report.violations) > args.max_shown:
        out.write(f"  … and {len(report.violations) - args.max_shown} more violations\n")
    outcomes = ", ".join(f"{k} {n}" for k, n in sorted(report.outcomes.items()))
    partial = f" (interrupted: {report.calls} of {args.calls})" if report.interrupted else ""
    out.write(
        f"{file}: {count(report.calls, 'call')}{partial}, {report.records} records "
        f"({report.records_lost} lost), {report.secrets_leaked} secrets leaked "
        f"({report.secure_calls} calls keyed one), "
        f"{count(len(report.violations), 'violation')} — {outcomes} — "
        f"states reached {len(report.states)}/{report.state_count} — "
        f"{report.calls_per_second:.0f} calls/s, seed {args.seed}\n"
    )
    return not report.ok


def _with_flow(text: str, flow_path: str) -> str:
    """The scenario text with its `flow:` line pointing at `flow_path`."""
    import json

    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("flow: "):
            lines[i] = f"flow: {json.dumps(flow_path)}"
            break
    return "\n".join(lines) + "\n"
