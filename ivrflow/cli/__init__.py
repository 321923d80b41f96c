"""The `ivrflow` command: `main(argv) -> int`. Exit codes: 0 ok, 1 a check or test failed,
2 bad usage.

One module per sub-command, each with `NAME`, `HELP`, `DESCRIPTION`,
`add_arguments(parser)` and `run(args) -> int`. Only the command being run is
imported, and each imports its heavy dependencies inside `run`, so `ivrflow check`
never pays for prompt_toolkit and the command line starts fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130  # as a shell reports a command ended by SIGINT


# name → one-line help, so `ivrflow --help` lists every command without importing any.
COMMANDS = {
    "check": "compile flows and report every problem",
    "simulate": "call a flow from the terminal (or from a script of caller inputs)",
    "test": "run YAML scenario tests, with coverage",
    "explore": "enumerate every path through a flow",
    "graph": "draw a flow as Mermaid, DOT, SVG or PNG",
    "serve": "run flows behind telephony: a FastAGI server for Asterisk, or a webhook",
    "fuzz": "call a flow with random callers and check that every call ends cleanly",
    "report": "contact-center KPIs from call records (tables, JSON, CSV, HTML)",
    "traffic": "predict what a flow does to the contact center: IVR time, queues, ASA, SL",
    "recover": "write the records of calls a crashed server left unfinished",
    "callbacks": "list, show, cancel and retry stored callbacks; run the dispatcher that calls back",
    "prompts": "list every prompt of a flow (for recording), pre-render the constant ones",
    "asterisk": "write Asterisk configuration from flows: queues.conf for their in-queue flows",
    "completion": "print a shell completion script (bash, zsh, tcsh)",
}


def load(name: str) -> ModuleType | None:
    """The sub-command's module, or None while it does not exist yet."""
    import importlib

    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise
        return None


def flow_files(paths: Sequence[str]) -> list[str]:
    """Paths as given, a directory standing for its `*.ivr` files (the flows; the modules
    they `use`, in subfolders, are checked through them)."""
    from pathlib import Path

    out: list[str] = []
    for raw in paths:
        p = Path(raw)
        out.extend(str(f) for f in sorted(p.glob("*.ivr"))) if p.is_dir() else out.append(raw)
    return out


def count(n: int, noun: str) -> str:
    """'1 state', '3 states'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _build(argv: Sequence[str], every: bool = False) -> argparse.ArgumentParser:
    """The parser; with `every`, each command's options too (for shell completion)."""
    parser = _Parser(prog="ivrflow", description="IVR call flows you can read, diff and test.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, help_text in COMMANDS.items():
        # Only the command being run is imported: `ivrflow check` never loads the simulator.
        command = load(name) if every or name == chosen else None
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
    chosen = next((a for a in argv if not a.startswith("-")), None)
    if chosen is not None and chosen not in COMMANDS:
        import difflib

        near = difflib.get_close_matches(chosen, COMMANDS, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        _build([]).print_usage(sys.stderr)
        print(f"ivrflow: unknown command '{chosen}'{hint} (ivrflow --help lists them)",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    parser = _build(argv)
    args = parser.parse_args(argv)
    if args.version:
        from .. import __version__

        print(f"ivrflow {__version__}")
        return EXIT_OK
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        code: int = args.run(args)
        return code
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback
        sys.stderr.write(f"\nivrflow {args.command}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `ivrflow check … | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def full_parser() -> argparse.ArgumentParser:
    """The parser with every command and every option (what `ivrflow completion` reads)."""
    return _build([], every=True)


__all__ = [
    "COMMANDS",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "count",
    "flow_files",
    "full_parser",
    "load",
    "main",
]
