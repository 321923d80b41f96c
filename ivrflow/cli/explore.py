"""`ivrflow explore FLOW`: every path through a flow, without a phone."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE, count

NAME = "explore"
HELP = "enumerate the paths through a flow: caller inputs, host answers, outcomes"
DESCRIPTION = (
    "Drive the flow like a caller at every point where it listens (each menu choice, an "
    "invalid key, no input, valid and invalid entries, yes/no, callback offers, hanging up) "
    "and answer the host's requests both ways (look-ups succeed and fail, transfers are "
    "answered and busy, callbacks stored and not), for the fixtures' callers at office hours, "
    "at night, on a holiday and in an emergency. A path that reaches a call state another path "
    "already explored joins it. Prints the tree of paths, the count per outcome and what no "
    "path reaches. Exit 0 when the flow was explored, 1 when it does not "
    "compile, 2 on bad usage. On a terminal a progress line counts the paths explored (not "
    "with --quiet)."
)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..tools.explore import DEFAULT_MAX_DEPTH, DEFAULT_MAX_LOOPS

    p.add_argument("flow", metavar="FLOW", help="the .ivr flow to explore")
    p.add_argument(
        "--max-depth",
        type=_positive,
        default=DEFAULT_MAX_DEPTH,
        metavar="N",
        help=f"caller inputs per path (default {DEFAULT_MAX_DEPTH})",
    )
    p.add_argument(
        "--max-loops",
        type=_positive,
        default=DEFAULT_MAX_LOOPS,
        metavar="N",
        help="times a path may pass the same state with the same counters (retry counts, "
        f"whole-number variables) (default {DEFAULT_MAX_LOOPS})",
    )
    p.add_argument(
        "--max-paths",
        type=_positive,
        default=None,
        metavar="N",
        help="stop after N complete paths (calls that ended)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress line on a terminal")
    p.add_argument(
        "--summary", action="store_true", help="print the counts only, not the tree of paths"
    )
    p.add_argument(
        "--fixtures",
        metavar="FILE",
        help="fixtures (look-up results, queues, callers); default: the flow's own",
    )
    p.add_argument(
        "--emit-scenarios",
        metavar="DIR",
        help="write one scenario YAML per complete path into DIR (for `ivrflow test`)",
    )


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from ..compiler import compile_file
    from ..errors import render
    from ..host.fixtures import FixtureError, load
    from ..tools.explore import as_json, explore, render_text, write_scenarios

    out = out or sys.stdout
    err = sys.stderr
    result = compile_file(args.flow)
    if result.flow is None or result.errors:
        for d in result.diagnostics:
            err.write(render(d, result.sources.get(d.path)) + "\n")
        if result.flow is None and not result.errors:
            err.write(f"{args.flow}: is a module, not a flow: nothing to explore\n")
            return EXIT_USAGE
        return EXIT_FAILED
    fixtures = None
    if args.fixtures:
        try:
            fixtures = load(args.fixtures)
        except FixtureError as exc:
            err.write(f"error: {exc}\n")
            return EXIT_USAGE
    from .terminal import Progress

    try:
        with Progress("explore", unit=" paths", quiet=args.quiet) as bar:
            found = explore(
                result.flow,
                path=args.flow,
                fixtures=fixtures,
                fixtures_path=args.fixtures,
                max_depth=args.max_depth,
                max_loops=args.max_loops,
                max_paths=args.max_paths,
                on_path=lambda _: bar.advance(),
            )
    except FixtureError as exc:
        err.write(f"error: {exc}\n")
        return EXIT_USAGE
    if args.format == "json":
        import json

        json.dump(as_json(found, tree=not args.summary), out, indent=2, ensure_ascii=False)
        out.write("\n")
    else:
        out.write(render_text(found, tree=not args.summary))
    if args.emit_scenarios:
        written = write_scenarios(found, args.emit_scenarios)
        where = args.emit_scenarios.rstrip("/")
        (err if args.format == "json" else out).write(
            f"wrote {count(len(written), 'scenario')} to {where}/\n"
        )
    return EXIT_OK
