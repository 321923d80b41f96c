"""The `ivrflow` command. Exit codes: 0 ok, 1 the flow has errors, 2 bad usage.

Each sub-command imports what it needs when it runs, so `ivrflow check` never
pays for prompt_toolkit or network code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from .errors import Diagnostic

EXIT_OK, EXIT_ERRORS, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _build() -> argparse.ArgumentParser:
    parser = _Parser(prog="ivrflow", description="IVR call flows you can read, diff and test.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    check = sub.add_parser(
        "check",
        help="compile flows and report every problem",
        description="Compile .ivr files and report errors and warnings. "
        "Exit 0 when no file has errors, 1 when one has, 2 on bad usage.",
    )
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--strict", action="store_true", help="treat warnings as errors")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")
    return parser


def cmd_check(files: Sequence[str], strict: bool, fmt: str, quiet: bool, out: TextIO) -> int:
    from .compiler import compile_file
    from .errors import render

    failed = False
    errors = failed_files = 0
    report = []
    for file in files:
        result = compile_file(file)
        bad = result.diagnostics if strict else result.errors
        compiled = result.flow is not None or result.module is not None
        failed = failed or bool(bad) or not compiled
        if fmt == "json":
            report.append(
                {
                    "path": file,
                    "ok": not bad and compiled,
                    "diagnostics": [
                        d.as_json() | ({"severity": "error"} if strict else {})
                        for d in result.diagnostics
                    ],
                }
            )
            continue
        for d in result.diagnostics:
            shown = d if not strict or d.severity == "error" else _as_error(d)
            out.write(render(shown, result.sources.get(d.path)) + "\n")
        errors += len(result.diagnostics if strict else result.errors)
        warn = f", {_count(len(result.warnings), 'warning')}" if result.warnings else ""
        if bad or not compiled:
            failed_files += 1
        elif quiet:
            pass
        elif result.flow is not None:
            states = _count(len(result.flow.states), "state")
            out.write(f"{file}: ok — flow '{result.flow.name}', {states}{warn}\n")
        else:
            out.write(f"{file}: ok — module '{result.module}'{warn}\n")
    if fmt == "json":
        import json

        json.dump(report, out, indent=2, ensure_ascii=False)  # always a list: one shape to parse
        out.write("\n")
    elif failed and not quiet:
        where = f" in {_count(failed_files, 'file')}" if len(files) > 1 else ""
        out.write(f"check failed: {_count(errors, 'error')}{where}\n")
    return EXIT_ERRORS if failed else EXIT_OK


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _as_error(d: Diagnostic) -> Diagnostic:
    return replace(d, severity="error")


def main(argv: Sequence[str] | None = None) -> int:
    # A terminal or pipe that cannot show "—" or "ã" must not crash the command.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = _build()
    args = parser.parse_args(argv)
    if args.version:
        from . import __version__

        print(f"ivrflow {__version__}")
        return EXIT_OK
    try:
        if args.command == "check":
            return cmd_check(args.files, args.strict, args.format, args.quiet, sys.stdout)
    except BrokenPipeError:  # `ivrflow check … | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    parser.print_help(sys.stderr)
    return EXIT_USAGE


__all__ = ["main"]
