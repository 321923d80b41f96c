"""The `ivrflow` command. Exit codes: 0 ok, 1 a check or test failed, 2 bad usage.

Sub-commands live in ivrflow/commands/, one module each; they import what
they need when they run, so `ivrflow check` never pays for prompt_toolkit.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .commands import COMMANDS, EXIT_OK, EXIT_USAGE, load


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _build(argv: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(prog="ivrflow", description="IVR call flows you can read, diff and test.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, help_text in COMMANDS.items():
        # Only the command being run is imported: `ivrflow check` never loads the simulator.
        command = load(name) if name == chosen else None
        if name == chosen and command is None:
            continue
        p = sub.add_parser(
            name, help=help_text, description=command.DESCRIPTION if command else help_text
        )
        if command is not None:
            command.add_arguments(p)
            p.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # A terminal or pipe that cannot show "—" or "ã" must not crash the command.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _build(argv)
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(f"ivrflow {__version__}")
        return EXIT_OK
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.run(args)
        return code
    except BrokenPipeError:  # `ivrflow check … | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


__all__ = ["main"]
