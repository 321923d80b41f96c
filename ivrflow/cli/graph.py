"""`ivrflow graph FLOW`: draw a flow as Mermaid, DOT, SVG or PNG."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from . import EXIT_FAILED, EXIT_OK, EXIT_USAGE

NAME = "graph"
HELP = "draw a flow as Mermaid, DOT, SVG or PNG"
DESCRIPTION = (
    "Draw a flow's states and the ways between them. Menu edges show their keys and "
    "phrases; no-input, no-match, exhausted and error edges are dashed or dotted and "
    "coloured; where the call ends (transferred, callback, hang up, error) is shaped by "
    "outcome. --format mermaid (the default) prints a flowchart that GitHub and other "
    "Markdown viewers render; dot prints Graphviz DOT; svg and png run Graphviz's dot. "
    "Without --format, -o FILE's suffix (.mmd .dot .gv .svg .png) chooses. --coverage "
    "colours what a test run exercised (green) and what it never did (red). "
    "Exit 0 when drawn, 1 when the flow has errors or dot fails, 2 on bad usage or when "
    "dot is not installed."
)

_SUFFIXES = {
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".dot": "dot",
    ".gv": "dot",
    ".svg": "svg",
    ".png": "png",
}


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..tools.graph import FORMATS

    p.add_argument("flow", metavar="FLOW", help="the .ivr flow to draw")
    p.add_argument(
        "--format",
        "-f",
        choices=FORMATS,
        default=None,
        help="mermaid (default), dot, svg or png (svg and png need Graphviz)",
    )
    p.add_argument(
        "--output", "-o", metavar="FILE", help="write to FILE (required for png) instead of stdout"
    )
    p.add_argument(
        "--coverage",
        metavar="FILE",
        help="colour what a test run exercised: the JSON of `ivrflow test --coverage-file`",
    )


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from ..compiler import compile_file
    from ..errors import render
    from ..tools import graph

    out = out or sys.stdout
    err = err or sys.stderr
    output: str | None = args.output
    suffix = Path(output).suffix.lower() if output else ""
    fmt: str = args.format or _SUFFIXES.get(suffix, "mermaid")
    if fmt == "png" and not output:
        err.write("ivrflow graph: png is binary: write it to a file with -o FILE\n")
        return EXIT_USAGE
    if fmt in ("svg", "png") and not _have_dot():
        err.write(graph.DOT_MISSING + "\n")
        return EXIT_USAGE

    result = compile_file(args.flow)
    flow = result.flow
    if flow is None:
        for d in result.errors:
            err.write(render(d, result.sources.get(d.path)) + "\n")
        if result.module is not None:
            err.write(f"{args.flow}: module '{result.module}' is not a flow: nothing to draw\n")
        return EXIT_FAILED

    coverage = None
    if args.coverage:
        from ..tools.coverage import load_json

        try:
            coverage = graph.select_coverage(load_json(args.coverage), args.flow)
        except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            prefix = "" if reason.startswith(f"{args.coverage}:") else f"{args.coverage}: "
            err.write(f"ivrflow graph: {prefix}{reason}\n")
            return EXIT_USAGE
        states, keys = graph.stale(flow, coverage)
        if states or keys:
            err.write(
                f"warning: {args.coverage} has no counts for {len(states)} states and "
                f"{len(keys)} edges of {args.flow} (written for another version of it?); "
                "they are drawn as never exercised\n"
            )

    text = graph.mermaid(flow, coverage) if fmt == "mermaid" else graph.dot(flow, coverage)
    data: bytes | None = None
    if fmt in ("svg", "png"):
        try:
            data = graph.render(text, fmt)
        except graph.GraphvizMissing as exc:
            err.write(f"{exc}\n")
            return EXIT_USAGE
        except graph.GraphvizFailed as exc:
            err.write(f"ivrflow graph: {exc}\n")
            return EXIT_FAILED

    if output:
        try:
            if data is not None:
                Path(output).write_bytes(data)
            else:
                Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            err.write(f"ivrflow graph: cannot write {output}: {exc.strerror or exc}\n")
            return EXIT_USAGE
    else:
        out.write(data.decode("utf-8") if data is not None else text)
        out.flush()
    return EXIT_OK


def _have_dot() -> bool:
    import shutil

    return shutil.which("dot") is not None
