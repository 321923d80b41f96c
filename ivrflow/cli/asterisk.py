"""`ivrflow asterisk queues FLOWS`: Asterisk's side of the flows' in-queue experience."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from . import EXIT_FAILED, EXIT_OK, flow_files

NAME = "asterisk"
QUEUES = "queues"  # the sounds dir's folder of the periodic announcements
HELP = "write Asterisk configuration from flows: queues.conf for their in-queue flows"
DESCRIPTION = (
    "queues: one queues.conf section `[queue](+)` per queue a flow's transfer waits in with "
    "`while waiting:` — musicclass, announce-position / announce-holdtime every `every` "
    "seconds, the message as periodic-announce (rendered once with espeak-ng and sox into "
    "--sounds-dir/queues/, beside what `serve agi --sounds-dir` uses) and the exit context for its "
    "keys. #include the output after the queues it extends. Exit 1 when a flow has errors or "
    "a queue's in-queue flow cannot be written (two flows wait differently in one queue, a "
    "templated message, no audio)."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="what", required=True)
    q = sub.add_parser("queues", help="queues.conf sections for the flows' `while waiting:`")
    q.add_argument("flows", nargs="+", metavar="FLOW", help=".ivr files or directories")
    q.add_argument("--sounds-dir", required=True, type=Path, help="where the message is rendered")
    q.add_argument(
        "--asterisk-sounds-dir", help="the sounds dir as Asterisk sees it (chroot, container)"
    )
    q.add_argument("--exit-context", default="ivrflow-queue-exit", help="the keys' context")
    q.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from ..compiler import compile_file
    from ..errors import render
    from ..host.gateways.agi_hold import queues_conf
    from ..host.gateways.prompt_audio import SpeechRenderer, sound_key
    from ..runtime import actions as act

    out, err = out or sys.stdout, err or sys.stderr
    flows = []
    for path in flow_files(args.flows):
        result = compile_file(path)
        if result.flow is None or result.errors:
            for d in result.errors:
                err.write(render(d, result.sources.get(d.path)) + "\n")
            return EXIT_FAILED
        flows.append(result.flow)
    renderer = SpeechRenderer(args.sounds_dir, args.asterisk_sounds_dir)

    async def sound(say: act.Say) -> str | None:
        # Its own folder, not the bounded prompt cache: queues.conf names the file for good.
        target = args.sounds_dir / QUEUES / f"{sound_key(say.text, say.language, None)}.wav"
        if not target.is_file():
            if not renderer.can_render:
                return None
            target.parent.mkdir(parents=True, exist_ok=True)
            if not await renderer.render(say.text, say.language, target):
                return None
        return renderer.asterisk_name(target)

    text, problems = asyncio.run(queues_conf(flows, sound, args.exit_context))
    for problem in problems:
        err.write(f"ivrflow asterisk queues: {problem}\n")
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        out.write(text)
    return EXIT_FAILED if problems else EXIT_OK
