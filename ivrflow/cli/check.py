"""`ivrflow check FILE...`: compile flows and report every problem."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, TextIO

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE, count, flow_files

if TYPE_CHECKING:
    from ..errors import Diagnostic

NAME = "check"
HELP = "compile flows and report every problem"
DESCRIPTION = (
    "Compile .ivr files and report errors and warnings, in colour on a terminal (never when "
    "piped, nor when NO_COLOR is set). Exit 0 when no file has errors, 1 when one has, 2 on bad usage."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "files", nargs="+", metavar="FILE", help="flow files, or directories of them (*.ivr)"
    )
    p.add_argument("--strict", action="store_true", help="treat warnings as errors")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--quiet", "-q", action="store_true", help="print nothing on success")


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from ..compiler import compile_file
    from ..errors import render
    from .terminal import colour, colour_enabled, paint_diagnostic

    out = out or sys.stdout
    tinted = colour_enabled(out)
    files, strict, fmt, quiet = flow_files(args.files), args.strict, args.format, args.quiet
    if not files:
        sys.stderr.write(f"ivrflow check: no .ivr files in {', '.join(args.files)}\n")
        return EXIT_USAGE
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
            out.write(paint_diagnostic(render(shown, result.sources.get(d.path)), tinted) + "\n")
        errors += len(bad)
        warn = f", {count(len(result.warnings), 'warning')}" if result.warnings else ""
        if bad or not compiled:
            failed_files += 1
        elif quiet:
            pass
        elif result.flow is not None:
            states = count(len(result.flow.states), "state")
            ok = colour("ok", "green", tinted)
            out.write(f"{file}: {ok} — flow '{result.flow.name}', {states}{warn}\n")
        else:
            ok = colour("ok", "green", tinted)
            out.write(f"{file}: {ok} — module '{result.module}'{warn}\n")
    if fmt == "json":
        import json

        json.dump(report, out, indent=2, ensure_ascii=False)  # always a list: one shape to parse
        out.write("\n")
    elif failed and not quiet:
        where = f" in {count(failed_files, 'file')}" if len(files) > 1 else ""
        failed_text = colour("check failed", "red", tinted)
        out.write(f"{failed_text}: {count(errors, 'error')}{where}\n")
    return EXIT_FAILED if failed else EXIT_OK


def _as_error(d: Diagnostic) -> Diagnostic:
    return replace(d, severity="error")
